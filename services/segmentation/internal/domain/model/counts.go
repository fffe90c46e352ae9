package model

import (
	"fmt"
	"math"
	"sync"
)

// Kind names a repeat-purchase model.
type Kind string

// The repeat-purchase models. Both draw purchase rates from Gamma(r,
// alpha) and a dropout probability p from Beta(a, b); a BG/NBD customer
// may drop out after each repeat purchase, an MBG/NBD customer (Batislam,
// Denizel and Filiztekin 2007) also right after the first. Under BG/NBD a
// customer who never came back is certainly alive (P(alive) = 1); under
// MBG/NBD the longer the silence, the likelier the customer is gone.
const (
	KindBGNBD  Kind = "bgnbd"
	KindMBGNBD Kind = "mbgnbd"
)

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindBGNBD, KindMBGNBD:
		return k, nil
	}
	return "", fmt.Errorf("model %q: want %q or %q", s, KindBGNBD, KindMBGNBD)
}

// Model is a repeat-purchase model with its parameters. Every output is
// derived from one fact: given a customer's history, the customer is alive
// with probability PAlive, and a living customer's future from T on is a
// BG/NBD process whose rate and dropout distributions are the posterior
// ones, Gamma(r+x, alpha+T) and Beta(a, b+x) (BG/NBD; Beta(a, b+x+1) under
// MBG/NBD, which also survived the drop-out chance at the first purchase).
// The unconditional quantities (a customer just acquired) are the
// conditional ones of the empty history x = t_x = T = 0.
type Model struct {
	Kind   Kind
	Params BGNBD
}

// Valid reports whether the kind is known and the parameters positive.
func (m Model) Valid() bool {
	return (m.Kind == KindBGNBD || m.Kind == KindMBGNBD) && m.Params.Valid()
}

// LogLikelihood is the log-likelihood of one history (BG/NBD: Fader,
// Hardie and Lee 2005, eq. 6; MBG/NBD: Batislam et al. 2007, eq. 6).
func (m Model) LogLikelihood(h History) float64 {
	if m.Kind == KindBGNBD {
		return m.Params.LogLikelihood(h)
	}
	p, x := m.Params, float64(h.X)
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	base := lg(p.R+x) - lg(p.R) + p.R*math.Log(p.Alpha) + lg(p.A+p.B) + lg(p.B+x) - lg(p.B) - lg(p.A+p.B+x+1)
	alive := math.Log(p.B+x) - (p.R+x)*math.Log(p.Alpha+h.T)
	gone := math.Log(p.A) - (p.R+x)*math.Log(p.Alpha+h.TX)
	return base + logSumExp(alive, gone)
}

// PAlive is the probability that a customer with history h is alive at T.
func (m Model) PAlive(h History) float64 {
	if m.Kind == KindBGNBD {
		return m.Params.PAlive(h)
	}
	p, x := m.Params, float64(h.X)
	l := math.Log(p.A) - math.Log(p.B+x) + (p.R+x)*(math.Log(p.Alpha+h.T)-math.Log(p.Alpha+h.TX))
	return 1 / (1 + math.Exp(l))
}

// Residual is the customer's future: the probability of being alive at
// T, and the BG/NBD process a living customer follows from T on.
func (m Model) Residual(h History) (alive float64, future BGNBD) {
	p, x := m.Params, float64(h.X)
	future = BGNBD{R: p.R + x, Alpha: p.Alpha + h.T, A: p.A, B: p.B + x}
	if m.Kind == KindMBGNBD {
		future.B++
	}
	return m.PAlive(h), future
}

// ExpectedPurchasesAt writes E[X(ts[i]) | h], the purchases expected in
// the next ts[i] time units, to out[i] (scratch as in
// BGNBD.ExpectedPurchasesAt). The empty history gives E[X(t)].
func (m Model) ExpectedPurchasesAt(h History, ts, out []float64, scratch *[]float64) {
	alive, future := m.Residual(h)
	future.ExpectedPurchasesAt(History{}, ts, out, scratch)
	for i := range out[:len(ts)] {
		out[i] *= alive
	}
}

// ExpectedPurchases is E[X(t) | h].
func (m Model) ExpectedPurchases(h History, t float64) float64 {
	var out [1]float64
	m.ExpectedPurchasesAt(h, []float64{t}, out[:], nil)
	return out[0]
}

