package segmentation_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// TestDemandSeriesAndForecast records three years of monthly tea sales
// with a trend and a yearly season, and a few cups, and checks the monthly
// series and the forecast: seasonal smoothing, a small error on the
// held-out months, next months close to the pattern.
func TestDemandSeriesAndForecast(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		now := time.Now().UTC()
		thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		season := []int64{-30, -20, -5, 0, 10, 20, 35, 30, 10, 0, -20, -30}
		units := func(monthsAgo int) int64 {
			m := thisMonth.AddDate(0, -monthsAgo, 0)
			return 200 + 3*int64(36-monthsAgo) + season[m.Month()-1]
		}
		buyer := newID(t)
		for ago := 36; ago >= 1; ago-- {
			at := thisMonth.AddDate(0, -ago, 14)
			q := units(ago) + int64(ago*7%9) - 4 // a little deterministic noise
			ev := purchaseEvent(newID(t), buyer, q*500, at)
			ev.Lines = []*interactionv1.PurchaseLine{{Sku: "TEA", Category: "tea", Quantity: q, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 500}}}
			h.publish(t, interactionv1.SubjectPurchaseRecorded, ev)
		}
		// Honey sells a steady 50 a month, for 14 months: no season.
		for ago := 14; ago >= 1; ago-- {
			ev := purchaseEvent(newID(t), buyer, 50*800, thisMonth.AddDate(0, -ago, 9))
			ev.Lines = []*interactionv1.PurchaseLine{{Category: "honey", Quantity: 50 + int64(ago%3), UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 800}}}
			h.publish(t, interactionv1.SubjectPurchaseRecorded, ev)
		}
		cup := purchaseEvent(newID(t), buyer, 2000, thisMonth.AddDate(0, -2, 3))
		cup.Lines = []*interactionv1.PurchaseLine{{Category: "茶具", Quantity: 2, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 1000}}}
		h.publish(t, interactionv1.SubjectPurchaseRecorded, cup)
		h.drainPurchases(t)

		all, err := h.client.ListDemandSeries(ctx, &segmentationv1.ListDemandSeriesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.GetSeries()) != 3 || all.GetSeries()[1].GetCategory() != "tea" || all.GetSeries()[2].GetCategory() != "茶具" {
			t.Fatalf("series = %v", all.GetSeries())
		}
		cups := all.GetSeries()[2].GetPoints()
		// Two months ago, last month (zero) and this month (zero so far).
		if len(cups) != 3 || cups[0].GetQuantity() != 2 || cups[0].GetRevenue().GetAmountMinor() != 2000 || cups[1].GetQuantity() != 0 {
			t.Errorf("cups = %v", cups)
		}
		tea := all.GetSeries()[1].GetPoints()
		if len(tea) != 37 || tea[0].GetMonth() != thisMonth.AddDate(0, -36, 0).Format("2006-01") || tea[0].GetQuantity() != float64(units(36)+36*7%9-4) {
			t.Errorf("tea series starts %v, %d months", tea[0], len(tea))
		}

		f, err := h.client.ForecastDemand(ctx, &segmentationv1.ForecastDemandRequest{Category: "tea", HorizonMonths: 3})
		if err != nil {
			t.Fatal(err)
		}
		if f.GetMethod() != "holt_winters_additive" || f.GetFallback() != "" || len(f.GetHistory().GetPoints()) != 36 || len(f.GetForecast().GetPoints()) != 3 {
			t.Fatalf("forecast: method %s (fallback %q), %d months of history, %d forecast", f.GetMethod(), f.GetFallback(), len(f.GetHistory().GetPoints()), len(f.GetForecast().GetPoints()))
		}
		// The trend puts each month 36 units above the same month a year
		// before: the seasonal model beats both plain forecasts, and says so.
		for _, acc := range []*segmentationv1.ForecastAccuracy{f.GetQuantityAccuracy(), f.GetRevenueAccuracy()} {
			b := acc.GetBaselines()
			if len(b) != 2 || b[0].GetMethod() != "seasonal_naive" || b[1].GetMethod() != "naive" ||
				!acc.GetBeatsBaselines() || acc.GetMae() >= b[0].GetMae() || acc.GetMae() >= b[1].GetMae() {
				t.Errorf("accuracy against the baselines: %v", acc)
			}
		}
		t.Logf("held-out quantity MAE: holt-winters %.1f, seasonal naive %.1f, naive %.1f", f.GetQuantityAccuracy().GetMae(),
			f.GetQuantityAccuracy().GetBaselines()[0].GetMae(), f.GetQuantityAccuracy().GetBaselines()[1].GetMae())
		// Eleven months before the three held out: no year for the
		// seasonal-naive forecast, the naive one only.
		honey, err := h.client.ForecastDemand(ctx, &segmentationv1.ForecastDemandRequest{Category: "honey"})
		if err != nil {
			t.Fatal(err)
		}
		if honey.GetMethod() != "holt_linear" || !strings.HasPrefix(honey.GetFallback(), "14 months of history, 30 needed for the seasonal model") ||
			honey.GetQuantityAccuracy().GetHeldOutMonths() != 3 || len(honey.GetQuantityAccuracy().GetBaselines()) != 1 {
			t.Errorf("honey: method %s, fallback %q, accuracy %v", honey.GetMethod(), honey.GetFallback(), honey.GetQuantityAccuracy())
		}
		acc := f.GetQuantityAccuracy()
		t.Logf("held out %d months: quantity MAPE %.2f%%, MAE %.2f; revenue MAPE %.2f%%", acc.GetHeldOutMonths(), 100*acc.GetMape(), acc.GetMae(), 100*f.GetRevenueAccuracy().GetMape())
		if acc.GetHeldOutMonths() != 6 || acc.GetMape() > 0.03 || f.GetRevenueAccuracy().GetMape() > 0.03 {
			t.Errorf("accuracy %v / %v", acc, f.GetRevenueAccuracy())
		}
		for k, p := range f.GetForecast().GetPoints() {
			want := float64(units(-k)) // this month is k = 0
			if p.GetMonth() != thisMonth.AddDate(0, k, 0).Format("2006-01") || math.Abs(p.GetQuantity()-want) > 0.05*want {
				t.Errorf("forecast %v, want %.0f units in %s", p, want, thisMonth.AddDate(0, k, 0).Format("2006-01"))
			}
		}

		for _, tt := range []struct {
			req  *segmentationv1.ForecastDemandRequest
			code codes.Code
		}{
			{&segmentationv1.ForecastDemandRequest{Category: "coffee"}, codes.NotFound},
			{&segmentationv1.ForecastDemandRequest{Category: "茶具"}, codes.FailedPrecondition},
			{&segmentationv1.ForecastDemandRequest{}, codes.InvalidArgument},
			{&segmentationv1.ForecastDemandRequest{Category: "tea", HorizonMonths: 37}, codes.InvalidArgument},
		} {
			if _, err := h.client.ForecastDemand(ctx, tt.req); status.Code(err) != tt.code {
				t.Errorf("ForecastDemand(%v) = %v, want %v", tt.req, err, tt.code)
			}
		}
	})
}

