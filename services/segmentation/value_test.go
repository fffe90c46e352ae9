package segmentation_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// eachDatabase runs fn against a service on a fresh SQLite and a fresh
// PostgreSQL database, each with its own embedded JetStream.
func eachDatabase(t *testing.T, fn func(t *testing.T, h harness)) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			fn(t, startOn(t, d.URL, testinfra.EmbeddedNATS(t)))
		})
	}
}

// drainPurchases publishes a sentinel purchase behind everything published
// so far and waits for it: the purchases consumer handles events in
// stream order.
func (h harness) drainPurchases(t *testing.T) {
	t.Helper()
	sentinel := newID(t)
	// Long ago and tiny, so it neither ranks in the trailing window nor
	// lifts anyone's RFM scores.
	h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), sentinel, 1, time.Now().Add(-800*24*time.Hour)))
	testinfra.Eventually(t, 60*time.Second, "the sentinel purchase", func() bool {
		_, err := h.client.GetCustomerValue(context.Background(), &segmentationv1.GetCustomerValueRequest{CustomerId: sentinel})
		return err == nil
	})
}

func (h harness) value(t *testing.T, id string) *segmentationv1.CustomerValue {
	t.Helper()
	resp, err := h.client.GetCustomerValue(context.Background(), &segmentationv1.GetCustomerValueRequest{CustomerId: id})
	if err != nil {
		t.Fatalf("GetCustomerValue(%s): %v", id, err)
	}
	return resp.GetValue()
}

// recompute runs RecomputeValues to its end and returns its result.
func (h harness) recompute(t *testing.T) *segmentationv1.RecomputeValuesResult {
	t.Helper()
	resp, err := h.client.RecomputeValues(context.Background(), &segmentationv1.RecomputeValuesRequest{})
	if err != nil {
		t.Fatalf("RecomputeValues: %v", err)
	}
	res := &segmentationv1.RecomputeValuesResult{}
	if err := h.await(t, resp.GetOperation(), res); err != nil {
		t.Fatalf("RecomputeValues operation: %v", err)
	}
	return res
}

// refit runs RefitModel to its end: the call's own error (bad input), or
// the operation's, or the new fit.
func (h harness) refit(t *testing.T, req *segmentationv1.RefitModelRequest) (*segmentationv1.ModelFit, error) {
	t.Helper()
	resp, err := h.client.RefitModel(context.Background(), req)
	if err != nil {
		return nil, err
	}
	fit := &segmentationv1.ModelFit{}
	if err := h.await(t, resp.GetOperation(), fit); err != nil {
		return nil, err
	}
	return fit, nil
}

// await polls GetOperation until op is done, then returns its error as a
// status or unpacks its response into resp.
func (h harness) await(t *testing.T, op *typev1.Operation, resp proto.Message) error {
	t.Helper()
	if !strings.HasPrefix(op.GetName(), "segmentation/operations/") {
		t.Fatalf("operation name %q", op.GetName())
	}
	testinfra.Eventually(t, 60*time.Second, "operation "+op.GetName()+" done", func() bool {
		if op.GetDone() {
			return true
		}
		got, err := h.client.GetOperation(context.Background(), &segmentationv1.GetOperationRequest{Name: op.GetName()})
		if err != nil {
			t.Fatalf("GetOperation: %v", err)
		}
		op = got.GetOperation()
		return op.GetDone()
	})
	if op.GetError() != nil {
		return status.ErrorProto(op.GetError())
	}
	return op.GetResponse().UnmarshalTo(resp)
}

// boundedPareto is a Pareto distribution with shape alpha on [lo, hi].
type boundedPareto struct{ alpha, lo, hi float64 }

// quantile is the inverse of the distribution function.
func (p boundedPareto) quantile(u float64) float64 {
	return p.lo * math.Pow(1-u*(1-math.Pow(p.lo/p.hi, p.alpha)), -1/p.alpha)
}

// stratumMean is the mean of the distribution between its quantiles u1
// and u2, from its partial expectation (closed form).
func (p boundedPareto) stratumMean(u1, u2 float64) float64 {
	e := 1 - p.alpha
	c := p.alpha * math.Pow(p.lo, p.alpha) / (1 - math.Pow(p.lo/p.hi, p.alpha)) / e
	return c * (math.Pow(p.quantile(u2), e) - math.Pow(p.quantile(u1), e)) / (u2 - u1)
}

