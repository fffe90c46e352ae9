package app_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

// TestDaysAreTheCompanysDays: in Asia/Shanghai (UTC+8) a purchase at 23:30
// local time is on that day, one at 00:30 on that day too, and one at
// 00:30 the next day on the next; UTC days would put the first two on
// different days and the last two on one. Months likewise: 07:00 on 1
// April in Shanghai is still 31 March in UTC. Data recorded while the
// store bucketed in UTC is re-bucketed when the zone is set.
func TestDaysAreTheCompanysDays(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			now := time.Date(2026, 5, 20, 12, 0, 0, 0, shanghai)
			policy := domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(), Zone: shanghai}
			var store *sqlstore.Store
			open := func(zone *time.Location) *app.Service {
				t.Helper()
				store = sqlstore.New(db, &committedEvents{}, eventsadapter.NewEncoder())
				if zone != nil {
					if err := store.UseTimeZone(ctx, zone); err != nil {
						t.Fatal(err)
					}
				}
				svc, err := app.New(store, policy, func() time.Time { return now })
				if err != nil {
					t.Fatal(err)
				}
				return svc
			}
			local := func(day, hour, minute int) time.Time { return time.Date(2026, 3, day, hour, minute, 0, 0, shanghai) }
			sameDay, nextDay := newID(t), newID(t)
			buys := []struct {
				customer string
				at       time.Time
			}{
				{sameDay, local(10, 0, 30)}, {sameDay, local(10, 23, 30)},
				{nextDay, local(10, 23, 30)}, {nextDay, local(11, 0, 30)},
				{nextDay, time.Date(2026, 4, 1, 7, 0, 0, 0, shanghai)},
			}
			record := func(svc *app.Service) {
				for _, b := range buys {
					p := domain.Purchase{InteractionID: newID(t), CustomerID: b.customer, Amount: domain.Money{Currency: "CNY", Minor: 1000}, OccurTime: b.at,
						Lines: []domain.Line{{Category: "tea", Quantity: 1, Amount: 1000}}}
					if err := svc.Facts.RecordPurchase(ctx, newID(t), p); err != nil {
						t.Fatal(err)
					}
				}
			}
			check := func(svc *app.Service, wantSame, wantNext int64, wantMonths string) {
				t.Helper()
				for id, want := range map[string]int64{sameDay: wantSame, nextDay: wantNext} {
					v, err := svc.Values.GetCustomerValue(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if v.PurchaseDays != want {
						t.Errorf("purchase days %d, want %d", v.PurchaseDays, want)
					}
				}
				series, err := svc.Demand.ListDemandSeries(ctx, "tea")
				if err != nil {
					t.Fatal(err)
				}
				got := ""
				for _, s := range series {
					for i, q := range s.Quantity {
						if m := s.FirstMonth + i; q != 0 {
							got += fmt.Sprintf("%04d-%02d %g ", m/12, m%12+1, q)
						}
					}
				}
				if got != wantMonths {
					t.Errorf("months with sales %q, want %q", got, wantMonths)
				}
			}

			// Recorded as before the setting, in UTC days: wrong.
			utc := open(nil)
			record(utc)
			check(utc, 2, 2, "2026-03 5 ")
			// The zone set, the stored days and months move to Shanghai's.
			svc := open(shanghai)
			check(svc, 1, 3, "2026-03 4 2026-04 1 ")
			// And new purchases are bucketed in it; setting the same zone
			// again changes nothing.
			sameDay, nextDay = newID(t), newID(t)
			buys[0].customer, buys[1].customer = sameDay, sameDay
			buys[2].customer, buys[3].customer, buys[4].customer = nextDay, nextDay, nextDay
			svc = open(shanghai)
			record(svc)
			check(svc, 1, 3, "2026-03 8 2026-04 2 ")

			// The recompute's aggregate buckets as the one-customer read.
			all, err := store.AllFacts(ctx, policy.WindowAt(now), now)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range all {
				if want := map[string]int64{sameDay: 1, nextDay: 3}[f.CustomerID]; want != 0 && f.PurchaseDays != want {
					t.Errorf("recompute facts: %d purchase days, want %d", f.PurchaseDays, want)
				}
			}
			// Up to and including 10 March in Shanghai: 23:30 is in, 00:30
			// on the 11th is not.
			until, err := store.AllFacts(ctx, policy.WindowAt(now), local(10, 12, 0))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range until {
				if f.CustomerID == nextDay && (f.PurchaseCount != 1 || f.PurchaseDays != 1) {
					t.Errorf("facts up to 10 March: %+v", f)
				}
			}
		})
	}
}

// TestSpendIsNotMixedAcrossCurrencies: a customer who pays in USD on the
// first day and in CNY on the next two has three transactions but two
// days of CNY spend: the average CNY spend divides by those two, and the
// repeat spend excludes the first CNY day, not the USD one.
func TestSpendIsNotMixedAcrossCurrencies(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
			store := openStore(t, d.URL, &committedEvents{})
			policy := domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs()}
			svc, err := app.New(store, policy, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			id := newID(t)
			for i, m := range []domain.Money{{Currency: "USD", Minor: 5000}, {Currency: "CNY", Minor: 10000}, {Currency: "CNY", Minor: 30000}} {
				p := domain.Purchase{InteractionID: newID(t), CustomerID: id, Amount: m, OccurTime: now.AddDate(0, 0, -30+7*i)}
				if err := svc.Facts.RecordPurchase(ctx, newID(t), p); err != nil {
					t.Fatal(err)
				}
			}
			one, err := store.Facts(ctx, id, policy.WindowAt(now))
			if err != nil {
				t.Fatal(err)
			}
			all, err := store.AllFacts(ctx, policy.WindowAt(now), now)
			if err != nil || len(all) != 1 {
				t.Fatal(all, err)
			}
			for name, f := range map[string]domain.Facts{"one customer": one, "recompute": all[0]} {
				if f.PurchaseDays != 3 || f.SpendDays != 2 || f.Lifetime != 40000 || f.RepeatSpend != 30000 {
					t.Errorf("%s: facts %+v", name, f)
				}
				h := f.History(now, 100)
				if h.X != 2 || h.Spends != 1 || math.Abs(h.MeanValue-300) > 1e-9 {
					t.Errorf("%s: history %+v, want 2 transactions, 1 repeat CNY spend of 300", name, h)
				}
			}
			// The value reports CNY spend, and each currency's apart.
			v, err := svc.Values.GetCustomerValue(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := []domain.Money{{Currency: "CNY", Minor: 40000}, {Currency: "USD", Minor: 5000}}
			if v.LifetimeSpend != want[0] || v.PurchaseDays != 3 || !slices.Equal(v.SpendByCurrency, want) {
				t.Errorf("value: lifetime %v, %d days, by currency %v; want %v", v.LifetimeSpend, v.PurchaseDays, v.SpendByCurrency, want)
			}
			// Without a spend model the expected order value is the CNY
			// mean over the CNY days, not over every day.
			fit := domain.ModelFit{BGNBD: model.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}}
			pr, ok := domain.DefaultPredictionPolicy("CNY").Predict(fit, one, now)
			if !ok || pr.ExpectedAOV != 20000 {
				t.Errorf("expected order value %v (%v), want 20000", pr.ExpectedAOV, ok)
			}
		})
	}
}