// TestReadModelRebuildsByReplay replays the customer and interaction
// streams into a service on an empty database, as an operator rebuilding
// the read model would (delete the durable consumers, start on a fresh
// database), and gets the same values.
func TestReadModelRebuildsByReplay(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var ids []string
	want := map[string]*segmentationv1.CustomerValue{}
	// The first service runs in a subtest, so it has stopped (and no
	// longer consumes) when the second starts.
	t.Run("first", func(t *testing.T) {
		first := startOn(t, testinfra.SQLiteURL(t), natsURL)
		for i := range 5 {
			id := newID(t)
			ids = append(ids, id)
			first.customer(t, customerv1.SubjectCustomerCreated, &customerv1.Customer{Id: id, Tags: []string{fmt.Sprint("t", i)}})
			for k := range i + 1 {
				first.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), id, int64(1000*(i+1)), now.Add(-time.Duration(k+1)*24*time.Hour)))
			}
		}
		first.publish(t, interactionv1.SubjectReturnRecorded, &interactionv1.ReturnRecorded{InteractionId: newID(t), CustomerId: ids[4],
			Refund: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 500}, OccurTime: timestamppb.New(now)})
		first.drainPurchases(t)
		first.drainCustomers(t)
		testinfra.Eventually(t, 10*time.Second, "the refund", func() bool {
			resp, err := first.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: ids[4]})
			return err == nil && resp.GetValue().GetRefunds().GetAmountMinor() == 500
		})
		for _, id := range ids {
			want[id] = first.value(t, id)
		}
		// Rebuilding: the durables are deleted, so the next service reads
		// both streams from the start.
		for stream, durable := range map[string]string{customerv1.Stream: "segmentation-customers", interactionv1.Stream: "segmentation-purchases"} {
			if err := first.js.DeleteConsumer(ctx, stream, durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				t.Fatal(err)
			}
		}
	})
	if t.Failed() {
		return
	}
	second := startOn(t, testinfra.SQLiteURL(t), natsURL)
	for _, id := range ids {
		va := want[id]
		testinfra.Eventually(t, 10*time.Second, "the replayed customer "+id, func() bool {
			b, err := second.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: id})
			if err != nil {
				return false
			}
			vb := b.GetValue()
			return va.GetPurchaseCount() == vb.GetPurchaseCount() && va.GetLifetimeSpend().GetAmountMinor() == vb.GetLifetimeSpend().GetAmountMinor() &&
				va.GetAbcClass() == vb.GetAbcClass() && va.GetPurchaseDays() == vb.GetPurchaseDays() && va.GetRefunds().GetAmountMinor() == vb.GetRefunds().GetAmountMinor()
		})
	}
}
