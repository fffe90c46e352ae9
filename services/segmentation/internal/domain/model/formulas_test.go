package model_test

import (
	"math"
	"testing"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// The published formulas, written out here independently of the model
// package: the Gaussian hypergeometric function by direct summation, the
// BG/NBD expressions of Fader, Hardie and Lee (2005, eqs. 7, 8, 10) and of
// Fader and Hardie's note "Deriving an expression for P(X(t) = x | x, t_x,
// T) for the BG/NBD model", and the MBG/NBD ones of Batislam, Denizel and
// Filiztekin (2007). DERT is integrated by Simpson's rule.

func hyp2f1(a, b, c, z float64) float64 {
	term, sum := 1.0, 1.0
	for j := 0.0; j < 1e6; j++ {
		term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * z
		sum += term
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
	}
	return sum
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// nbd is Γ(r+j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j.
func nbd(r, alpha, t float64, j int) float64 {
	lr, _ := math.Lgamma(r + float64(j))
	l0, _ := math.Lgamma(r)
	lj, _ := math.Lgamma(float64(j) + 1)
	return math.Exp(lr - l0 - lj + r*math.Log(alpha/(alpha+t)) + float64(j)*math.Log(t/(alpha+t)))
}

type formulas struct {
	mbg            bool
	r, alpha, a, b float64
}

func (f formulas) pAlive(x int, tx, T float64) float64 {
	xf := float64(x)
	if f.mbg {
		return 1 / (1 + f.a/(f.b+xf)*math.Pow((f.alpha+T)/(f.alpha+tx), f.r+xf))
	}
	if x == 0 {
		return 1
	}
	return 1 / (1 + f.a/(f.b+xf-1)*math.Pow((f.alpha+T)/(f.alpha+tx), f.r+xf))
}

// unconditional is E[X(t)] of a customer just acquired.
func (f formulas) unconditional(t float64) float64 {
	z := t / (f.alpha + t)
	if f.mbg {
		return f.b / (f.a - 1) * (1 - math.Pow(f.alpha/(f.alpha+t), f.r)*hyp2f1(f.r, f.b+1, f.a+f.b, z))
	}
	return (f.a + f.b - 1) / (f.a - 1) * (1 - math.Pow(f.alpha/(f.alpha+t), f.r)*hyp2f1(f.r, f.b, f.a+f.b-1, z))
}

// conditional is E[X(t) | x, t_x, T].
func (f formulas) conditional(t float64, x int, tx, T float64) float64 {
	xf := float64(x)
	z := t / (f.alpha + T + t)
	pow := math.Pow((f.alpha+T)/(f.alpha+T+t), f.r+xf)
	if f.mbg {
		num := (f.a + f.b + xf) / (f.a - 1) * (1 - pow*hyp2f1(f.r+xf, f.b+xf+1, f.a+f.b+xf, z))
		return num / (1 + f.a/(f.b+xf)*math.Pow((f.alpha+T)/(f.alpha+tx), f.r+xf))
	}
	num := (f.a + f.b + xf - 1) / (f.a - 1) * (1 - pow*hyp2f1(f.r+xf, f.b+xf, f.a+f.b+xf-1, z))
	den := 1.0
	if x > 0 {
		den += f.a / (f.b + xf - 1) * math.Pow((f.alpha+T)/(f.alpha+tx), f.r+xf)
	}
	return num / den
}

// pmf is P(X(t) = n | x, t_x, T): dead (no purchase), or alive with the
// purchase process and dropout updated by the history; with x = t_x = T =
// 0 under BG/NBD it is eq. 8 of the paper.
func (f formulas) pmf(n int, t float64, x int, tx, T float64) float64 {
	xf, nf := float64(x), float64(n)
	r, alpha, b := f.r+xf, f.alpha+T, f.b+xf
	if f.mbg {
		b++
	}
	alive := f.pAlive(x, tx, T)
	p := math.Exp(lbeta(f.a, b+nf)-lbeta(f.a, b)) * nbd(r, alpha, t, n)
	if n > 0 {
		tail := 1.0
		for j := range n {
			tail -= nbd(r, alpha, t, j)
		}
		p += math.Exp(lbeta(f.a+1, b+nf-1)-lbeta(f.a, b)) * tail
	}
	p *= alive
	if n == 0 {
		p += 1 - alive
	}
	return p
}

// dert is ∫_0^H e^(-δt) dE[X(t)|...] = e^(-δH) E(H) + δ ∫_0^H e^(-δt) E(t) dt,
// by Simpson's rule on 2,000 intervals.
func (f formulas) dert(delta, H float64, x int, tx, T float64) float64 {
	const n = 2000
	h := H / n
	g := func(t float64) float64 { return math.Exp(-delta*t) * f.conditional(t, x, tx, T) }
	s := g(0) + g(H)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * g(float64(i)*h)
	}
	return math.Exp(-delta*H)*f.conditional(H, x, tx, T) + delta*s*h/3
}

// TestModelOutputsMatchPublishedFormulas checks P(alive), P(X(t) = n),
// conditional and unconditional E[X(t)] and DERT of both models on CDNOW
// parameters (BG/NBD as published; MBG/NBD as fitted to the same
// calibration data) against the formulas above, to 1e-6.
func TestModelOutputsMatchPublishedFormulas(t *testing.T) {
	t.Parallel()
	models := []model.Model{
		{Kind: model.KindBGNBD, Params: model.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}},
		{Kind: model.KindMBGNBD, Params: model.BGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}},
		// a > 1, b < 1: the other side of the a = 1 pole.
		{Kind: model.KindMBGNBD, Params: model.BGNBD{R: 1.5, Alpha: 20, A: 2.5, B: 0.7}},
	}
	histories := []model.History{{}, {T: 52}, {X: 2, TX: 30.43, T: 38.86}, {X: 1, TX: 1.71, T: 38.86}, {X: 7, TX: 35, T: 38}, {X: 25, TX: 70, T: 78}}
	delta := math.Log(1.1) / (365.25 / 7) // 10% a year, per week
	close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want)) }
	for _, m := range models {
		p := m.Params
		f := formulas{mbg: m.Kind == model.KindMBGNBD, r: p.R, alpha: p.Alpha, a: p.A, b: p.B}
		for _, h := range histories {
			if got, want := m.PAlive(h), f.pAlive(h.X, h.TX, h.T); !close(got, want) {
				t.Errorf("%s %+v: P(alive) %.9f, formula %.9f", m.Kind, p, got, want)
			}
			for _, horizon := range []float64{1, 39, 52, 156} {
				want := f.conditional(horizon, h.X, h.TX, h.T)
				if h == (model.History{}) {
					// The empty history is the unconditional expectation.
					if u := f.unconditional(horizon); !close(u, want) {
						t.Fatalf("%s: the formulas disagree: unconditional %.9f, conditional at x=T=0 %.9f", m.Kind, u, want)
					}
				}
				if got := m.ExpectedPurchases(h, horizon); !close(got, want) {
					t.Errorf("%s %+v %+v: E[X(%v)] %.9f, formula %.9f", m.Kind, p, h, horizon, got, want)
				}
				probs := m.PurchaseProbabilities(h, horizon, 12)
				for n, got := range probs {
					if want := f.pmf(n, horizon, h.X, h.TX, h.T); !close(got, want) {
						t.Errorf("%s %+v %+v: P(X(%v) = %d) %.9f, formula %.9f", m.Kind, p, h, horizon, n, got, want)
					}
				}
				if got, want := m.DERT(h, delta, horizon), f.dert(delta, horizon, h.X, h.TX, h.T); !close(got, want) {
					t.Errorf("%s %+v %+v: DERT over %v weeks %.9f, formula %.9f", m.Kind, p, h, horizon, got, want)
				}
			}
		}
	}
}

