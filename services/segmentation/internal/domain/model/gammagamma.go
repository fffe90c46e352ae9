package model

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// GammaGamma are the parameters of the Gamma-Gamma spend model: a
// customer's transaction values are Gamma(P, nu) around their own mean,
// and nu is Gamma(Q, Gamma) across customers.
type GammaGamma struct {
	P, Q, Gamma float64
}

// Valid reports whether every parameter is positive and finite.
func (p GammaGamma) Valid() bool {
	for _, v := range []float64{p.P, p.Q, p.Gamma} {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// LogLikelihood is the log-density of a customer's mean transaction value
// zbar over x transactions (Fader, Hardie and Lee 2005, "RFM and CLV",
// and Fader and Hardie's note on the Gamma-Gamma model).
func (p GammaGamma) LogLikelihood(x int, zbar float64) float64 {
	n := float64(x)
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	px := p.P * n
	return lg(px+p.Q) - lg(px) - lg(p.Q) + p.Q*math.Log(p.Gamma) +
		(px-1)*math.Log(zbar) + px*math.Log(n) - (px+p.Q)*math.Log(p.Gamma+n*zbar)
}

// PopulationMean is the mean transaction value across customers,
// p*gamma/(q-1), or NaN when q <= 1 (no finite mean).
func (p GammaGamma) PopulationMean() float64 {
	if p.Q <= 1 {
		return math.NaN()
	}
	return p.P * p.Gamma / (p.Q - 1)
}

// ExpectedValue is a customer's expected transaction value given x
// transactions of mean zbar: a weighted mean of the population mean and
// the customer's own. With no transaction it is the population mean.
func (p GammaGamma) ExpectedValue(x int, zbar float64) float64 {
	n := float64(x)
	if x <= 0 {
		return p.PopulationMean()
	}
	return (p.Gamma + n*zbar) * p.P / (p.P*n + p.Q - 1)
}

// FitGammaGamma fits the spend model on the customers with at least one
// repeat purchase of positive mean value.
func FitGammaGamma(hs []History) (Fit[GammaGamma], error) {
	start := time.Now()
	groups, n, err := groupHistories(hs, func(h History) bool { return h.Spends > 0 && h.MeanValue > 0 })
	if err != nil {
		return Fit[GammaGamma]{}, fmt.Errorf("fit gamma-gamma: %w", err)
	}
	if n < 3 {
		return Fit[GammaGamma]{}, fmt.Errorf("fit gamma-gamma: %d customers with repeat purchases: %w", n, ErrTooFewCustomers)
	}
	var mean float64
	for _, g := range groups {
		mean += g.h.MeanValue * g.n
	}
	mean /= float64(n)
	negLL := func(v []float64) float64 {
		p := GammaGamma{P: math.Exp(v[0]), Q: math.Exp(v[1]), Gamma: math.Exp(v[2])}
		if !p.Valid() {
			return math.Inf(1)
		}
		var ll float64
		for _, g := range groups {
			ll += g.n * p.LogLikelihood(g.h.Spends, g.h.MeanValue)
		}
		return -ll
	}
	// Starting points: unit shapes with the scale at the mean value, and
	// a few shapes around it (p*gamma/(q-1) near the mean).
	starts := [][]float64{
		{0, 0, 0},
		{math.Log(2), math.Log(2), math.Log(math.Max(mean/2, 1e-3))},
		{math.Log(5), math.Log(4), math.Log(math.Max(mean*3/5, 1e-3))},
	}
	opts := minimizeOptions{Step: 0.5, Tol: 1e-10, MaxIter: 4000, Restarts: 8}
	best, bestV, evals := minimizeFromStarts(negLL, starts, opts)
	if math.IsInf(bestV, 0) {
		return Fit[GammaGamma]{}, errors.New("fit gamma-gamma: the likelihood is not finite anywhere tried")
	}
	return Fit[GammaGamma]{
		Params:        GammaGamma{P: math.Exp(best[0]), Q: math.Exp(best[1]), Gamma: math.Exp(best[2])},
		LogLikelihood: -bestV,
		Customers:     n,
		Evaluations:   evals,
		Duration:      time.Since(start),
	}, nil
}
