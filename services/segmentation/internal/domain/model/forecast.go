package model

import (
	"errors"
	"fmt"
	"math"
)

// Season is the length of the seasonal cycle of monthly demand.
const Season = 12

// Smoothing are the parameters of additive Holt-Winters exponential
// smoothing: level, trend and season weights, each in [0, 1]. Seasonal is
// false when the series was too short for a seasonal cycle, and the model
// is Holt's linear trend.
type Smoothing struct {
	Alpha, Beta, Gamma float64
	Seasonal           bool
}

// Forecast is a fitted smoothing model and its forecast.
type Forecast struct {
	Smoothing Smoothing
	// Method names the model: MethodHoltWinters or MethodHolt.
	Method string
	// Fallback says why Method is not the seasonal model; "" when it is.
	Fallback string
	// Values are the forecast of the periods after the series.
	Values []float64
	// HeldOut is how many final periods were held out to measure Error.
	HeldOut int
	// Error is the method's on the held-out periods, fitted without
	// them; SeasonalNaive and Naive are the plain forecasts' on the same
	// periods, the yardsticks a model must beat to be worth its
	// complexity (SeasonalNaive is unset without a year before them).
	Error, SeasonalNaive, Naive Accuracy
}

// Accuracy is a forecast's error on held-out periods.
type Accuracy struct {
	// Set is false when the forecast could not be made.
	Set bool
	// MAPE is the mean absolute percentage error (periods with actual 0
	// skipped), MAE the mean absolute error.
	MAPE, MAE float64
}

// Beats reports whether a has a lower mean absolute error than b; false
// when either is unset.
func (a Accuracy) Beats(b Accuracy) bool { return a.Set && b.Set && a.MAE < b.MAE }

// The forecast methods.
const (
	MethodHoltWinters = "holt_winters_additive"
	MethodHolt        = "holt_linear"
)

// ErrShortSeries means there are too few periods to forecast from.
var ErrShortSeries = errors.New("series too short to forecast")

// maxHeldOut is how many final periods are held out at most.
const maxHeldOut = 6

// minPeriods is the shortest series fitted: a trend needs two periods
// beyond its start.
const minPeriods = 3

// MinPeriods is the shortest series forecast: one period more than a fit
// needs, held out to measure the forecast, so that every forecast comes
// with its error.
const MinPeriods = minPeriods + 1

// ForecastSeries fits exponential smoothing to ys (one value per month)
// and forecasts the next horizon months. The error comes from refitting
// on all but the last months (up to 6, a quarter of the series, at least 1)
// and forecasting them, next to the seasonal-naive (same month a year
// before) and naive (last month) forecasts of the same months; the
// forecast itself uses the whole series. The seasonal model is used when
// the series without the held-out months still has two full cycles, so
// that the error reported is the seasonal model's; otherwise the forecast
// falls back to Holt's linear trend and says why (Fallback).
func ForecastSeries(ys []float64, horizon int) (Forecast, error) {
	if len(ys) < MinPeriods {
		return Forecast{}, ErrShortSeries
	}
	h := min(maxHeldOut, max(1, len(ys)/4))
	f := Forecast{Method: MethodHolt, HeldOut: h}
	seasonal := len(ys)-h >= 2*Season
	if seasonal {
		f.Method = MethodHoltWinters
	} else {
		f.Fallback = fmt.Sprintf("%d months of history, %d needed for the seasonal model (two cycles to fit and %d months held out to measure it)",
			len(ys), 2*Season+maxHeldOut, maxHeldOut)
	}
	train, test := ys[:len(ys)-h], ys[len(ys)-h:]
	s := fitSmoothing(train, seasonal)
	f.Error = accuracy(test, s.predict(train, h))
	naive := make([]float64, h)
	for i := range naive {
		naive[i] = train[len(train)-1]
	}
	f.Naive = accuracy(test, naive)
	if len(train) >= Season {
		snaive := make([]float64, h)
		for i := range snaive {
			snaive[i] = train[len(train)-Season+i%Season]
		}
		f.SeasonalNaive = accuracy(test, snaive)
	}
	f.Smoothing = fitSmoothing(ys, seasonal)
	f.Values = f.Smoothing.predict(ys, horizon)
	return f, nil
}

// accuracy measures pred against actual.
func accuracy(actual, pred []float64) Accuracy {
	var ape, ae float64
	n := 0
	for i, y := range actual {
		ae += math.Abs(y - pred[i])
		if y != 0 {
			ape += math.Abs(y-pred[i]) / math.Abs(y)
			n++
		}
	}
	a := Accuracy{Set: true, MAE: ae / float64(len(actual))}
	if n > 0 {
		a.MAPE = ape / float64(n)
	}
	return a
}

// fitSmoothing chooses the weights minimising the squared one-step-ahead
// errors, by Nelder-Mead on their logits.
func fitSmoothing(ys []float64, seasonal bool) Smoothing {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	sse := func(v []float64) float64 {
		s := Smoothing{Alpha: sig(v[0]), Beta: sig(v[1]), Seasonal: seasonal}
		if seasonal {
			s.Gamma = sig(v[2])
		}
		return s.sse(ys)
	}
	x, _, _ := minimize(sse, []float64{0, -1.5, -1.5}, minimizeOptions{Step: 1, Tol: 1e-9, MaxIter: 2000, Restarts: 3})
	s := Smoothing{Alpha: sig(x[0]), Beta: sig(x[1]), Seasonal: seasonal}
	if seasonal {
		s.Gamma = sig(x[2])
	}
	return s
}

// state runs the smoothing over ys and returns the final level, trend and
// seasonal indices (indexed by period mod Season), and the sum of squared
// one-step-ahead errors.
func (s Smoothing) state(ys []float64) (level, trend float64, season []float64, sse float64) {
	start := 1
	if s.Seasonal {
		// Initial level and trend from the means of the first two cycles
		// (each the level at its middle); seasonal indices as the first
		// cycle's deviations from that trend line.
		var m1, m2 float64
		for i := range Season {
			m1 += ys[i] / Season
			m2 += ys[Season+i] / Season
		}
		trend = (m2 - m1) / Season
		mid := float64(Season-1) / 2
		season = make([]float64, Season)
		for i := range Season {
			season[i] = ys[i] - (m1 + trend*(float64(i)-mid))
		}
		start = Season
		// The level at the end of the first cycle.
		level = m1 + trend*mid
	} else {
		level, trend = ys[0], ys[1]-ys[0]
	}
	for t := start; t < len(ys); t++ {
		var si float64
		if s.Seasonal {
			si = season[t%Season]
		}
		pred := level + trend + si
		e := ys[t] - pred
		sse += e * e
		prevLevel := level
		level = s.Alpha*(ys[t]-si) + (1-s.Alpha)*(level+trend)
		trend = s.Beta*(level-prevLevel) + (1-s.Beta)*trend
		if s.Seasonal {
			season[t%Season] = s.Gamma*(ys[t]-level) + (1-s.Gamma)*si
		}
	}
	return level, trend, season, sse
}

func (s Smoothing) sse(ys []float64) float64 {
	_, _, _, v := s.state(ys)
	return v
}

// predict forecasts the h periods after ys.
func (s Smoothing) predict(ys []float64, h int) []float64 {
	level, trend, season, _ := s.state(ys)
	out := make([]float64, h)
	for k := 1; k <= h; k++ {
		v := level + float64(k)*trend
		if s.Seasonal {
			v += season[(len(ys)+k-1)%Season]
		}
		out[k-1] = math.Max(v, 0) // demand is never negative
	}
	return out
}
