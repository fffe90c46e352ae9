package model

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// History is one customer's purchase history in the calibration period, in
// the model's time unit (weeks in this service): X repeat purchases (the
// first purchase is not counted, and purchases on one day are one), the
// last of them at TX after the first purchase, observed for T since the
// first purchase. MeanValue is the mean value of Spends repeat purchases
// (0 when Spends is 0), for the spend model: Spends is X unless some
// purchases have no value in the model's currency.
type History struct {
	X         int
	TX, T     float64
	MeanValue float64
	Spends    int
}

// Valid reports whether h can be in a likelihood: 0 <= TX <= T, TX = 0
// when X = 0.
func (h History) Valid() bool {
	return h.X >= 0 && h.TX >= 0 && h.T >= h.TX && !(h.X == 0 && h.TX != 0) && !math.IsNaN(h.T) && !math.IsInf(h.T, 0)
}

// BGNBD are the parameters of the BG/NBD model: purchase rates are
// Gamma(R, Alpha) across customers, dropout probabilities after each
// purchase Beta(A, B).
type BGNBD struct {
	R, Alpha, A, B float64
}

// Valid reports whether every parameter is positive and finite.
func (p BGNBD) Valid() bool {
	for _, v := range []float64{p.R, p.Alpha, p.A, p.B} {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// LogLikelihood is the log-likelihood of one customer's history
// (Fader, Hardie and Lee 2005, equation 6).
func (p BGNBD) LogLikelihood(h History) float64 {
	x := float64(h.X)
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	a1 := lg(p.R+x) - lg(p.R) + p.R*math.Log(p.Alpha)
	a2 := lg(p.A+p.B) + lg(p.B+x) - lg(p.B) - lg(p.A+p.B+x)
	a3 := -(p.R + x) * math.Log(p.Alpha+h.T)
	if h.X == 0 {
		return a1 + a2 + a3
	}
	a4 := math.Log(p.A) - math.Log(p.B+x-1) - (p.R+x)*math.Log(p.Alpha+h.TX)
	return a1 + a2 + logSumExp(a3, a4)
}

func logSumExp(u, v float64) float64 {
	m := math.Max(u, v)
	return m + math.Log(math.Exp(u-m)+math.Exp(v-m))
}

// PAlive is the probability that a customer with history h is still
// active at the end of the observation (equation 10 of the BG/NBD paper).
func (p BGNBD) PAlive(h History) float64 {
	if h.X == 0 {
		return 1
	}
	x := float64(h.X)
	// a/(b+x-1) * ((alpha+T)/(alpha+tx))^(r+x), in logs against overflow.
	l := math.Log(p.A) - math.Log(p.B+x-1) + (p.R+x)*(math.Log(p.Alpha+h.T)-math.Log(p.Alpha+h.TX))
	return 1 / (1 + math.Exp(l))
}

// ExpectedPurchases is the expected number of purchases in the next t
// time units of a customer with history h (equation 10 of the paper,
// conditional expectation).
func (p BGNBD) ExpectedPurchases(h History, t float64) float64 {
	var out [1]float64
	p.ExpectedPurchasesAt(h, []float64{t}, out[:], nil)
	return out[0]
}

// ExpectedPurchasesAt writes the expected purchases in the next ts[i]
// time units to out[i]. The hypergeometric series of one customer has the
// same coefficients for every horizon, only its argument differs, so they
// are computed once (into scratch, which may be nil) and summed per
// horizon: DERT's many horizons cost little more than one.
func (p BGNBD) ExpectedPurchasesAt(h History, ts, out []float64, scratch *[]float64) {
	const eps = 1e-6
	if math.Abs(p.A-1) < eps {
		// (a+b+x-1)/(a-1) x (1 - ...) is 0/0 at a = 1; the expectation is
		// smooth in a, so it is interpolated between a = 1 -/+ 2 eps.
		lo, hi := p, p
		lo.A, hi.A = 1-2*eps, 1+2*eps
		up := make([]float64, len(ts))
		lo.ExpectedPurchasesAt(h, ts, out, scratch)
		hi.ExpectedPurchasesAt(h, ts, up, scratch)
		w := (p.A - lo.A) / (hi.A - lo.A)
		for i := range ts {
			out[i] += w * (up[i] - out[i])
		}
		return
	}
	x := float64(h.X)
	a, b, c := p.R+x, p.B+x, p.A+p.B+x-1
	zmax := 0.0
	for _, t := range ts {
		if t > 0 {
			zmax = max(zmax, t/(p.Alpha+h.T+t))
		}
	}
	var coef []float64
	if scratch != nil {
		coef = (*scratch)[:0]
	}
	// The terms of the series at the largest argument, until negligible;
	// each horizon's sum is then Σ term_j (z/zmax)^j. Terms rather than
	// bare coefficients, which overflow when r is large and z tiny.
	term, sum := 1.0, 1.0
	coef = append(coef, 1)
	for j := 0.0; j < 100000 && zmax > 0; j++ {
		term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * zmax
		sum += term
		coef = append(coef, term)
		if math.Abs(term) <= 1e-15*math.Abs(sum) {
			break
		}
	}
	if scratch != nil {
		*scratch = coef
	}
	den := 1.0
	if h.X > 0 {
		den += p.A / (p.B + x - 1) * math.Pow((p.Alpha+h.T)/(p.Alpha+h.TX), p.R+x)
	}
	for i, t := range ts {
		if t <= 0 {
			out[i] = 0
			continue
		}
		z := t / (p.Alpha + h.T + t)
		u := z / zmax
		f := 0.0
		for j := len(coef) - 1; j >= 0; j-- { // Horner
			f = f*u + coef[j]
		}
		// 1 - ((alpha+T)/(alpha+T+t))^(r+x) * f in logs: at the edge of
		// the parameter space (r in the millions) the product is within
		// 1e-8 of 1 and a plain power loses the difference.
		oneMinus := -math.Expm1((p.R+x)*math.Log1p(-t/(p.Alpha+h.T+t)) + math.Log(f))
		num := (p.A + p.B + x - 1) / (p.A - 1) * oneMinus
		v := num / den
		if v < 0 || math.IsNaN(v) {
			v = 0
		}
		out[i] = v
	}
}

// Fit is a fitted model: its parameters, the log-likelihood they reach,
// and what the fit cost.
type Fit[P any] struct {
	Params        P
	LogLikelihood float64
	Customers     int
	Evaluations   int
	Duration      time.Duration
}

// ErrTooFewCustomers means the data cannot identify the model.
var ErrTooFewCustomers = errors.New("too few customers to fit the model")

// historyGroup is a distinct history and how many customers share it:
// many customers share (0, 0, T) for the few cohort weeks, so the
// likelihood is evaluated once per group.
type historyGroup struct {
	h History
	n float64
}

func groupHistories(hs []History, keep func(History) bool) ([]historyGroup, int, error) {
	idx := map[History]int{}
	var groups []historyGroup
	n := 0
	for i, h := range hs {
		if !h.Valid() {
			return nil, 0, fmt.Errorf("history %d: %+v is not a valid history", i, h)
		}
		if !keep(h) {
			continue
		}
		n++
		k := h
		if j, ok := idx[k]; ok {
			groups[j].n++
			continue
		}
		idx[k] = len(groups)
		groups = append(groups, historyGroup{h: h, n: 1})
	}
	return groups, n, nil
}

// FitBGNBD fits the BG/NBD model by maximum likelihood (FitModel).
func FitBGNBD(hs []History) (Fit[BGNBD], error) {
	f, err := FitModel(KindBGNBD, hs)
	return Fit[BGNBD]{Params: f.Params.Params, LogLikelihood: f.LogLikelihood, Customers: f.Customers,
		Evaluations: f.Evaluations, Duration: f.Duration}, err
}

// FitModel fits a repeat-purchase model by maximum likelihood: Nelder-Mead
// on the logs of the parameters (so they stay positive), from several
// starting points, each polished by restarts; the best optimum wins.
func FitModel(kind Kind, hs []History) (Fit[Model], error) {
	start := time.Now()
	if _, err := ParseKind(string(kind)); err != nil {
		return Fit[Model]{}, err
	}
	groups, n, err := groupHistories(hs, func(History) bool { return true })
	if err != nil {
		return Fit[Model]{}, fmt.Errorf("fit %s: %w", kind, err)
	}
	repeaters := 0
	for _, g := range groups {
		if g.h.X > 0 {
			repeaters += int(g.n)
		}
	}
	if n < 3 || repeaters == 0 {
		return Fit[Model]{}, fmt.Errorf("fit %s: %d customers, %d with repeat purchases: %w", kind, n, repeaters, ErrTooFewCustomers)
	}
	var meanT float64
	for _, g := range groups {
		meanT += g.h.T * g.n
	}
	meanT /= float64(n)
	maxX := 0
	for _, g := range groups {
		maxX = max(maxX, g.h.X)
	}
	// The gamma-function ratios depend on the parameters and x only, and
	// x is a small integer: they are sums of logs, tabled once per
	// evaluation for every x instead of four Lgamma calls per customer.
	// (Tabled per call: the starts run concurrently.)
	negLL := func(v []float64) float64 {
		p := BGNBD{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), A: math.Exp(v[2]), B: math.Exp(v[3])}
		if !p.Valid() {
			return math.Inf(1)
		}
		lr := make([]float64, maxX+1)  // lnΓ(r+x) - lnΓ(r)
		lb := make([]float64, maxX+1)  // lnΓ(b+x) - lnΓ(b)
		lab := make([]float64, maxX+2) // lnΓ(a+b) - lnΓ(a+b+x)
		for x := 1; x <= maxX+1; x++ {
			k := float64(x - 1)
			lab[x] = lab[x-1] - math.Log(p.A+p.B+k)
			if x <= maxX {
				lr[x] = lr[x-1] + math.Log(p.R+k)
				lb[x] = lb[x-1] + math.Log(p.B+k)
			}
		}
		logAlpha, logA := math.Log(p.Alpha), math.Log(p.A)
		var ll float64
		for _, g := range groups {
			x := float64(g.h.X)
			if kind == KindMBGNBD {
				// Batislam et al. 2007, eq. 6: alive after x+1 drop-out
				// chances, or gone after the last purchase (also the first).
				base := lr[g.h.X] + p.R*logAlpha + lb[g.h.X] + lab[g.h.X+1]
				alive := math.Log(p.B+x) - (p.R+x)*math.Log(p.Alpha+g.h.T)
				gone := logA - (p.R+x)*math.Log(p.Alpha+g.h.TX)
				ll += g.n * (base + logSumExp(alive, gone))
				continue
			}
			base := lr[g.h.X] + p.R*logAlpha + lb[g.h.X] + lab[g.h.X]
			a3 := -(p.R + x) * math.Log(p.Alpha+g.h.T)
			if g.h.X == 0 {
				ll += g.n * (base + a3)
				continue
			}
			a4 := logA - math.Log(p.B+x-1) - (p.R+x)*math.Log(p.Alpha+g.h.TX)
			ll += g.n * (base + logSumExp(a3, a4))
		}
		return -ll
	}
	// Starting points: unit parameters, and alpha on the scale of the
	// observation period (the rate's scale), with low and high dropout.
	starts := [][]float64{
		{0, 0, 0, 0},
		{0, math.Log(math.Max(meanT/10, 0.1)), 0, 0},
		{math.Log(0.5), math.Log(math.Max(meanT, 0.1)), math.Log(0.5), math.Log(5)},
	}
	opts := minimizeOptions{Step: 0.5, Tol: 1e-10, MaxIter: 4000, Restarts: 8}
	best, bestV, evals := minimizeFromStarts(negLL, starts, opts)
	if math.IsInf(bestV, 0) {
		return Fit[Model]{}, fmt.Errorf("fit %s: the likelihood is not finite anywhere tried", kind)
	}
	return Fit[Model]{
		Params:        Model{Kind: kind, Params: BGNBD{R: math.Exp(best[0]), Alpha: math.Exp(best[1]), A: math.Exp(best[2]), B: math.Exp(best[3])}},
		LogLikelihood: -bestV,
		Customers:     n,
		Evaluations:   evals,
		Duration:      time.Since(start),
	}, nil
}

// DaysPerUnit is the model's time unit in days: a week.
const DaysPerUnit = 7

// NewHistory summarises a customer's purchase days up to the end of the
// calibration period: purchaseDays distinct days with a purchase, the
// first and last of them and the last day observed (day numbers, e.g. days
// since 1970), and repeatValue, the value bought on the days after the
// first. Purchases on one day are one transaction, as in the papers.
func NewHistory(purchaseDays int, firstDay, lastDay, endDay int64, repeatValue float64) History {
	h := History{
		X:  max(purchaseDays-1, 0),
		TX: float64(lastDay-firstDay) / DaysPerUnit,
		T:  float64(endDay-firstDay) / DaysPerUnit,
	}
	if h.X > 0 {
		h.MeanValue = repeatValue / float64(h.X)
	}
	h.Spends = h.X
	return h
}

// minimizeFromStarts runs Nelder-Mead from the first two starting points
// at once (one per core); when they reach the same optimum it is taken,
// otherwise the remaining starts are tried too and the best optimum wins.
// A likelihood with one optimum thus costs one run of wall time, and a
// run stuck on a ridge is caught by its disagreement with the other.
func minimizeFromStarts(f func([]float64) float64, starts [][]float64, o minimizeOptions) ([]float64, float64, int) {
	type result struct {
		x     []float64
		v     float64
		evals int
	}
	results := make([]result, len(starts))
	run := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Go(func() {
				x, v, e := minimize(f, starts[i], o)
				results[i] = result{x, v, e}
			})
		}
		wg.Wait()
	}
	first := min(2, len(starts))
	run(0, first)
	if first == 2 && !(math.Abs(results[0].v-results[1].v) <= 1e-6*(1+math.Abs(results[0].v))) {
		run(first, len(starts))
	} else {
		results = results[:first]
	}
	best, evals := results[0], 0
	for _, r := range results {
		evals += r.evals
		if r.v < best.v {
			best = r
		}
	}
	return best.x, best.v, evals
}
