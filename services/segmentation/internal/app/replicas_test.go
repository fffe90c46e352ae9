package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// snapshotHook is a Store whose AllFacts runs meanwhile after the facts
// are read: what another replica does while a recompute computes.
type snapshotHook struct {
	domain.Store
	meanwhile func()
}

func (s snapshotHook) AllFacts(ctx context.Context, w domain.Window, until time.Time) ([]domain.Facts, error) {
	facts, err := s.Store.AllFacts(ctx, w, until)
	if err == nil && s.meanwhile != nil {
		s.meanwhile()
	}
	return facts, err
}

// TestRecomputeKeepsAnotherReplicasUpdate runs two replicas on one
// database: while replica A recomputes, replica B records purchases (one
// of a known customer, one of a new one) between A's read and A's write.
// A's recompute must leave B's values standing, and announce no class
// change computed from the stale facts.
func TestRecomputeKeepsAnotherReplicasUpdate(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			policy := domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs()}
			publishedA, publishedB := &committedEvents{}, &committedEvents{}
			storeB := openStore(t, d.URL, publishedB)
			b, err := app.New(storeB, policy, clock)
			if err != nil {
				t.Fatal(err)
			}
			x, y, z := newID(t), newID(t), newID(t)
			buy := func(svc *app.Service, customer string, minor int64) {
				t.Helper()
				err := svc.Facts.RecordPurchase(ctx, newID(t), domain.Purchase{
					InteractionID: newID(t), CustomerID: customer,
					Amount: domain.Money{Currency: "CNY", Minor: minor}, OccurTime: now.AddDate(0, -1, 0),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// stored is the value as stored (segments read it), not as
			// GetCustomerValue computes it live.
			stored := func(id string) domain.Value {
				t.Helper()
				v, ok, err := storeB.Value(ctx, id)
				if err != nil || !ok {
					t.Fatalf("stored value of %s: ok=%v err=%v", id, ok, err)
				}
				return v
			}
			buy(b, x, 3000)
			buy(b, y, 1000)
			// A shares B's database through a store of its own.
			hook := &snapshotHook{Store: openStore(t, d.URL, publishedA)}
			a, err := app.New(hook, policy, clock)
			if err != nil {
				t.Fatal(err)
			}
			hook.meanwhile = func() {
				buy(b, y, 5000) // y overtakes x: A on B's write
				buy(b, z, 700)  // a new customer
			}
			publishedB.take()
			if _, err := a.Values.RecomputeValues(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				id       string
				count    int64
				lifetime int64
			}{{x, 1, 3000}, {y, 2, 6000}, {z, 1, 700}} {
				v := stored(c.id)
				if v.PurchaseCount != c.count || v.Lifetime != c.lifetime {
					t.Errorf("after the recompute, %s's stored value has %d purchases, lifetime %d; want %d, %d (a purchase another replica recorded meanwhile was overwritten)",
						c.id, v.PurchaseCount, v.Lifetime, c.count, c.lifetime)
				}
			}
			if vy := stored(y); vy.Class != domain.ClassA {
				t.Errorf("y's stored class is %v after the recompute, want A as B stored it", vy.Class)
			}
			// A announces nothing for y from its stale facts (y was B with
			// 1000 of 4000 there); B announced y's move to A itself.
			for _, ev := range publishedA.take() {
				if ev.CustomerId == y {
					t.Errorf("the recompute announced %v for y from stale facts", ev)
				}
			}
			// The next recompute brings every value in line again.
			hook.meanwhile = nil
			if _, err := a.Values.RecomputeValues(ctx); err != nil {
				t.Fatal(err)
			}
			vx, vz := stored(x), stored(z)
			// y 6000, x 3000 (61.9% above it), z 700 (92.8% above it).
			if vx.PurchaseCount != 1 || vx.Class != domain.ClassA || vz.Class != domain.ClassC {
				t.Errorf("after the second recompute: x %d purchases, class %v; z class %v; want 1, A; C", vx.PurchaseCount, vx.Class, vz.Class)
			}
		})
	}
}
