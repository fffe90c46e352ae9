package domain

import (
	"math"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// ModelFit is a fit of the BG/NBD and Gamma-Gamma models on the purchase
// histories up to CalibrationEnd, in weeks and major currency units.
type ModelFit struct {
	ID             string
	FitTime        time.Time
	CalibrationEnd time.Time
	BGNBD          model.BGNBD
	LogLikelihood  float64
	Customers      int64
	// Spend is the zero value when too few customers repeat to fit it.
	Spend              model.GammaGamma
	SpendLogLikelihood float64
	RepeatCustomers    int64
	// Duration is the time both fits took, BGNBDDuration the BG/NBD's.
	Duration, BGNBDDuration time.Duration
}

// HasSpend reports whether the spend model was fitted.
func (f ModelFit) HasSpend() bool { return f.Spend.Valid() }

// PredictionPolicy says what is predicted: over which horizons, and how
// CLV is discounted.
type PredictionPolicy struct {
	// HorizonWeeks is the horizon of ExpectedPurchases.
	HorizonWeeks int
	// CLVMonths is the horizon of the customer lifetime value.
	CLVMonths int
	// AnnualDiscount is the yearly discount rate of future revenue (0.1).
	AnnualDiscount float64
	// Margin is the share of revenue that is profit (1 for revenue CLV).
	Margin float64
	// MinorPerMajor converts the reporting currency's minor units to the
	// major units the models are fitted in (100 for CNY).
	MinorPerMajor float64
}

// Validate rejects horizons and rates that make no sense.
func (p PredictionPolicy) Validate() error {
	switch {
	case p.HorizonWeeks <= 0 || p.HorizonWeeks > 520:
		return fieldError("prediction_horizon_weeks", "must be 1 to 520")
	case p.CLVMonths <= 0 || p.CLVMonths > 240:
		return fieldError("clv_months", "must be 1 to 240")
	case !(p.AnnualDiscount >= 0 && p.AnnualDiscount < 10):
		return fieldError("annual_discount", "must be 0 to 10")
	case !(p.Margin > 0 && p.Margin <= 1):
		return fieldError("margin", "must be above 0 and at most 1")
	case !(p.MinorPerMajor >= 1):
		return fieldError("minor_per_major", "must be at least 1")
	}
	return nil
}

// Prediction is what the models expect of one customer. Money is in minor
// units of the reporting currency.
type Prediction struct {
	PAlive            float64
	ExpectedPurchases float64
	ExpectedAOV       float64
	CLV               float64
}

// weeksPerMonth is 365.25 / 12 / 7.
const weeksPerMonth = 365.25 / 12 / 7

// Predict applies the fit to a customer's facts as of now. A customer
// without purchases has no prediction (ok false): the models describe
// customers from their first purchase on.
func (p PredictionPolicy) Predict(fit ModelFit, f Facts, now time.Time) (Prediction, bool) {
	if f.PurchaseDays == 0 || !fit.BGNBD.Valid() {
		return Prediction{}, false
	}
	h := f.History(now, p.MinorPerMajor)
	if h.T < h.TX { // a purchase stamped after now: observe up to it
		h.T = h.TX
	}
	// One series for every horizon: the prediction's and the CLV's
	// quarters (the last shorter when the horizon is not whole quarters).
	ts := make([]float64, 0, 1+(p.CLVMonths+2)/3)
	ts = append(ts, float64(p.HorizonWeeks))
	for m := 0; m < p.CLVMonths; {
		m = min(m+3, p.CLVMonths)
		ts = append(ts, float64(m)*weeksPerMonth)
	}
	exp := make([]float64, len(ts))
	fit.BGNBD.ExpectedPurchasesAt(h, ts, exp, nil)
	pr := Prediction{
		PAlive:            fit.BGNBD.PAlive(h),
		ExpectedPurchases: exp[0],
	}
	switch {
	case fit.HasSpend() && fit.Spend.Q > 1:
		pr.ExpectedAOV = fit.Spend.ExpectedValue(h.Spends, h.MeanValue) * p.MinorPerMajor
	case f.SpendDays > 0:
		// Without a spend model, the customer's own mean over the days
		// paid in the reporting currency.
		pr.ExpectedAOV = float64(f.Lifetime) / float64(f.SpendDays)
	}
	// Purchases expected per quarter are discounted to the end of their
	// quarter.
	prev := 0.0
	for i := range ts[1:] {
		months := math.Min(float64(3*(i+1)), float64(p.CLVMonths))
		pr.CLV += (exp[i+1] - prev) * pr.ExpectedAOV * p.Margin / math.Pow(1+p.AnnualDiscount, months/12)
		prev = exp[i+1]
	}
	// A fit at the edge of its parameter space (a handful of customers)
	// can overflow for some histories; no prediction beats a wrong one.
	for _, v := range []float64{pr.PAlive, pr.ExpectedPurchases, pr.ExpectedAOV, pr.CLV} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Prediction{}, false
		}
	}
	return pr, true
}

// MinorPerMajor is how many minor units make one major unit of an ISO 4217
// currency: 1 for the few without minor units in use, 100 otherwise (the
// three-decimal dinars are not a reporting currency here).
func MinorPerMajor(currency string) float64 {
	switch currency {
	case "JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF":
		return 1
	}
	return 100
}

// DefaultPredictionPolicy predicts purchases over 52 weeks and CLV over 36
// months at a 10% yearly discount on revenue.
func DefaultPredictionPolicy(currency string) PredictionPolicy {
	return PredictionPolicy{HorizonWeeks: 52, CLVMonths: 36, AnnualDiscount: 0.1, Margin: 1, MinorPerMajor: MinorPerMajor(currency)}
}