// TestPurchaseProbabilitiesSumToExpectation ties P(X(t) = n) to E[X(t)]:
// the probabilities sum to 1 and their mean is the expectation.
func TestPurchaseProbabilitiesSumToExpectation(t *testing.T) {
	t.Parallel()
	m := model.Model{Kind: model.KindMBGNBD, Params: model.BGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}}
	h := model.History{X: 3, TX: 20, T: 39}
	probs := m.PurchaseProbabilities(h, 39, 400)
	var sum, mean float64
	for n, p := range probs {
		sum += p
		mean += float64(n) * p
	}
	if e := m.ExpectedPurchases(h, 39); math.Abs(sum-1) > 1e-9 || math.Abs(mean-e) > 1e-6 {
		t.Errorf("probabilities sum to %.10f with mean %.9f; E[X(39)] %.9f", sum, mean, e)
	}
}

// TestExpectationNearA1 checks the interpolation across the removable
// singularity of the closed form at a = 1.
func TestExpectationNearA1(t *testing.T) {
	t.Parallel()
	h := model.History{X: 2, TX: 10, T: 30}
	at := func(a float64) float64 {
		return model.Model{Kind: model.KindBGNBD, Params: model.BGNBD{R: 0.5, Alpha: 5, A: a, B: 2}}.ExpectedPurchases(h, 52)
	}
	lo, mid, hi := at(1-1e-3), at(1), at(1+1e-3)
	if math.IsNaN(mid) || math.Abs(mid-(lo+hi)/2) > 1e-5 {
		t.Errorf("E at a = 1: %v; at 1 -/+ 1e-3: %v, %v", mid, lo, hi)
	}
}
