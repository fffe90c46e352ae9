// Package model holds the statistics of customer value, in pure Go: the
// BG/NBD and MBG/NBD repeat-purchase and dropout models (Fader, Hardie and
// Lee 2005; Batislam, Denizel and Filiztekin 2007) with their holdout
// validation, and the Gamma-Gamma spend model, fitted by maximum
// likelihood, and the seasonal exponential smoothing of demand. It knows
// nothing of customers, storage or transport: it takes numbers and returns
// numbers.
package model

import (
	"math"
	"sort"
)

// minimizeOptions tune Nelder-Mead.
type minimizeOptions struct {
	// Step is the initial simplex edge in each coordinate.
	Step float64
	// Tol stops a run when the simplex's function values differ by less.
	Tol float64
	// MaxIter bounds one run.
	MaxIter int
	// Restarts re-runs from the best point with a fresh simplex while
	// that improves by more than Tol: a collapsed simplex is the usual way
	// Nelder-Mead stops short of the optimum.
	Restarts int
}

// minimize finds a local minimum of f near x0 by Nelder-Mead with
// restarts. f may return +Inf (or NaN) where it is undefined; such points
// are never accepted. It returns the point, its value and the number of
// function evaluations.
func minimize(f func([]float64) float64, x0 []float64, o minimizeOptions) ([]float64, float64, int) {
	evals := 0
	g := func(x []float64) float64 {
		evals++
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	best := append([]float64(nil), x0...)
	bestV := g(best)
	for run := 0; run <= o.Restarts; run++ {
		x, v := nelderMead(g, best, o)
		improved := bestV - v
		if v < bestV {
			best, bestV = x, v
		}
		if run > 0 && !(improved > o.Tol) {
			break
		}
	}
	return best, bestV, evals
}

// nelderMead is one run of the standard algorithm (reflection 1,
// expansion 2, contraction 1/2, shrink 1/2).
func nelderMead(f func([]float64) float64, x0 []float64, o minimizeOptions) ([]float64, float64) {
	n := len(x0)
	type vertex struct {
		x []float64
		v float64
	}
	simplex := make([]vertex, n+1)
	simplex[0] = vertex{append([]float64(nil), x0...), f(x0)}
	for i := range n {
		x := append([]float64(nil), x0...)
		x[i] += o.Step
		simplex[i+1] = vertex{x, f(x)}
	}
	point := func(c []float64, towards []float64, t float64) []float64 {
		p := make([]float64, n)
		for i := range p {
			p[i] = c[i] + t*(towards[i]-c[i])
		}
		return p
	}
	centroid := make([]float64, n)
	for range o.MaxIter {
		sort.Slice(simplex, func(i, j int) bool { return simplex[i].v < simplex[j].v })
		if math.Abs(simplex[n].v-simplex[0].v) <= o.Tol*(1+math.Abs(simplex[0].v)) {
			break
		}
		for i := range centroid {
			centroid[i] = 0
			for _, s := range simplex[:n] {
				centroid[i] += s.x[i] / float64(n)
			}
		}
		worst := simplex[n]
		r := point(centroid, worst.x, -1)
		rv := f(r)
		switch {
		case rv < simplex[0].v:
			e := point(centroid, worst.x, -2)
			if ev := f(e); ev < rv {
				simplex[n] = vertex{e, ev}
			} else {
				simplex[n] = vertex{r, rv}
			}
		case rv < simplex[n-1].v:
			simplex[n] = vertex{r, rv}
		default:
			// Contract towards the better of the worst point and its
			// reflection.
			var c []float64
			if rv < worst.v {
				c = point(centroid, r, 0.5)
			} else {
				c = point(centroid, worst.x, 0.5)
			}
			if cv := f(c); cv < math.Min(rv, worst.v) {
				simplex[n] = vertex{c, cv}
				continue
			}
			for i := 1; i <= n; i++ {
				x := point(simplex[0].x, simplex[i].x, 0.5)
				simplex[i] = vertex{x, f(x)}
			}
		}
	}
	sort.Slice(simplex, func(i, j int) bool { return simplex[i].v < simplex[j].v })
	return simplex[0].x, simplex[0].v
}
