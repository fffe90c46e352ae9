package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// published are the BG/NBD estimates on CDNOW.
var published = model.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

func TestBGNBDPredictions(t *testing.T) {
	t.Parallel()
	// A customer just acquired (no repeat purchase, observed for no time)
	// expects what the prior says; simulate the prior to check the
	// hypergeometric closed form.
	rng := rand.New(rand.NewPCG(5, 6))
	const n, horizon = 200000, 52.0
	var total int
	for range n {
		lambda := gammaSample(rng, published.R) / published.Alpha
		pA := gammaSample(rng, published.A)
		drop := pA / (pA + gammaSample(rng, published.B))
		for now := rng.ExpFloat64() / lambda; now <= horizon; now += rng.ExpFloat64() / lambda {
			total++
			if rng.Float64() < drop {
				break
			}
		}
	}
	simulated := float64(total) / n
	if got := published.ExpectedPurchases(model.History{}, horizon); !within(got, simulated, 0.03) {
		t.Errorf("E[Y(52)] of a new customer = %.4f, simulated %.4f", got, simulated)
	}
	tests := []struct {
		name string
		h    model.History
		want func(p float64) bool
	}{
		{"no repeat purchase is alive", model.History{X: 0, T: 30}, func(p float64) bool { return p == 1 }},
		{"just bought", model.History{X: 3, TX: 30, T: 30}, func(p float64) bool { return p > 0.8 }},
		{"silent for a year after frequent buying", model.History{X: 10, TX: 10, T: 62}, func(p float64) bool { return p < 0.01 }},
	}
	for _, tt := range tests {
		if p := published.PAlive(tt.h); !tt.want(p) {
			t.Errorf("%s: P(alive) = %v", tt.name, p)
		}
	}
	// More time, more purchases; a dead-looking customer expects fewer.
	h := model.History{X: 4, TX: 20, T: 30}
	if a, b := published.ExpectedPurchases(h, 10), published.ExpectedPurchases(h, 20); !(a > 0 && b > a) {
		t.Errorf("E[Y(10)] = %v, E[Y(20)] = %v", a, b)
	}
	if a, b := published.ExpectedPurchases(model.History{X: 4, TX: 29, T: 30}, 10), published.ExpectedPurchases(model.History{X: 4, TX: 5, T: 30}, 10); !(a > b) {
		t.Errorf("recent buyer expects %v, lapsed one %v", a, b)
	}
}

// TestFitRecoversSimulatedParameters simulates BG/NBD customers with known
// parameters and checks the fit finds them again.
func TestFitRecoversSimulatedParameters(t *testing.T) {
	t.Parallel()
	truth := model.BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}
	rng := rand.New(rand.NewPCG(1, 2))
	var hs []model.History
	for range 20000 {
		lambda := gammaSample(rng, truth.R) / truth.Alpha
		pA := gammaSample(rng, truth.A)
		p := pA / (pA + gammaSample(rng, truth.B))
		T := 30.0
		x, tx, now := 0, 0.0, 0.0
		for {
			now += rng.ExpFloat64() / lambda
			if now > T {
				break
			}
			x, tx = x+1, now
			if rng.Float64() < p {
				break
			}
		}
		hs = append(hs, model.History{X: x, TX: tx, T: T})
	}
	fit, err := model.FitBGNBD(hs)
	if err != nil {
		t.Fatal(err)
	}
	got := fit.Params
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", got.R, truth.R}, {"alpha", got.Alpha, truth.Alpha}, {"a", got.A, truth.A}, {"b", got.B, truth.B}} {
		if !within(c.got, c.want, 0.15) {
			t.Errorf("%s = %.3f, simulated with %.3f", c.name, c.got, c.want)
		}
	}
}

