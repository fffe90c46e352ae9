package loyalty_test

import (
	"context"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// TestReplicasSeeACreditLongBeforeTheTTL runs two replicas on one
// PostgreSQL database and one JetStream, each caching accounts in process
// for a minute: after a purchase, whichever replica credits it drops its
// own cached account once it commits, and the other on the PointsEarned
// event, so both show the new balance within seconds, not the TTL.
func TestReplicasSeeACreditLongBeforeTheTTL(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		if d.Name != "postgres" {
			continue // replicas share a server database
		}
		t.Run(d.Name, func(t *testing.T) {
			natsURL := testinfra.EmbeddedNATS(t)
			cfg := defaultConfig(t)
			cfg.AccountCacheTTL = time.Minute
			a := startOn(t, cfg, d.URL, natsURL)
			b := startOn(t, cfg, d.URL, natsURL)
			customerID := newID(t)
			first := newID(t)
			a.publishPurchase(t, first, first, customerID, newID(t), cny(12850))
			a.balanceReaches(t, customerID, 128)
			b.balanceReaches(t, customerID, 128) // both now hold 128 for a minute

			second := newID(t)
			credited := time.Now()
			a.publishPurchase(t, second, second, customerID, newID(t), cny(10000))
			for name, h := range map[string]harness{"a": a, "b": b} {
				h.balanceReaches(t, customerID, 228) // within 10 s
				t.Logf("replica %s shows the credit %s after the purchase was published", name, time.Since(credited).Round(time.Millisecond))
			}
			resp, err := b.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: customerID})
			if err != nil || resp.GetAccount().GetLifetimePoints() != 228 {
				t.Fatalf("replica b: %v, %v", resp.GetAccount(), err)
			}
		})
	}
}