// topShare is the share of the total held by the top fraction q of the
// population, from the distribution's Lorenz curve (closed form).
func (p boundedPareto) topShare(q float64) float64 {
	a := p.quantile(1 - q)
	e := 1 - p.alpha
	return (math.Pow(a, e) - math.Pow(p.hi, e)) / (math.Pow(p.lo, e) - math.Pow(p.hi, e))
}

// fractionHolding is the top fraction of the population holding share of
// the total (bisection on topShare).
func (p boundedPareto) fractionHolding(share float64) float64 {
	lo, hi := 0.0, 1.0
	for range 100 {
		mid := (lo + hi) / 2
		if p.topShare(mid) < share {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// TestParetoSummaryOnGeneratedParetoData feeds customers whose trailing
// spend follows a Pareto law with the 80/20 shape (alpha = log 5 / log 4)
// and checks that the ABC summary reproduces the distribution's shares:
// the top 20% hold what its Lorenz curve says, class A is the fraction of
// customers that holds 70% of revenue, A and B the fraction that holds 90%.
// Custom cut-offs give the shares the curve gives for them.
func TestParetoSummaryOnGeneratedParetoData(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		dist := boundedPareto{alpha: math.Log(5) / math.Log(4), lo: 10, hi: 100000}
		const n = 1000
		at := time.Now().Add(-30 * 24 * time.Hour)
		for i := range n {
			// Each customer stands for one n-th of the distribution and
			// spends its mean, so the population's Lorenz curve passes
			// through the distribution's at every customer.
			yuan := dist.stratumMean(float64(i)/n, float64(i+1)/n)
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), newID(t), int64(math.Round(yuan*100)), at))
		}
		h.drainPurchases(t)
		if got := h.recompute(t).GetCustomerCount(); got != n+1 {
			t.Fatalf("recomputed %d customers, want %d and the sentinel", got, n+1)
		}
		for _, cut := range []struct{ a, b float64 }{{0, 0}, {0.5, 0.8}} {
			sum, err := h.client.GetParetoSummary(ctx, &segmentationv1.GetParetoSummaryRequest{ClassACutoff: cut.a, ClassBCutoff: cut.b})
			if err != nil {
				t.Fatal(err)
			}
			a, b := sum.GetClassACutoff(), sum.GetClassBCutoff()
			if cut.a == 0 && (a != 0.7 || b != 0.9) {
				t.Errorf("default cut-offs %v/%v, want the configured 0.7/0.9", a, b)
			}
			cls := sum.GetClasses()
			if len(cls) != 3 || cls[0].GetAbcClass() != segmentationv1.AbcClass_ABC_CLASS_A {
				t.Fatalf("classes = %v", cls)
			}
			// The sentinel's 0.01 yuan makes one more customer; shares
			// are compared over the generated ones.
			custShare := func(k int) float64 { return float64(cls[k].GetCustomerCount()) / n }
			wantA, wantAB := dist.fractionHolding(a), dist.fractionHolding(b)
			t.Logf("cut-offs %.1f/%.1f: A %d customers (%.2f%%, curve %.2f%%) with %.2f%% of revenue; A+B %.2f%% (curve %.2f%%); top 20%% hold %.2f%% (curve %.2f%%)",
				a, b, cls[0].GetCustomerCount(), 100*custShare(0), 100*wantA, 100*cls[0].GetRevenueShare(),
				100*(custShare(0)+custShare(1)), 100*wantAB, 100*sum.GetTop_20PercentRevenueShare(), 100*dist.topShare(0.2))
			if math.Abs(custShare(0)-wantA) > 1.0/n || math.Abs(custShare(0)+custShare(1)-wantAB) > 1.0/n {
				t.Errorf("A is %.4f and A+B %.4f of customers; the curve says %.4f and %.4f", custShare(0), custShare(0)+custShare(1), wantA, wantAB)
			}
			if rs := cls[0].GetRevenueShare(); rs < a || rs > a+0.01 {
				t.Errorf("A holds %.4f of revenue, want just above %.2f", rs, a)
			}
			if rs := cls[0].GetRevenueShare() + cls[1].GetRevenueShare(); rs < b || rs > b+0.01 {
				t.Errorf("A+B hold %.4f of revenue, want just above %.2f", rs, b)
			}
			if top := sum.GetTop_20PercentRevenueShare(); math.Abs(top-dist.topShare(0.2)) > 0.001 {
				t.Errorf("top 20%% hold %.4f, the curve says %.4f", top, dist.topShare(0.2))
			}
			if sum.GetCustomerCount() != n+1 || cls[0].GetCustomerCount()+cls[1].GetCustomerCount()+cls[2].GetCustomerCount() != n+1 {
				t.Errorf("customer counts %v of %d", cls, sum.GetCustomerCount())
			}
		}
		_, err := h.client.GetParetoSummary(ctx, &segmentationv1.GetParetoSummaryRequest{ClassACutoff: 0.9, ClassBCutoff: 0.5})
		if status.Code(err) != codes.InvalidArgument || len(rpcerr.Violations(err)) != 1 || rpcerr.Violations(err)[0].Field != "class_a_cutoff" {
			t.Errorf("A above B: %v, want InvalidArgument on class_a_cutoff", err)
		}
	})
}

