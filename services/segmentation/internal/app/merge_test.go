package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

type mergeFixture struct {
	svc       *app.Service
	store     *sqlstore.Store
	published *committedEvents
	policy    domain.Policy
	now       time.Time
}

func newMergeFixture(t *testing.T, url string) mergeFixture {
	t.Helper()
	f := mergeFixture{
		published: &committedEvents{},
		policy:    domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs()},
		now:       time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC),
	}
	f.store = openStore(t, url, f.published)
	svc, err := app.New(f.store, f.policy, func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f mergeFixture) buy(t *testing.T, customer string, minor int64) {
	t.Helper()
	err := f.svc.Facts.RecordPurchase(context.Background(), newID(t), domain.Purchase{
		InteractionID: newID(t), CustomerID: customer,
		Amount: domain.Money{Currency: "CNY", Minor: minor}, OccurTime: f.now.AddDate(0, -1, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMergeCustomersRanksTheUnion(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newMergeFixture(t, d.URL)
			ctx := context.Background()
			top, merged, survivor := newID(t), newID(t), newID(t)
			// top 8500, merged 1000, survivor 500: the survivor alone has 95%
			// of the revenue above it, C.
			f.buy(t, top, 8500)
			f.buy(t, merged, 1000)
			f.buy(t, survivor, 500)
			f.published.take()
			assertValue(t, f.svc, survivor, domain.ClassC, 500, 0.95)

			m := domain.Merge{MergedID: merged, SurvivorID: survivor, At: f.now}
			mergeEvent := newID(t)
			if err := f.svc.Facts.MergeCustomers(ctx, mergeEvent, m); err != nil {
				t.Fatal(err)
			}
			// Together 1500, with 85% above: B.
			v := assertValue(t, f.svc, survivor, domain.ClassB, 1500, 0.85)
			if v.PurchaseCount != 2 || v.LifetimeSpend.Minor != 1500 {
				t.Errorf("survivor value = %+v, want both purchases", v)
			}
			viaMerged, err := f.svc.Values.GetCustomerValue(ctx, merged)
			if err != nil {
				t.Fatal(err)
			}
			if viaMerged.CustomerID != survivor || viaMerged.TrailingSpend != v.TrailingSpend {
				t.Errorf("value of the merged id = %+v, want the survivor's", viaMerged)
			}
			got := f.published.take()
			want := &segmentationv1.CustomerClassChanged{CustomerId: survivor,
				OldClass: segmentationv1.AbcClass_ABC_CLASS_C, NewClass: segmentationv1.AbcClass_ABC_CLASS_B}
			if len(got) != 1 || got[0].String() != want.String() {
				t.Errorf("published %v, want %v", got, want)
			}

			// Replays, under the same and a new event id, change nothing.
			for _, ev := range []string{mergeEvent, newID(t)} {
				if err := f.svc.Facts.MergeCustomers(ctx, ev, m); err != nil {
					t.Fatal(err)
				}
			}
			assertValue(t, f.svc, survivor, domain.ClassB, 1500, 0.85)
			if got := f.published.take(); len(got) != 0 {
				t.Errorf("replayed merges published %v", got)
			}

			// A purchase still naming the merged customer counts for the survivor.
			f.buy(t, merged, 1000)
			v = assertValue(t, f.svc, survivor, domain.ClassB, 2500, 8500.0/11000)
			if v.PurchaseCount != 3 {
				t.Errorf("survivor count = %d, want 3", v.PurchaseCount)
			}
			spend, err := f.store.Facts(ctx, merged, f.policy.WindowAt(f.now))
			if err != nil {
				t.Fatal(err)
			}
			if spend.PurchaseCount != 0 {
				t.Errorf("merged customer still holds %d purchases", spend.PurchaseCount)
			}
		})
	}
}

func TestMergeChainsAndConflicts(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newMergeFixture(t, d.URL)
			ctx := context.Background()
			a, b, c := newID(t), newID(t), newID(t)
			for _, id := range []string{a, b, c} {
				f.buy(t, id, 1000)
			}
			if err := f.svc.Facts.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: a, SurvivorID: b}); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Facts.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: b, SurvivorID: c}); err != nil {
				t.Fatal(err)
			}
			// A late replay of the first merge names a survivor since merged.
			if err := f.svc.Facts.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: a, SurvivorID: b}); err != nil {
				t.Fatal(err)
			}
			f.buy(t, a, 500)
			v, err := f.svc.Values.GetCustomerValue(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if v.CustomerID != c || v.TrailingSpend.Minor != 3500 || v.PurchaseCount != 4 {
				t.Fatalf("value via the first merged id = %+v, want %s with 3500 in 4 purchases", v, c)
			}
			err = f.svc.Facts.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: c, SurvivorID: a})
			if !errors.Is(err, domain.ErrMergeConflict) {
				t.Fatalf("cyclic merge: err = %v, want ErrMergeConflict", err)
			}
		})
	}
}

// TestPurchasesRacingAMerge records purchases naming the merged customer
// while the merge runs: none may stay with the merged customer.
func TestPurchasesRacingAMerge(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newMergeFixture(t, d.URL)
			ctx := context.Background()
			merged, survivor := newID(t), newID(t)
			f.buy(t, survivor, 100)
			const n = 10
			errs := make(chan error, n+1)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs <- f.svc.Facts.RecordPurchase(ctx, newID(t), domain.Purchase{
						InteractionID: newID(t), CustomerID: merged,
						Amount: domain.Money{Currency: "CNY", Minor: 100}, OccurTime: f.now.AddDate(0, 0, -1),
					})
				})
				if i == n/2 {
					wg.Go(func() {
						errs <- f.svc.Facts.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: merged, SurvivorID: survivor})
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			w := f.policy.WindowAt(f.now)
			left, err := f.store.Facts(ctx, merged, w)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.store.Facts(ctx, survivor, w)
			if err != nil {
				t.Fatal(err)
			}
			if left.PurchaseCount != 0 || got.PurchaseCount != n+1 {
				t.Fatalf("merged keeps %d purchases, survivor has %d; want 0 and %d", left.PurchaseCount, got.PurchaseCount, n+1)
			}
		})
	}
}

func TestRecordErasure(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newMergeFixture(t, d.URL)
			ctx := context.Background()
			id := newID(t)
			f.buy(t, id, 4200)
			at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
			ev := newID(t)
			for i := range 2 {
				if err := f.svc.Facts.RecordErasure(ctx, ev, domain.Erasure{CustomerID: id, EraseTime: at.Add(time.Duration(i) * time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := f.store.Erasure(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !got.EraseTime.Equal(at) {
				t.Errorf("erase time = %v, want %v", got.EraseTime, at)
			}
			// Purchase amounts are aggregates without personal data: kept.
			assertValue(t, f.svc, id, domain.ClassA, 4200, 0)
		})
	}
}
