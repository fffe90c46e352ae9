package domain

import (
	"math"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// ModelFit is a fit of a repeat-purchase model (BG/NBD or MBG/NBD) and
// the Gamma-Gamma spend model on the purchase histories up to
// CalibrationEnd, in weeks and major currency units.
type ModelFit struct {
	ID             string
	FitTime        time.Time
	CalibrationEnd time.Time
	// Model is the repeat-purchase model (BG/NBD when empty, as fits made
	// before there was a choice), BGNBD its parameters r, alpha, a, b.
	Model         model.Kind
	BGNBD         model.BGNBD
	LogLikelihood float64
	Customers     int64
	// Choice says why Model was chosen: the holdout comparison, or the
	// setting that fixed it.
	Choice string
	// Spend is the zero value when too few customers repeat to fit it.
	Spend              model.GammaGamma
	SpendLogLikelihood float64
	RepeatCustomers    int64
	// Duration is the time both fits took, BGNBDDuration the BG/NBD's.
	Duration, BGNBDDuration time.Duration
}

// HasSpend reports whether the spend model was fitted.
func (f ModelFit) HasSpend() bool { return f.Spend.Valid() }

// Counts is the fitted repeat-purchase model.
func (f ModelFit) Counts() model.Model {
	kind := f.Model
	if kind == "" {
		kind = model.KindBGNBD
	}
	return model.Model{Kind: kind, Params: f.BGNBD}
}

// Warnings name the parameters at the edge of what the models can answer,
// and what is done instead of an infinite or undefined figure.
func (f ModelFit) Warnings() []string {
	var w []string
	if f.BGNBD.Valid() && f.BGNBD.A <= 1 {
		w = append(w, "dropout a <= 1: a customer's expected purchases over an unbounded lifetime are infinite; "+
			"every figure here is over a finite horizon, and DERT and CLV are finite only through it and the discount")
	}
	if f.HasSpend() && f.Spend.Q <= 1 {
		w = append(w, "spend q <= 1: the Gamma-Gamma model has no finite mean spend; "+
			"each customer's own mean purchase value is used as expected order value instead")
	}
	return w
}

// PredictionPolicy says what is predicted: over which horizons, how CLV
// is discounted, and which repeat-purchase model is fitted.
type PredictionPolicy struct {
	// HorizonWeeks is the horizon of ExpectedPurchases.
	HorizonWeeks int
	// CLVMonths is the horizon of DERT and the customer lifetime value.
	CLVMonths int
	// AnnualDiscount is the yearly discount rate of future revenue (0.1).
	AnnualDiscount float64
	// Margin is the share of revenue that is profit (1 for revenue CLV).
	Margin float64
	// MinorPerMajor converts the reporting currency's minor units to the
	// major units the models are fitted in (100 for CNY).
	MinorPerMajor float64
	// Model is the repeat-purchase model a refit fits: ModelAuto (or
	// empty) chooses by holdout performance, or a model.Kind fixes it.
	Model string
}

// ModelAuto chooses the repeat-purchase model at each refit.
const ModelAuto = "auto"

// WeeklyDiscount is the continuous discount rate per week equivalent to
// AnnualDiscount: a purchase a year away is worth 1/(1+AnnualDiscount).
func (p PredictionPolicy) WeeklyDiscount() float64 {
	return math.Log1p(p.AnnualDiscount) / (weeksPerMonth * 12)
}

// Validate rejects horizons and rates that make no sense.
func (p PredictionPolicy) Validate() error {
	switch {
	case p.HorizonWeeks <= 0 || p.HorizonWeeks > 520:
		return fieldError("prediction_horizon_weeks", "must be 1 to 520")
	case p.CLVMonths <= 0 || p.CLVMonths > 1200:
		return fieldError("clv_months", "must be 1 to 1200")
	case !(p.AnnualDiscount >= 0 && p.AnnualDiscount < 10):
		return fieldError("annual_discount", "must be 0 to 10")
	case !(p.Margin > 0 && p.Margin <= 1):
		return fieldError("margin", "must be above 0 and at most 1")
	case !(p.MinorPerMajor >= 1):
		return fieldError("minor_per_major", "must be at least 1")
	case p.Model != "" && p.Model != ModelAuto && p.Model != string(model.KindBGNBD) && p.Model != string(model.KindMBGNBD):
		return fieldError("model", "must be auto, bgnbd or mbgnbd")
	}
	return nil
}

// Prediction is what the models expect of one customer. Money is in minor
// units of the reporting currency.
type Prediction struct {
	// Model is the repeat-purchase model predicted with (not stored).
	Model             model.Kind
	PAlive            float64
	ExpectedPurchases float64
	ExpectedAOV       float64
	// DERT is the discounted expected residual transactions over the CLV
	// horizon (not stored: CLV is), and CLV = DERT x ExpectedAOV x margin.
	DERT float64
	CLV  float64
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
	m := fit.Counts()
	pr := Prediction{
		Model:             m.Kind,
		PAlive:            m.PAlive(h),
		ExpectedPurchases: m.ExpectedPurchases(h, float64(p.HorizonWeeks)),
		DERT:              m.DERT(h, p.WeeklyDiscount(), float64(p.CLVMonths)*weeksPerMonth),
	}
	switch {
	case fit.HasSpend() && fit.Spend.Q > 1:
		pr.ExpectedAOV = fit.Spend.ExpectedValue(h.Spends, h.MeanValue) * p.MinorPerMajor
	case f.SpendDays > 0:
		// Without a spend model (or one without a finite mean, see
		// ModelFit.Warnings), the customer's own mean over the days paid
		// in the reporting currency.
		pr.ExpectedAOV = float64(f.Lifetime) / float64(f.SpendDays)
	}
	pr.CLV = pr.DERT * pr.ExpectedAOV * p.Margin
	// A fit at the edge of its parameter space (a handful of customers)
	// can overflow for some histories; no prediction beats a wrong one.
	for _, v := range []float64{pr.PAlive, pr.ExpectedPurchases, pr.ExpectedAOV, pr.DERT, pr.CLV} {
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
// months at a 10% yearly discount on revenue, and chooses the model.
func DefaultPredictionPolicy(currency string) PredictionPolicy {
	return PredictionPolicy{HorizonWeeks: 52, CLVMonths: 36, AnnualDiscount: 0.1, Margin: 1, MinorPerMajor: MinorPerMajor(currency), Model: ModelAuto}
}

// Outlook is everything the models say of one customer's purchases over
// the next HorizonWeeks, or of a customer just acquired (CustomerID
// empty: the unconditional figures). Money is in minor units.
type Outlook struct {
	CustomerID   string
	Model        model.Kind
	HorizonWeeks int
	PAlive       float64
	// ExpectedPurchases is E[X(t)] over the horizon; Probabilities[n] is
	// P(X(t) = n), the rest of 1 being more than len-1 purchases.
	ExpectedPurchases float64
	Probabilities     []float64
	ExpectedAOV       float64
	DERT, CLV         float64
}

// Outlook applies the fit to a customer's facts as of now, or with f nil
// to a customer just acquired, over weeks with probabilities of 0..maxN
// purchases. ok is false for a customer without purchases, without a fit,
// or when a figure is not finite.
func (p PredictionPolicy) Outlook(fit ModelFit, f *Facts, now time.Time, weeks, maxN int) (Outlook, bool) {
	if !fit.BGNBD.Valid() {
		return Outlook{}, false
	}
	m := fit.Counts()
	o := Outlook{Model: m.Kind, HorizonWeeks: weeks}
	var h model.History // a customer just acquired: x = t_x = T = 0
	if f != nil {
		pr, ok := p.Predict(fit, *f, now)
		if !ok {
			return Outlook{}, false
		}
		o.CustomerID, o.ExpectedAOV = f.CustomerID, pr.ExpectedAOV
		if h = f.History(now, p.MinorPerMajor); h.T < h.TX {
			h.T = h.TX
		}
	} else if fit.HasSpend() && fit.Spend.Q > 1 {
		o.ExpectedAOV = fit.Spend.PopulationMean() * p.MinorPerMajor
	}
	o.PAlive = m.PAlive(h)
	o.ExpectedPurchases = m.ExpectedPurchases(h, float64(weeks))
	o.Probabilities = m.PurchaseProbabilities(h, float64(weeks), maxN)
	o.DERT = m.DERT(h, p.WeeklyDiscount(), float64(p.CLVMonths)*weeksPerMonth)
	o.CLV = o.DERT * o.ExpectedAOV * p.Margin
	for _, v := range append([]float64{o.PAlive, o.ExpectedPurchases, o.ExpectedAOV, o.DERT, o.CLV}, o.Probabilities...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Outlook{}, false
		}
	}
	return o, true
}

// ModelValidation compares the repeat-purchase models on the customers'
// own data: each fitted on the purchases up to CalibrationEnd and checked
// against what the same customers bought in the HoldoutWeeks after it.
// Chosen indexes the model with the smallest chart error, and Reason says
// so with the figures.
type ModelValidation struct {
	CalibrationEnd time.Time
	HoldoutWeeks   int
	Customers      int
	Models         []model.Validation
	Chosen         int
	Reason         string
}