// gammaSample draws Gamma(shape, 1) (Marsaglia and Tsang).
func gammaSample(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gammaSample(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := rng.Float64(); math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

func TestGammaGammaExpectedValue(t *testing.T) {
	t.Parallel()
	p := model.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	// The population mean p*gamma/(q-1), and the weighted mean between it
	// and a customer's own mean.
	if m := p.PopulationMean(); math.Abs(m-35.22) > 0.01 {
		t.Errorf("population mean %.3f, want 35.22", m)
	}
	if v := p.ExpectedValue(0, 0); v != p.PopulationMean() {
		t.Errorf("no transaction: %v", v)
	}
	low, high := p.ExpectedValue(10, 10), p.ExpectedValue(10, 100)
	if !(low > 10 && low < 35.22 && high < 100 && high > 35.22) {
		t.Errorf("expected values %v and %v are not shrunk towards the mean", low, high)
	}
}

func TestForecastSeasonalSeries(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	season := []float64{-30, -20, -5, 0, 10, 20, 35, 30, 10, 0, -20, -30}
	truth := func(i int) float64 { return 200 + 2*float64(i) + season[i%12] }
	var ys []float64
	for i := range 48 {
		ys = append(ys, truth(i)+rng.NormFloat64()*3)
	}
	f, err := model.ForecastSeries(ys, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Smoothing.Seasonal || f.Method != model.MethodHoltWinters || f.Fallback != "" || f.HeldOut != 6 {
		t.Fatalf("smoothing %+v, method %q (fallback %q), held out %d", f.Smoothing, f.Method, f.Fallback, f.HeldOut)
	}
	if f.Error.MAPE > 0.05 {
		t.Errorf("held-out MAPE %.3f, want < 5%% on a series with 1.5%% noise", f.Error.MAPE)
	}
	// The trend moves each month 24 above the same month a year before:
	// the model must beat both plain forecasts on the held-out months.
	t.Logf("held-out MAE: model %.1f, seasonal naive %.1f, naive %.1f", f.Error.MAE, f.SeasonalNaive.MAE, f.Naive.MAE)
	if !f.Error.Beats(f.SeasonalNaive) || !f.Error.Beats(f.Naive) {
		t.Errorf("held-out errors: model %+v, seasonal naive %+v, naive %+v", f.Error, f.SeasonalNaive, f.Naive)
	}
	for k, v := range f.Values {
		if want := truth(48 + k); math.Abs(v-want) > 0.06*want {
			t.Errorf("month %d: forecast %.1f, truth %.1f", 48+k, v, want)
		}
	}
	// A short series gets a trend model and no seasonal cycle, and says
	// so; its error is still measured, next to the naive forecast's
	// (there is no year before the held-out months for the seasonal one).
	short, err := model.ForecastSeries(ys[:20], 3)
	if err != nil || short.Smoothing.Seasonal || short.Method != model.MethodHolt || len(short.Values) != 3 {
		t.Fatalf("short series: %+v, %v", short, err)
	}
	if !strings.HasPrefix(short.Fallback, "20 months of history, 30 needed") || short.HeldOut != 5 ||
		!short.Error.Set || !short.Naive.Set || !short.SeasonalNaive.Set {
		t.Errorf("short series: fallback %q, held out %d, errors %+v / %+v / %+v", short.Fallback, short.HeldOut, short.Error, short.Naive, short.SeasonalNaive)
	}
	// 29 months hold out 6 and leave 23 to fit: not two cycles.
	if f, _ := model.ForecastSeries(ys[:29], 3); f.Method != model.MethodHolt || f.Fallback == "" {
		t.Errorf("29 months: method %q, fallback %q", f.Method, f.Fallback)
	}
	if f, _ := model.ForecastSeries(ys[:10], 3); f.SeasonalNaive.Set || !f.Naive.Set {
		t.Errorf("10 months: seasonal naive %+v, naive %+v", f.SeasonalNaive, f.Naive)
	}
	// Every forecast holds a month out at least: three months fit a trend
	// but leave none to measure it.
	if f, err := model.ForecastSeries(ys[:4], 3); err != nil || f.HeldOut != 1 || !f.Error.Set || !f.Naive.Set {
		t.Errorf("four months: %+v, %v", f, err)
	}
	if _, err := model.ForecastSeries(ys[:3], 3); err == nil {
		t.Error("three months forecast without a month to measure it")
	}
}

// TestPredictionsAtTheEdgeOfTheParameterSpace: customers who all buy at
// one rate and never drop out fit r and alpha to huge values and a to
// nearly zero; the predictions must stay finite and tend to the Poisson
// limit, rate r/alpha.
func TestPredictionsAtTheEdgeOfTheParameterSpace(t *testing.T) {
	t.Parallel()
	p := model.BGNBD{R: 4.03e8, Alpha: 2.7467e9, A: 1e-42, B: 2.889e9}
	h := model.History{X: 5, TX: 21.7, T: 27.9}
	got := p.ExpectedPurchases(h, 52)
	if want := p.R / p.Alpha * 52; math.IsNaN(got) || math.Abs(got-want) > 0.01*want {
		t.Errorf("E[Y(52)] = %v, want about %v", got, want)
	}
	if pa := p.PAlive(h); math.IsNaN(pa) || pa < 0.99 {
		t.Errorf("P(alive) = %v, want about 1", pa)
	}
}
