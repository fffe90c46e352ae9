package app_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/readcache"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/testinfra"

	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// staleness is the cache TTL of the test: the bound on how old a balance
// may be, as the service's ACCOUNT_CACHE_TTL is.
const staleness = time.Second

// TestBalanceNeverOlderThanTheBound credits a purchase through one replica
// and reads the balance through another whose cache holds the balance from
// before, with no event to tell it (no NATS): every read that begins
// later than the bound after the credit shows the points. In process, the
// other replica's reads until then may show the old balance (and do, just
// after: the cache is in use), the writer's own reads never; in Redis,
// shared by both, the writer drops the key once it commits and no read
// shows the old balance.
func TestBalanceNeverOlderThanTheBound(t *testing.T) {
	modes := []string{"in process"}
	redisURL := os.Getenv("GUANXI_TEST_REDIS_URL")
	if redisURL != "" {
		modes = append(modes, "redis")
	} else if os.Getenv("GUANXI_TEST_REQUIRE_INFRA") == "1" {
		t.Fatal("GUANXI_TEST_REDIS_URL is not set")
	} else {
		t.Log("GUANXI_TEST_REDIS_URL is not set: Redis not tested")
	}
	for _, d := range testinfra.Databases(t) {
		for _, mode := range modes {
			t.Run(d.Name+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				prefix := "guanxi:test:" + uuid.NewString() + ":"
				p := domain.Program{ID: programID, Name: "p", AutoEnroll: true, CurrencyCode: "CNY",
					BaseRates: []domain.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: 1}},
					Tiers:     []domain.TierDef{{Code: "normal", Name: "Normal"}}, ExpiryKind: domain.ExpiryNever}
				replica := func() *app.Service {
					db := testinfra.OpenDB(t, d.URL, migrations.FS)
					opts := readcache.Options[sqlstore.MemberSummary]{TTL: staleness,
						Encode: func(v sqlstore.MemberSummary) ([]byte, error) { return json.Marshal(v) },
						Decode: func(b []byte) (v sqlstore.MemberSummary, err error) { return v, json.Unmarshal(b, &v) }}
					if mode == "redis" {
						rdb, err := redisclient.Open(redisURL, nil)
						if err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { rdb.Close() })
						opts.Redis, opts.Prefix = rdb, prefix
					}
					store := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), eventsadapter.NewEncoder(), readcache.New(opts))
					svc, err := app.New(store, app.Options{DefaultProgramID: programID})
					if err != nil {
						t.Fatal(err)
					}
					if err := svc.Programs.EnsureProgram(ctx, p); err != nil {
						t.Fatal(err)
					}
					return svc
				}
				writer, reader := replica(), replica()
				customer := newID()
				buy := func() {
					t.Helper()
					err := writer.Points.CreditPurchase(ctx, newID(), domain.Purchase{InteractionID: newID(), CustomerID: customer,
						Total: domain.Money{CurrencyCode: "CNY", AmountMinor: 10000}, OccurTime: time.Now()})
					if err != nil {
						t.Fatal(err)
					}
				}
				balance := func(svc *app.Service) int64 {
					t.Helper()
					a, err := svc.Accounts.Account(ctx, programID, customer)
					if err != nil {
						t.Fatal(err)
					}
					return a.Summary.Total
				}
				buy()
				primed := time.Now()
				before, _ := balance(reader), balance(writer)
				buy()
				credited := time.Now()
				after := before + 100
				if got := balance(writer); got != after {
					t.Fatalf("the writer's own read after the credit shows %d, want %d", got, after)
				}
				began := time.Now()
				first := balance(reader)
				switch {
				case mode == "redis" && first != after:
					t.Fatalf("read through Redis after the credit shows %d, want %d: the writer did not drop the key", first, after)
				case mode == "in process" && began.Before(primed.Add(staleness)) && first != before:
					t.Fatalf("the other replica read %d within the TTL of its cached %d: not cached", first, before)
				}
				fresh := false
				for deadline := credited.Add(staleness + 300*time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					began := time.Now()
					got := balance(reader)
					if got != before && got != after {
						t.Fatalf("balance %d is neither %d nor %d", got, before, after)
					}
					if !began.Before(credited.Add(staleness)) {
						fresh = true
						if got != after {
							t.Fatalf("a read %s after the credit shows %d, older than the bound of %s (want %d)",
								began.Sub(credited), got, staleness, after)
						}
					}
				}
				if !fresh {
					t.Fatal("no read began after the bound")
				}
			})
		}
	}
}
