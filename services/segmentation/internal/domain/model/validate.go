package model

import (
	"fmt"
	"math"
)

// Holdout is one customer's calibration history and what the customer
// bought after it: Counts[k] purchase days in the first Weeks[k] of the
// holdout period (Validate's weeks).
type Holdout struct {
	History History
	Counts  []int
}

// FrequencyBin is one point of the classic calibration/holdout chart: the
// customers with Frequency repeat purchases in calibration (the last bin
// holds MaxFrequency or more), and their mean holdout purchases, actual
// and predicted.
type FrequencyBin struct {
	Frequency         int
	Customers         int
	Actual, Predicted float64
}

// MaxFrequency is the last bin of the chart, "7+", as in the papers.
const MaxFrequency = 7

// CumulativePoint is the holdout purchases of all customers by Weeks into
// the holdout, actual and predicted.
type CumulativePoint struct {
	Weeks             float64
	Actual, Predicted float64
}

// Validation is how well a model fitted on the calibration period predicted
// the holdout period.
type Validation struct {
	Fit        Fit[Model]
	Bins       []FrequencyBin
	Cumulative []CumulativePoint
	// MAE and RMSE are per customer, over the whole holdout.
	MAE, RMSE float64
	// BinError is the customer-weighted mean of the bins' absolute
	// errors |mean predicted - mean actual|: how far the chart is off.
	BinError float64
}

// Validate compares a model's conditional expectations with what the
// customers bought in the holdout: by calibration frequency, cumulatively
// at each of weeks (ascending; the last is the whole holdout), and per
// customer.
func Validate(fit Fit[Model], weeks []float64, cs []Holdout) (Validation, error) {
	if len(weeks) == 0 || len(cs) == 0 {
		return Validation{}, fmt.Errorf("validate %s: no holdout weeks or no customers", fit.Params.Kind)
	}
	v := Validation{Fit: fit, Bins: make([]FrequencyBin, MaxFrequency+1), Cumulative: make([]CumulativePoint, len(weeks))}
	for i := range v.Bins {
		v.Bins[i].Frequency = i
	}
	for k, w := range weeks {
		v.Cumulative[k].Weeks = w
	}
	exp := make([]float64, len(weeks))
	var scratch []float64
	last := len(weeks) - 1
	for _, c := range cs {
		if len(c.Counts) != len(weeks) {
			return Validation{}, fmt.Errorf("validate %s: %d holdout counts for %d weeks", fit.Params.Kind, len(c.Counts), len(weeks))
		}
		fit.Params.ExpectedPurchasesAt(c.History, weeks, exp, &scratch)
		for k := range weeks {
			v.Cumulative[k].Actual += float64(c.Counts[k])
			v.Cumulative[k].Predicted += exp[k]
		}
		b := &v.Bins[min(c.History.X, MaxFrequency)]
		b.Customers++
		b.Actual += float64(c.Counts[last])
		b.Predicted += exp[last]
		d := exp[last] - float64(c.Counts[last])
		v.MAE += math.Abs(d)
		v.RMSE += d * d
	}
	n := float64(len(cs))
	v.MAE /= n
	v.RMSE = math.Sqrt(v.RMSE / n)
	for i := range v.Bins {
		b := &v.Bins[i]
		if b.Customers == 0 {
			continue
		}
		v.BinError += math.Abs(b.Predicted-b.Actual) / n
		b.Actual /= float64(b.Customers)
		b.Predicted /= float64(b.Customers)
	}
	return v, nil
}

// Choose picks the validation whose chart is closest to the holdout
// (smallest BinError) and says why. The chart's error, not the per-customer
// one, decides: one customer's holdout count is mostly Poisson noise that
// no model can predict, so per-customer errors differ little between
// models, while a model biased for a whole group (say, the one-time
// buyers) misleads every segment built on it.
func Choose(vs []Validation) (int, string) {
	best := 0
	for i, v := range vs {
		if v.BinError < vs[best].BinError {
			best = i
		}
	}
	why := fmt.Sprintf("%s: holdout error by calibration frequency %.4f purchases per customer", vs[best].Fit.Params.Kind, vs[best].BinError)
	for i, v := range vs {
		if i != best {
			why += fmt.Sprintf(" against %s %.4f", v.Fit.Params.Kind, v.BinError)
		}
	}
	return best, why
}