// TestRFMPredictionsAndReturns walks a small population through a
// recompute and a model fit: RFM scores and named segments, predictions
// that rank a lapsed frequent buyer below a recent one, the fit's
// parameters, and a return lowering spend.
func TestRFMPredictionsAndReturns(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		now := time.Now().UTC()
		day := 24 * time.Hour
		buy := func(id string, minor int64, at time.Time, lines ...*interactionv1.PurchaseLine) string {
			ev := purchaseEvent(newID(t), id, minor, at)
			ev.Lines = lines
			h.publish(t, interactionv1.SubjectPurchaseRecorded, ev)
			return ev.GetInteractionId()
		}
		// Refit before anyone bought: nothing to fit.
		if _, err := h.refit(t, &segmentationv1.RefitModelRequest{}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("refit without customers: %v, want FailedPrecondition", err)
		}
		if _, err := h.client.GetModelFit(ctx, &segmentationv1.GetModelFitRequest{}); status.Code(err) != codes.NotFound {
			t.Errorf("fit before any: %v, want NotFound", err)
		}
		// 50 customers: buyers every week for a year, buyers who stopped
		// half a year ago, one-off buyers long ago and recently, monthly
		// buyers.
		var champion, lapsed, oneOff string
		for i := range 50 {
			id := newID(t)
			switch i % 5 {
			case 0: // weekly, still buying
				for w := range 50 {
					buy(id, 20000+int64(i)*100, now.Add(-time.Duration(w*7+1)*day))
				}
				champion = id
			case 1: // weekly for half a year, silent since
				for w := range 25 {
					buy(id, 20000+int64(i)*100, now.Add(-time.Duration(w*7+190)*day))
				}
				lapsed = id
			case 2: // once, 300 days ago
				buy(id, 3000, now.Add(-300*day))
				oneOff = id
			case 3: // once, 60 days ago
				buy(id, 5000, now.Add(-60*day))
			default: // monthly
				for m := range 10 {
					buy(id, 8000, now.Add(-time.Duration(m*30+3)*day))
				}
			}
		}
		h.drainPurchases(t)
		h.recompute(t)
		if v := h.value(t, champion); v.GetRfm().GetSegment() != "champions" || v.GetRfm().GetRecency() != 5 {
			t.Errorf("weekly buyer: rfm %v, want champions", v.GetRfm())
		}
		if v := h.value(t, lapsed); v.GetRfm().GetSegment() != "cannot_lose_them" && v.GetRfm().GetSegment() != "at_risk" {
			t.Errorf("lapsed frequent buyer: rfm %v, want at_risk or cannot_lose_them", v.GetRfm())
		}
		if v := h.value(t, oneOff); v.GetRfm().GetSegment() != "lost" {
			t.Errorf("one-off buyer long ago: rfm %v, want lost", v.GetRfm())
		}
		if v := h.value(t, champion); v.GetPrediction() != nil {
			t.Errorf("a prediction before any fit: %v", v.GetPrediction())
		}

		// Bad input is refused by the call itself, not by the operation.
		if _, err := h.client.RefitModel(ctx, &segmentationv1.RefitModelRequest{CalibrationEndTime: timestamppb.New(now.Add(48 * time.Hour))}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("calibration end in the future: %v, want InvalidArgument", err)
		}
		fit, err := h.refit(t, &segmentationv1.RefitModelRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if fit.GetCustomerCount() != 51 || fit.GetRepeatCustomerCount() != 30 || fit.GetTimeUnit() != "week" ||
			!(fit.GetR() > 0 && fit.GetAlpha() > 0 && fit.GetA() > 0 && fit.GetB() > 0) || !(fit.GetLogLikelihood() < 0) {
			t.Errorf("fit = %v", fit)
		}
		got, err := h.client.GetModelFit(ctx, &segmentationv1.GetModelFitRequest{})
		if err != nil || got.GetFit().GetLogLikelihood() != fit.GetLogLikelihood() {
			t.Errorf("GetModelFit = %v, %v; want the refit's", got, err)
		}
		c, l := h.value(t, champion).GetPrediction(), h.value(t, lapsed).GetPrediction()
		if c == nil || l == nil {
			t.Fatalf("predictions after the fit: %v, %v", c, l)
		}
		if !(c.GetPAlive() > 0.9 && l.GetPAlive() < 0.2 && c.GetExpectedPurchases() > 10*l.GetExpectedPurchases()) {
			t.Errorf("recent weekly buyer %v vs lapsed one %v", c, l)
		}
		if aov := c.GetExpectedOrderValue().GetAmountMinor(); aov < 15000 || aov > 25000 || c.GetClv().GetAmountMinor() <= aov {
			t.Errorf("champion: expected order value %d, CLV %d", aov, c.GetClv().GetAmountMinor())
		}
		if c.GetHorizonWeeks() != 52 || c.GetClvHorizonMonths() != 36 {
			t.Errorf("horizons %d weeks, %d months", c.GetHorizonWeeks(), c.GetClvHorizonMonths())
		}

		// A return: the refund comes off spend, the lines off the
		// category, the purchase still counts as a transaction.
		buyer := newID(t)
		line := func(qty, price int64) *interactionv1.PurchaseLine {
			return &interactionv1.PurchaseLine{Sku: "TEA-1", Category: "tea", Quantity: qty, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: price}}
		}
		bought := buy(buyer, 30000, now.Add(-2*day), line(3, 10000))
		h.publish(t, interactionv1.SubjectReturnRecorded, &interactionv1.ReturnRecorded{
			InteractionId: newID(t), CustomerId: buyer, PurchaseInteractionId: bought,
			Refund: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 10000}, Lines: []*interactionv1.PurchaseLine{line(1, 10000)},
			OccurTime: timestamppb.New(now.Add(-day)),
		})
		testinfra.Eventually(t, 10*time.Second, "the refund", func() bool {
			resp, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: buyer})
			return err == nil && resp.GetValue().GetRefunds().GetAmountMinor() == 10000
		})
		v := h.value(t, buyer)
		if v.GetLifetimeSpend().GetAmountMinor() != 20000 || v.GetTrailingSpend().GetAmountMinor() != 20000 || v.GetPurchaseCount() != 1 {
			t.Errorf("after the return: %v", v)
		}
		if cs := v.GetCategorySpends(); len(cs) != 1 || cs[0].GetCategory() != "tea" || cs[0].GetQuantity() != 2 || cs[0].GetSpend().GetAmountMinor() != 20000 {
			t.Errorf("category spend after the return: %v", cs)
		}
	})
}

// TestValueKeepsCurrenciesApart: a customer paying in USD and in CNY has
// two purchase days, CNY spend in the reporting currency, and each
// currency's spend apart, none converted.
func TestValueKeepsCurrenciesApart(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h harness) {
		id := newID(t)
		usd := purchaseEvent(newID(t), id, 5000, time.Now().Add(-48*time.Hour))
		usd.Total.CurrencyCode = "USD"
		h.publish(t, interactionv1.SubjectPurchaseRecorded, usd)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), id, 12850, time.Now().Add(-time.Hour)))
		h.drainPurchases(t)
		v := h.value(t, id)
		by := v.GetLifetimeSpendByCurrency()
		if v.GetPurchaseDays() != 2 || v.GetLifetimeSpend().GetCurrencyCode() != "CNY" || v.GetLifetimeSpend().GetAmountMinor() != 12850 ||
			len(by) != 2 || by[0].GetCurrencyCode() != "CNY" || by[0].GetAmountMinor() != 12850 || by[1].GetCurrencyCode() != "USD" || by[1].GetAmountMinor() != 5000 {
			t.Errorf("value = %v", v)
		}
	})
}
