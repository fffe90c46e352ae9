package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// lastClasses keeps, from committed transactions, the class each
// customer's last ClassChanged announced, and how many were announced.
type lastClasses struct {
	mu    sync.Mutex
	class map[string]string // "A", "B", "C"
	n     int
}

func (c *lastClasses) Enqueue(_ context.Context, tx *sqldb.Tx, evs ...events.Event) error {
	changed := map[string]string{}
	var order []string
	for _, ev := range evs {
		if ev.Subject != segmentationv1.SubjectCustomerClassChanged {
			continue
		}
		var m segmentationv1.CustomerClassChanged
		if err := proto.Unmarshal(ev.Payload, &m); err != nil {
			return err
		}
		changed[m.GetCustomerId()] = strings.TrimPrefix(m.GetNewClass().String(), "ABC_CLASS_")
		order = append(order, m.GetCustomerId())
	}
	tx.AfterCommit(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for id, class := range changed {
			c.class[id] = class
		}
		c.n += len(order)
	})
	return nil
}

// TestBatchesMatchOneByOne applies the same events to two services, one
// event per transaction and in consumer batches, and finds every
// customer's value, announced class and segment memberships the same:
// redeliveries, replays under another event id, returns, a buyer merged
// away, several events of one buyer in a batch, a purchase stamped ahead
// of the clock and purchases in another currency included, with days in
// Shanghai's calendar, before and after a recompute has set the bounds.
func TestBatchesMatchOneByOne(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			// Days in Shanghai's calendar, not UTC's.
			shanghai, err := time.LoadLocation("Asia/Shanghai")
			if err != nil {
				t.Fatal(err)
			}
			policy := domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(), Zone: shanghai}
			type side struct {
				svc     *app.Service
				classes *lastClasses
				segs    []string
			}
			newSide := func(url string) side {
				classes := &lastClasses{class: map[string]string{}}
				store := openStore(t, url, classes)
				if err := store.UseTimeZone(ctx, shanghai); err != nil {
					t.Fatal(err)
				}
				svc, err := app.New(store, policy, func() time.Time { return now })
				if err != nil {
					t.Fatal(err)
				}
				s := side{svc: svc, classes: classes}
				for _, f := range []string{`purchase_count >= 3`, `tags:"vip" AND lifetime_spend > 50`} {
					seg, err := svc.Segments.CreateSegment(ctx, domain.Segment{Name: fmt.Sprintf("s%d", len(s.segs)), Filter: f}, "")
					if err != nil {
						t.Fatal(err)
					}
					s.segs = append(s.segs, seg.ID)
				}
				return s
			}
			other := testinfra.SQLiteURL(t)
			if d.Name == "postgres" {
				other = testinfra.PostgresURL(t)
			}
			single, batched := newSide(d.URL), newSide(other)

			rng := rand.New(rand.NewPCG(7, 22))
			customers := make([]string, 24)
			var profiles []app.ProfileEvent
			for i := range customers {
				customers[i] = newID(t)
				p := domain.Profile{CustomerID: customers[i], Kind: "person"}
				if i%3 == 0 {
					p.Tags = []string{"vip"}
				}
				ev := app.ProfileEvent{EventID: newID(t), Profile: p, At: now.Add(-time.Hour), WithProfile: true}
				profiles = append(profiles, ev)
				if i%5 == 0 { // redelivered
					profiles = append(profiles, ev)
				}
			}
			for _, ev := range profiles {
				if err := single.svc.Facts.UpdateProfiles(ctx, []app.ProfileEvent{ev}); err != nil {
					t.Fatal(err)
				}
			}
			if err := batched.svc.Facts.UpdateProfiles(ctx, profiles); err != nil {
				t.Fatal(err)
			}
			merged, survivor := customers[1], customers[2]
			for _, s := range []side{single, batched} {
				if err := s.svc.Facts.MergeCustomers(ctx, "merge", domain.Merge{MergedID: merged, SurvivorID: survivor, At: now}); err != nil {
					t.Fatal(err)
				}
			}

			history := func(n int) []app.HistoryEvent {
				var evs []app.HistoryEvent
				var bought []domain.Purchase
				for range n {
					customer := customers[rng.IntN(len(customers))]
					switch r := rng.IntN(20); {
					case r == 0 && len(evs) > 0: // redelivery
						evs = append(evs, evs[rng.IntN(len(evs))])
						continue
					case r == 1 && len(bought) > 0: // replay under another event id
						p := bought[rng.IntN(len(bought))]
						evs = append(evs, app.HistoryEvent{EventID: newID(t), Purchase: &p})
						continue
					case r <= 3 && len(bought) > 0:
						p := bought[rng.IntN(len(bought))]
						ret := domain.Return{
							InteractionID: newID(t), CustomerID: p.CustomerID, PurchaseInteractionID: p.InteractionID,
							Refund: domain.Money{Currency: "CNY", Minor: p.Amount.Minor / 2}, OccurTime: now.Add(-time.Minute),
						}
						evs = append(evs, app.HistoryEvent{EventID: newID(t), Return: &ret})
						continue
					}
					at := now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)
					if rng.IntN(50) == 0 {
						at = now.Add(2 * time.Second) // the seller's clock runs ahead
					}
					currency := "CNY"
					if rng.IntN(8) == 0 {
						currency = "USD" // counted as a purchase, not summed
					}
					p := domain.Purchase{
						InteractionID: newID(t), CustomerID: customer,
						Amount:    domain.Money{Currency: currency, Minor: int64(1 + rng.IntN(20000))},
						OccurTime: at,
						Lines:     []domain.Line{{Category: "tea", Quantity: 1, Amount: 100}},
					}
					bought = append(bought, p)
					evs = append(evs, app.HistoryEvent{EventID: newID(t), Purchase: &p})
				}
				return evs
			}
			apply := func(evs []app.HistoryEvent) {
				for _, ev := range evs {
					if err := single.svc.Facts.RecordHistory(ctx, []app.HistoryEvent{ev}); err != nil {
						t.Fatal(err)
					}
				}
				for len(evs) > 0 {
					n := min(len(evs), 1+rng.IntN(64))
					if err := batched.svc.Facts.RecordHistory(ctx, evs[:n]); err != nil {
						t.Fatal(err)
					}
					evs = evs[n:]
				}
			}
			compare := func(stage string, ranked bool) {
				t.Helper()
				for _, id := range customers {
					if id == merged {
						continue
					}
					a, errA := single.svc.Values.GetCustomerValue(ctx, id)
					b, errB := batched.svc.Values.GetCustomerValue(ctx, id)
					if errA != nil || errB != nil {
						t.Fatalf("%s: value of %s: %v, %v", stage, id, errA, errB)
					}
					if a.Class != b.Class || a.TrailingSpend != b.TrailingSpend || a.LifetimeSpend != b.LifetimeSpend ||
						a.Refunds != b.Refunds || a.PurchaseCount != b.PurchaseCount || a.PurchaseDays != b.PurchaseDays {
						t.Errorf("%s: customer %s one by one %+v, in batches %+v", stage, id, a, b)
					}
					// Before a recompute a class ranks against everyone's
					// spend, and only the buyer's change is announced: the
					// last announcement depends on when others bought.
					if ranked && (single.classes.class[id] != a.Class.String() || batched.classes.class[id] != b.Class.String()) {
						t.Errorf("%s: customer %s of class %v: last announced %v one by one, %v in batches",
							stage, id, a.Class, single.classes.class[id], batched.classes.class[id])
					}
					for i := range single.segs {
						inA, errA := single.svc.Segments.CheckMembership(ctx, single.segs[i], id)
						inB, errB := batched.svc.Segments.CheckMembership(ctx, batched.segs[i], id)
						if errA != nil || errB != nil || inA != inB {
							t.Errorf("%s: customer %s in segment %d: %v one by one, %v in batches (%v, %v)", stage, id, i, inA, inB, errA, errB)
						}
					}
				}
			}

			apply(history(300))
			compare("ranked live", false)
			for _, s := range []side{single, batched} {
				if _, err := s.svc.Values.RecomputeValues(ctx); err != nil {
					t.Fatal(err)
				}
				// From here each announcement follows the stored class.
				for _, id := range customers {
					v, err := s.svc.Values.GetCustomerValue(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					s.classes.class[id] = v.Class.String()
				}
			}
			apply(history(300))
			compare("against the recompute's bounds", true)
			t.Logf("class changes announced: %d one by one, %d in batches", single.classes.n, batched.classes.n)
			if single.classes.n == 0 {
				t.Error("no class change announced: the comparison proves nothing")
			}
		})
	}
}
