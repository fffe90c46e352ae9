package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// TestSilentOneTimeBuyersUnderEachModel refits on all of CDNOW (to
// 1998-06-30) under each model setting and builds the segment
// `p_alive < 0.5`. Under MBG/NBD it catches every customer who bought once
// and not for a year since; under BG/NBD, which holds a one-time buyer
// certainly alive, it catches none of them. The automatic choice is
// recorded with its reason.
func TestSilentOneTimeBuyersUnderEachModel(t *testing.T) {
	rows := loadCDNOW(t)
	asOf := time.Date(1998, 7, 1, 0, 0, 0, 0, time.UTC)
	// The customers who bought on one day only, a year or more ago.
	days := map[string]map[time.Time]bool{}
	for _, r := range rows {
		if days[r.customer] == nil {
			days[r.customer] = map[time.Time]bool{}
		}
		days[r.customer][r.at] = true
	}
	var silent []string
	for id, ds := range days {
		for d := range ds {
			if len(ds) == 1 && !d.After(asOf.AddDate(-1, 0, 0)) {
				silent = append(silent, cdnowCustomerID(id))
			}
		}
	}
	if len(silent) < 1000 {
		t.Fatalf("%d one-time buyers silent for a year, CDNOW has over a thousand", len(silent))
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, d.URL, &committedEvents{})
			loadCDNOWInto(t, store, rows)
			for _, setting := range []string{"mbgnbd", "bgnbd", domain.ModelAuto} {
				t.Run(setting, func(t *testing.T) {
					svc, err := app.New(store, domain.Policy{Currency: "USD", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs()},
						func() time.Time { return asOf })
					if err != nil {
						t.Fatal(err)
					}
					policy := domain.DefaultPredictionPolicy("USD")
					policy.Model = setting
					if svc, err = svc.WithPrediction(policy); err != nil {
						t.Fatal(err)
					}
					fit, err := svc.Values.RefitModel(ctx, asOf.AddDate(0, 0, -1))
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s: %s %+v; %s", setting, fit.Model, fit.BGNBD, fit.Choice)
					if setting == domain.ModelAuto {
						if fit.Choice == "" || !strings.Contains(fit.Choice, "holdout") {
							t.Errorf("automatic choice without a holdout reason: %q", fit.Choice)
						}
						return
					}
					if string(fit.Model) != setting {
						t.Fatalf("fitted %s under the setting %s", fit.Model, setting)
					}
					seg, err := svc.Segments.CreateSegment(ctx, domain.Segment{Name: "slipping_" + setting, Filter: "p_alive < 0.5"}, "")
					if err != nil {
						t.Fatal(err)
					}
					caught := 0
					for _, id := range silent {
						ok, err := svc.Segments.CheckMembership(ctx, seg.ID, id)
						if err != nil {
							t.Fatal(err)
						}
						if ok {
							caught++
						}
					}
					t.Logf("%s: segment of %d members catches %d of %d silent one-time buyers", setting, seg.MemberCount, caught, len(silent))
					want := map[string]int{"mbgnbd": len(silent), "bgnbd": 0}[setting]
					if caught != want {
						t.Errorf("%s: p_alive < 0.5 catches %d of %d silent one-time buyers, want %d", setting, caught, len(silent), want)
					}
				})
			}
		})
	}
}

// TestOutlookAndValidationInput checks the purchase outlook's and the
// validation's arguments and their errors.
func TestOutlookAndValidationInput(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	store := openStore(t, "sqlite://"+t.TempDir()+"/s.db", &committedEvents{})
	svc, err := app.New(store, domain.Policy{Currency: "CNY", Window: 365 * 24 * time.Hour, Cutoffs: domain.DefaultCutoffs()}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Values.Outlook(ctx, "", 52, 10); !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("outlook before a fit: %v", err)
	}
	fit := domain.ModelFit{Model: model.KindMBGNBD, BGNBD: model.BGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		Spend: model.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}, FitTime: now}
	if err := store.InTx(ctx, func(tx domain.Tx) error { return tx.PutFit(ctx, fit) }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id          string
		weeks, maxN int
		field       string
	}{
		{"not-a-uuid", 52, 10, "customer_id"},
		{"", 0, 10, "horizon_weeks"},
		{"", 521, 10, "horizon_weeks"},
		{"", 52, -1, "max_count"},
		{"", 52, 101, "max_count"},
	} {
		if _, err := svc.Values.Outlook(ctx, c.id, c.weeks, c.maxN); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("outlook(%q, %d, %d): %v, want an error naming %s", c.id, c.weeks, c.maxN, err, c.field)
		}
	}
	if _, err := svc.Values.Outlook(ctx, newID(t), 52, 10); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("outlook of an unknown customer: %v", err)
	}
	// A customer just acquired: the population's figures.
	o, err := svc.Values.Outlook(ctx, "", 52, 5)
	if err != nil {
		t.Fatal(err)
	}
	m := fit.Counts()
	if o.Model != model.KindMBGNBD || len(o.Probabilities) != 6 || o.ExpectedPurchases != m.ExpectedPurchases(model.History{}, 52) ||
		o.PAlive != m.PAlive(model.History{}) || !(o.DERT > 0) || o.ExpectedAOV != fit.Spend.PopulationMean()*100 || o.CLV != o.DERT*o.ExpectedAOV {
		t.Errorf("new customer outlook %+v", o)
	}
	for _, c := range []struct {
		end   time.Time
		weeks int
		field string
	}{
		{time.Time{}, 0, "holdout_weeks"},
		{time.Time{}, 521, "holdout_weeks"},
		{now.AddDate(0, 0, -7*10), 11, "calibration_end_time"},
	} {
		if _, err := svc.Values.ValidateModel(ctx, c.end, c.weeks); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("validate(%v, %d): %v, want an error naming %s", c.end, c.weeks, err, c.field)
		}
	}
	if _, err := svc.Values.ValidateModel(ctx, time.Time{}, 39); !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("validate without customers: %v", err)
	}
}

// loadCDNOWInto stores the CDNOW purchases.
func loadCDNOWInto(t *testing.T, store domain.Store, rows []cdnowPurchase) {
	t.Helper()
	ctx := context.Background()
	err := store.InTx(ctx, func(tx domain.Tx) error {
		for _, r := range rows {
			p := r.purchase()
			if err := tx.RegisterCustomer(ctx, p.CustomerID, p.OccurTime); err != nil {
				return err
			}
			if _, err := tx.RecordPurchase(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("load CDNOW: %v", err)
	}
}
