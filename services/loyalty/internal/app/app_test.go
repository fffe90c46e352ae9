package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

const programID = "01900000-0000-7000-8000-0000000000aa"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// replica is one service instance over its own connection pool to db.
func replica(t *testing.T, url string, clk *clock, p domain.Program) (*app.Service, *sqlstore.Store, *sqldb.DB) {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	store := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), eventsadapter.NewEncoder(), nil)
	svc, err := app.New(store, app.Options{DefaultProgramID: programID, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Programs.EnsureProgram(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return svc, store, db
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// TestExpiryJobsOnTwoReplicas runs the scheduled jobs of two replicas at
// once, again and again, over the same database: every member's points
// expire exactly once, and each gets exactly one expiring notice.
func TestExpiryJobsOnTwoReplicas(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)
			clk := &clock{t: t0}
			p := domain.Program{ID: programID, Name: "p", AutoEnroll: true, CurrencyCode: "CNY",
				BaseRates:  []domain.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: 1}},
				Tiers:      []domain.TierDef{{Code: "normal", Name: "Normal"}},
				ExpiryKind: domain.ExpiryRollingMonths, ExpiryMonths: 1, ExpiryNoticeDays: 5}
			a, store, db := replica(t, d.URL, clk, p)
			b, _, _ := replica(t, d.URL, clk, p)
			const members = 40
			customers := make([]string, members)
			for i := range customers {
				customers[i] = newID()
				for j := range 2 {
					err := a.Points.CreditPurchase(ctx, newID(), domain.Purchase{InteractionID: newID(), CustomerID: customers[i],
						Total: domain.Money{CurrencyCode: "CNY", AmountMinor: int64(1000 * (i + j + 1))}, OccurTime: t0})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			shanghai, _ := time.LoadLocation("Asia/Shanghai")
			due := time.Date(2025, 4, 5, 0, 0, 0, 0, shanghai)
			for _, at := range []time.Time{due.AddDate(0, 0, -2), due.AddDate(0, 0, -1), due.Add(time.Second), due.Add(time.Hour)} {
				clk.Set(at)
				var wg sync.WaitGroup
				errs := make(chan error, 6)
				for range 3 {
					for _, svc := range []*app.Service{a, b} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if _, err := svc.Jobs.RunJobs(ctx, at); err != nil {
								errs <- err
							}
						}()
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}
			totals, err := store.LedgerTotals(ctx, programID)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range customers {
				if totals[c] != 0 {
					t.Errorf("customer %d: ledger sums to %d after expiry, want 0", i, totals[c])
				}
				entries, err := store.Ledger(ctx, programID, c, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var expiries int
				for _, e := range entries {
					if e.Kind == domain.KindExpire {
						expiries++
						if want := -int64(10*(i+1) + 10*(i+2)); e.Points != want {
							t.Errorf("customer %d: expired %d, want %d", i, e.Points, want)
						}
					}
				}
				if expiries != 1 {
					t.Errorf("customer %d: %d expire entries, want 1", i, expiries)
				}
			}
			var notices int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE subject = 'loyalty.points.expiring'`).Scan(&notices); err != nil {
				t.Fatal(err)
			}
			if notices != members {
				t.Errorf("%d expiring notices, want one per member (%d)", notices, members)
			}
		})
	}
}

// reconciliationEvents is how many purchase events the reconciliation test
// sends (before redeliveries and replays).
func reconciliationEvents(t *testing.T) int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// TestReconciliation is the acceptance test: after a run of
// 100,000 purchase events with random redeliveries (the same event again)
// and replays (the same purchase under a new event id), handled by four
// workers at once as the service does, every account's ledger sums to the
// points the rules imply, computed here independently of the domain code:
// per line whole yuan times the category multiplier, the order cap per
// purchase, the day cap per member and Shanghai day, nothing below the
// minimum spend.
func TestReconciliation(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{t: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
			const orderCap, dayCap, minSpend = 300, 500, 1000
			p := domain.Program{ID: programID, Name: "p", AutoEnroll: true, CurrencyCode: "CNY",
				BaseRates:     []domain.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: 1}},
				EarnRules:     []domain.EarnRule{{ID: "books", Category: "books", MultiplierPercent: 200}},
				MinSpendMinor: minSpend, OrderCapPoints: orderCap, DayCapPoints: dayCap,
				Tiers:      []domain.TierDef{{Code: "normal", Name: "Normal"}},
				ExpiryKind: domain.ExpiryNever}
			svc, store, _ := replica(t, d.URL, clk, p)
			handlers := events.NewHandlers(struct {
				*app.Accounts
				*app.Points
				*app.Merges
			}{svc.Accounts, svc.Points, svc.Merges})

			rng := rand.New(rand.NewPCG(6, 100000))
			shanghai, _ := time.LoadLocation("Asia/Shanghai")
			customers := make([]string, 2000)
			for i := range customers {
				customers[i] = newID()
			}
			type key struct{ customer, day string }
			orderPoints := map[key]int64{}
			n := reconciliationEvents(t)
			msgs := make([]platformevents.Message, 0, n+n/5)
			start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
			for range n {
				c := customers[rng.IntN(len(customers))]
				at := start.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Microsecond)
				ev := &interactionv1.PurchaseRecorded{InteractionId: newID(), CustomerId: c, OccurTime: timestamppb.New(at)}
				var total, points int64
				for range 1 + rng.IntN(3) {
					cat := []string{"books", "food", "toys"}[rng.IntN(3)]
					qty, unit := int64(1+rng.IntN(3)), int64(50+rng.IntN(15000))
					ev.Lines = append(ev.Lines, &interactionv1.PurchaseLine{Sku: fmt.Sprintf("S%d", rng.IntN(50)), Category: cat,
						Quantity: qty, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: unit}})
					mult := int64(100)
					if cat == "books" {
						mult = 200
					}
					total += qty * unit
					points += qty * unit * mult / 10000 // fen -> yuan (100), percent (100)
				}
				ev.Total = &typev1.Money{CurrencyCode: "CNY", AmountMinor: total}
				if total < minSpend {
					points = 0
				}
				orderPoints[key{c, at.In(shanghai).Format(time.DateOnly)}] += min(points, orderCap)
				payload, err := proto.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				m := platformevents.Message{ID: newID(), Subject: interactionv1.SubjectPurchaseRecorded, Payload: payload, NumDelivered: 1}
				msgs = append(msgs, m)
				switch r := rng.Float64(); {
				case r < 0.10: // redelivered
					m.NumDelivered = 2
					msgs = append(msgs, m)
				case r < 0.15: // replayed under a new event id
					m.ID = newID()
					msgs = append(msgs, m)
				}
			}
			rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
			want := map[string]int64{}
			var wantTotal int64
			for k, pts := range orderPoints {
				want[k.customer] += min(pts, dayCap)
				wantTotal += min(pts, dayCap)
			}

			began := time.Now()
			work := make(chan platformevents.Message)
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for m := range work {
						// A handler error is retried, as the consumer would.
						for attempt := 0; ; attempt++ {
							err := handlers.PurchaseRecorded(ctx, m)
							if err == nil {
								break
							}
							if platformevents.IsPermanent(err) || attempt == 5 {
								errs <- err
								return
							}
						}
					}
				}()
			}
			for _, m := range msgs {
				work <- m
			}
			close(work)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%d messages (%d purchases) handled in %v", len(msgs), n, time.Since(began).Round(time.Millisecond))

			got, err := store.LedgerTotals(ctx, programID)
			if err != nil {
				t.Fatal(err)
			}
			var gotTotal int64
			for _, v := range got {
				gotTotal += v
			}
			if gotTotal != wantTotal {
				t.Errorf("ledgers sum to %d points, the rules imply %d", gotTotal, wantTotal)
			}
			mismatched := 0
			for c, w := range want {
				if got[c] != w {
					mismatched++
					if mismatched <= 5 {
						t.Errorf("customer %s: ledger %d, rules imply %d", c, got[c], w)
					}
				}
			}
			if mismatched > 0 {
				t.Errorf("%d of %d accounts disagree with the rules", mismatched, len(want))
			}
		})
	}
}
