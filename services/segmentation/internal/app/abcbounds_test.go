package app_test

import (
	"context"
	"testing"
	"time"

	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Between recomputes an event classifies its customer against the class
// boundaries of the last recompute, as RFM scores against its quintiles,
// instead of ranking every customer; before a recompute has ranked any
// revenue, it ranks live.
func TestEventsClassifyAgainstTheLastRecompute(t *testing.T) {
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
			recent := now.AddDate(0, -1, 0)
			buy := func(customer string, minor int64) {
				t.Helper()
				err := svc.Facts.RecordPurchase(ctx, newID(t), domain.Purchase{
					InteractionID: newID(t), CustomerID: customer,
					Amount: domain.Money{Currency: "CNY", Minor: minor}, OccurTime: recent,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			expectClasses := func(id string, from, to segmentationv1.AbcClass) {
				t.Helper()
				got := published.take()
				if len(got) != 1 || got[0].GetCustomerId() != id || got[0].GetOldClass() != from || got[0].GetNewClass() != to {
					t.Fatalf("published %v, want %s %v -> %v", got, id, from, to)
				}
			}
			recompute := func() {
				t.Helper()
				if _, err := svc.Values.RecomputeValues(ctx); err != nil {
					t.Fatal(err)
				}
				published.take()
			}
			const (
				A = segmentationv1.AbcClass_ABC_CLASS_A
				B = segmentationv1.AbcClass_ABC_CLASS_B
				C = segmentationv1.AbcClass_ABC_CLASS_C
			)
			x, y, z, w := newID(t), newID(t), newID(t), newID(t)

			// A recompute before any revenue leaves events ranking live:
			// the first buyer is A, and x drops to B when y outspends it.
			recompute()
			buy(x, 3000)
			expectClasses(x, C, A)
			buy(y, 7000)
			expectClasses(y, C, A)
			assertValue(t, svc, x, domain.ClassB, 3000, 0.7)

			// The recompute ranks 7000 and 3000: A from 7000 up, B from
			// 3000 up. z's 5000 is B against those boundaries (ranked live
			// it would be A: 7000 of 15000 above it) with 70% above.
			recompute()
			buy(z, 5000)
			expectClasses(z, C, B)
			assertValue(t, svc, z, domain.ClassB, 5000, 0.7)
			assertValue(t, svc, x, domain.ClassB, 3000, 0.7)
			buy(w, 2999)
			expectClasses(w, C, C) // RFM segment only
			assertValue(t, svc, w, domain.ClassC, 2999, 1)
			buy(z, 2000)
			expectClasses(z, B, A)
			assertValue(t, svc, z, domain.ClassA, 7000, 0)

			// The next recompute ranks everyone anew: 7000, 7000, 3000,
			// 2999 of 19999: x, with 14000 above (70.004%), is B, and so is
			// w with 17000 above.
			recompute()
			assertValue(t, svc, x, domain.ClassB, 3000, 14000.0/19999.0)
			assertValue(t, svc, w, domain.ClassB, 2999, 17000.0/19999.0)
			assertValue(t, svc, z, domain.ClassA, 7000, 0)
		})
	}
}

// A fresh install recomputes as soon as there is revenue to rank, once.
func TestRecomputeIfUnranked(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			store := openStore(t, d.URL, &committedEvents{})
			svc, err := app.New(store, domain.Policy{
				Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(),
			}, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			ran := func(want bool) {
				t.Helper()
				got, err := svc.Values.RecomputeIfUnranked(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("recomputed %v, want %v", got, want)
				}
			}
			buy := func(currency string, at time.Time) {
				t.Helper()
				err := svc.Facts.RecordPurchase(ctx, newID(t), domain.Purchase{
					InteractionID: newID(t), CustomerID: newID(t),
					Amount: domain.Money{Currency: currency, Minor: 100}, OccurTime: at,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			ran(false)
			buy("USD", now.AddDate(0, -1, 0)) // not ranked
			buy("CNY", now.AddDate(-2, 0, 0)) // out of the window
			ran(false)
			buy("CNY", now.AddDate(0, -1, 0))
			ran(true)
			b, err := store.RFMBounds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !b.ABC.Set() || b.ABC.A != 100 || b.ABC.Total != 100 {
				t.Errorf("abc bounds %+v", b.ABC)
			}
			ran(false)
		})
	}
}