// PurchaseProbabilities returns P(X(t) = n | h) for n = 0..maxN; the rest,
// 1 minus their sum, is P(X(t) > maxN). A dead customer buys nothing, so
// P(X(t) = 0) adds 1 - P(alive) to a living customer's chance.
func (m Model) PurchaseProbabilities(h History, t float64, maxN int) []float64 {
	alive, future := m.Residual(h)
	out := future.countProbabilities(t, maxN)
	for i := range out {
		out[i] *= alive
	}
	out[0] += 1 - alive
	return out
}

// countProbabilities is P(X(t) = n) of a BG/NBD customer at the start of
// the process (Fader, Hardie and Lee 2005, eq. 8): n purchases and alive,
// or n purchases and dropped out after the n-th. The Poisson-Gamma
// mixture of the purchase count, NB(j), is built up by its ratio.
func (p BGNBD) countProbabilities(t float64, maxN int) []float64 {
	out := make([]float64, maxN+1)
	if !(t > 0) {
		out[0] = 1
		return out
	}
	z := t / (p.Alpha + t)
	nb := math.Exp(p.R * math.Log1p(-z)) // NB(0) = (alpha/(alpha+t))^r
	cum := 0.0                           // Σ_{j<n} NB(j)
	surv := 1.0                          // B(a, b+n)/B(a, b) = E[(1-p)^n]
	for n := 0; n <= maxN; n++ {
		v := surv * nb
		if n > 0 {
			// E[p (1-p)^(n-1)] = E[(1-p)^n] a/(b+n-1).
			v += surv * p.A / (p.B + float64(n) - 1) * math.Max(0, 1-cum)
		}
		out[n] = v
		cum += nb
		nb *= (p.R + float64(n)) / float64(n+1) * z
		surv *= (p.B + float64(n)) / (p.A + p.B + float64(n))
	}
	return out
}

// DERT is the discounted expected residual transactions of a customer
// with history h over the next horizon time units, at the continuous
// discount rate delta per time unit: ∫_0^horizon e^(-delta t) dE[X(t) | h].
// Integrated by parts, it is e^(-delta H) E[X(H)] + delta ∫_0^H e^(-delta
// t) E[X(t)] dt, the integral by Gauss-Legendre on panels that widen
// fourfold from the scale of the rate distribution (E[X(t)] is analytic
// but for a singularity at t = -(alpha+T), so each panel converges fast).
func (m Model) DERT(h History, delta, horizon float64) float64 {
	if !(horizon > 0) {
		return 0
	}
	alive, future := m.Residual(h)
	edges := []float64{0}
	for e := future.Alpha / 2; e < horizon; e *= 4 {
		edges = append(edges, e)
	}
	edges = append(edges, horizon)
	nodes, weights := gaussLegendre()
	ts := make([]float64, 0, (len(edges)-1)*len(nodes)+1)
	ws := make([]float64, 0, cap(ts))
	for i := range edges[1:] {
		lo, hi := edges[i], edges[i+1]
		half, mid := (hi-lo)/2, (hi+lo)/2
		for k, x := range nodes {
			t := mid + half*x
			ts = append(ts, t)
			ws = append(ws, half*weights[k]*delta*math.Exp(-delta*t))
		}
	}
	ts = append(ts, horizon)
	ws = append(ws, math.Exp(-delta*horizon))
	exp := make([]float64, len(ts))
	future.ExpectedPurchasesAt(History{}, ts, exp, nil)
	var sum float64
	for i, e := range exp {
		sum += ws[i] * e
	}
	return alive * sum
}

// gaussLegendre returns the nodes and weights of 8-point Gauss-Legendre
// quadrature on [-1, 1], found once by Newton's method on P_8.
var gaussLegendre = sync.OnceValues(func() ([]float64, []float64) {
	const n = 8
	nodes, weights := make([]float64, n), make([]float64, n)
	for i := range n {
		x := math.Cos(math.Pi * (float64(i) + 0.75) / (n + 0.5))
		var dp float64
		for range 100 {
			p0, p1 := 1.0, x
			for k := 2; k <= n; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*x*p1-float64(k-1)*p0)/float64(k)
			}
			dp = n * (x*p1 - p0) / (x*x - 1)
			dx := p1 / dp
			x -= dx
			if math.Abs(dx) < 1e-16 {
				break
			}
		}
		nodes[i], weights[i] = x, 2/((1-x*x)*dp*dp)
	}
	return nodes, weights
})
