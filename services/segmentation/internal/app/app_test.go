package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

// committedEvents records the events of committed transactions only.
type committedEvents struct {
	mu  sync.Mutex
	got []*segmentationv1.CustomerClassChanged
}

func (c *committedEvents) Enqueue(_ context.Context, tx *sqldb.Tx, evs ...events.Event) error {
	msgs := make([]*segmentationv1.CustomerClassChanged, len(evs))
	for i, ev := range evs {
		msgs[i] = &segmentationv1.CustomerClassChanged{}
		if err := proto.Unmarshal(ev.Payload, msgs[i]); err != nil {
			return err
		}
	}
	tx.AfterCommit(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.got = append(c.got, msgs...)
	})
	return nil
}

func (c *committedEvents) take() []*segmentationv1.CustomerClassChanged {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

// openStore returns a migrated store on url.
func openStore(t testing.TB, url string, outbox events.Enqueuer) *sqlstore.Store {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	return sqlstore.New(db, outbox, eventsadapter.NewEncoder())
}

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func TestPurchasesMoveClasses(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			published := &committedEvents{}
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			svc, err := app.New(openStore(t, d.URL, published), domain.Policy{
				Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(),
			}, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			x, y, z := newID(t), newID(t), newID(t)
			buy := func(eventID, interactionID, customer, currency string, minor int64, at time.Time) {
				t.Helper()
				err := svc.Facts.RecordPurchase(ctx, eventID, domain.Purchase{
					InteractionID: interactionID, CustomerID: customer,
					Amount: domain.Money{Currency: currency, Minor: minor}, OccurTime: at,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			expectEvents := func(want ...*segmentationv1.CustomerClassChanged) {
				t.Helper()
				got := published.take()
				if len(got) != len(want) {
					t.Fatalf("published %v, want %v", got, want)
				}
				for i := range want {
					if !proto.Equal(got[i], want[i]) {
						t.Errorf("event %d = %v, want %v", i, got[i], want[i])
					}
				}
			}
			changed := func(id string, from, to segmentationv1.AbcClass) *segmentationv1.CustomerClassChanged {
				return &segmentationv1.CustomerClassChanged{CustomerId: id, OldClass: from, NewClass: to}
			}
			const (
				A = segmentationv1.AbcClass_ABC_CLASS_A
				B = segmentationv1.AbcClass_ABC_CLASS_B
				C = segmentationv1.AbcClass_ABC_CLASS_C
			)
			recent := now.AddDate(0, -1, 0)

			// x: first buyer, the only revenue: C -> A.
			ev1, in1 := newID(t), newID(t)
			buy(ev1, in1, x, "CNY", 3000, recent)
			expectEvents(changed(x, C, A))

			// Redelivery of the same event, and the same purchase under a
			// new event id, change nothing and publish nothing.
			buy(ev1, in1, x, "CNY", 3000, recent)
			buy(newID(t), in1, x, "CNY", 3000, recent)
			expectEvents()

			// y outspends x: y C -> A. x drops to B (y, above x, holds
			// 7000 of 10000: exactly 70%), but only the buyer's change is
			// announced.
			buy(newID(t), newID(t), y, "CNY", 7000, recent)
			expectEvents(changed(y, C, A))
			assertValue(t, svc, x, domain.ClassB, 3000, 0.7)
			assertValue(t, svc, y, domain.ClassA, 7000, 0)

			// A purchase in another currency is stored but not ranked.
			buy(newID(t), newID(t), z, "USD", 1_000_000, recent)
			expectEvents()
			vz := assertValue(t, svc, z, domain.ClassC, 0, 1)
			if vz.PurchaseCount != 1 || vz.LifetimeSpend.Minor != 0 {
				t.Errorf("z: count %d lifetime %d, want 1 and 0", vz.PurchaseCount, vz.LifetimeSpend.Minor)
			}

			// A purchase older than the window counts for lifetime only.
			old := now.AddDate(-2, 0, 0)
			buy(newID(t), newID(t), z, "CNY", 50_000, old)
			expectEvents()
			vz = assertValue(t, svc, z, domain.ClassC, 0, 1)
			if vz.LifetimeSpend.Minor != 50_000 || vz.PurchaseCount != 2 || !vz.FirstPurchaseTime.Equal(old) || !vz.LastPurchaseTime.Equal(recent) {
				t.Errorf("z value = %+v", vz)
			}

			// x buys again: y, above x, now holds 7000 of 10500 (66.7%),
			// so x is A again, and that is announced.
			buy(newID(t), newID(t), x, "CNY", 500, recent)
			expectEvents(changed(x, B, A))
			vx := assertValue(t, svc, x, domain.ClassA, 3500, 7000.0/10500.0)
			if vx.PurchaseCount != 2 || vx.LifetimeSpend != (domain.Money{Currency: "CNY", Minor: 3500}) || !vx.ComputeTime.Equal(now) {
				t.Errorf("x value = %+v", vx)
			}
		})
	}
}

func assertValue(t *testing.T, svc *app.Service, id string, class domain.Class, trailing int64, share float64) domain.CustomerValue {
	t.Helper()
	v, err := svc.Values.GetCustomerValue(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Class != class || v.TrailingSpend != (domain.Money{Currency: "CNY", Minor: trailing}) || v.RevenueShareAbove != share {
		t.Errorf("value of %s: class %v trailing %+v share %v; want %v %d %v", id, v.Class, v.TrailingSpend, v.RevenueShareAbove, class, trailing, share)
	}
	return v
}

func TestGetCustomerValueErrors(t *testing.T) {
	t.Parallel()
	svc, err := app.New(openStore(t, testinfra.SQLiteURL(t), &committedEvents{}), domain.Policy{
		Currency: "CNY", Window: time.Hour, Cutoffs: domain.DefaultCutoffs(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var verr *validation.Error
	if _, err := svc.Values.GetCustomerValue(ctx, "not-a-uuid"); !errors.As(err, &verr) || verr.Violations[0].Field != "customer_id" {
		t.Errorf("bad id: %v, want a customer_id violation", err)
	}
	if _, err := svc.Values.GetCustomerValue(ctx, newID(t)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown customer: %v, want ErrNotFound", err)
	}

	// A customer known from a customer event only is worth nothing: C.
	id := newID(t)
	if err := svc.Facts.RegisterCustomer(ctx, newID(t), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	v, err := svc.Values.GetCustomerValue(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Class != domain.ClassC || v.PurchaseCount != 0 || !v.FirstPurchaseTime.IsZero() || v.TrailingSpend.Currency != "CNY" {
		t.Errorf("registered-only value = %+v", v)
	}
	if err := svc.Facts.RecordPurchase(ctx, newID(t), domain.Purchase{InteractionID: newID(t), CustomerID: id}); !errors.As(err, &verr) {
		t.Errorf("invalid purchase: %v, want a *validation.Error", err)
	}
}

func TestNewRejectsBadPolicy(t *testing.T) {
	t.Parallel()
	for _, p := range []domain.Policy{
		{Currency: "CNY", Window: time.Hour, Cutoffs: domain.Cutoffs{A: 0.9, B: 0.7}},
		{Currency: "CNY", Window: 0, Cutoffs: domain.DefaultCutoffs()},
		{Currency: "", Window: time.Hour, Cutoffs: domain.DefaultCutoffs()},
	} {
		if _, err := app.New(nil, p, nil); err == nil {
			t.Errorf("New(%+v) = nil error", p)
		}
	}
}

// TestPurchaseAheadOfClockCounts covers a selling system whose clock runs
// ahead: its purchase must still decide the class change it causes.
func TestPurchaseAheadOfClockCounts(t *testing.T) {
	t.Parallel()
	published := &committedEvents{}
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	svc, err := app.New(openStore(t, testinfra.SQLiteURL(t), published), domain.Policy{
		Currency: "CNY", Window: time.Hour, Cutoffs: domain.DefaultCutoffs(),
	}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	err = svc.Facts.RecordPurchase(context.Background(), newID(t), domain.Purchase{
		InteractionID: newID(t), CustomerID: id,
		Amount: domain.Money{Currency: "CNY", Minor: 100}, OccurTime: now.Add(2 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := published.take()
	if len(got) != 1 || got[0].GetNewClass() != segmentationv1.AbcClass_ABC_CLASS_A {
		t.Fatalf("published %v, want one change to A", got)
	}
}
