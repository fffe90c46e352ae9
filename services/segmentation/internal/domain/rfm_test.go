package domain_test

import (
	"math"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

func TestQuintiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []float64
		probe  []float64
		want   []int
	}{
		{"ten distinct values, two per score", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 11}, []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 1, 5}},
		// Most customers bought once: they share the lowest score rather
		// than spreading over three by an arbitrary order.
		{"ties take the lower score", []float64{1, 1, 1, 1, 1, 1, 2, 2, 5, 9},
			[]float64{1, 2, 5, 9}, []int{1, 4, 5, 5}},
		{"everyone equal", []float64{3, 3, 3, 3}, []float64{3, 4, 2}, []int{1, 1, 1}},
		{"no population", nil, []float64{3}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := domain.NewQuintiles(tt.values)
			for i, v := range tt.probe {
				if got := q.Score(v); got != tt.want[i] {
					t.Errorf("bounds %v: score(%v) = %d, want %d", q, v, got, tt.want[i])
				}
			}
		})
	}
}

func TestRFMSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r, f, m int
		want    string
	}{
		{5, 5, 5, domain.RFMChampions},
		{5, 4, 3, domain.RFMChampions}, // FM rounds half up to 4
		{4, 5, 5, domain.RFMLoyal},
		{3, 4, 4, domain.RFMLoyal},
		{5, 2, 3, domain.RFMPotentialLoyalists},
		{5, 1, 1, domain.RFMNewCustomers},
		{4, 1, 1, domain.RFMPromising},
		{3, 3, 3, domain.RFMNeedAttention},
		{3, 1, 2, domain.RFMAboutToSleep},
		{2, 3, 4, domain.RFMAtRisk},
		{1, 5, 5, domain.RFMCannotLoseThem},
		{2, 1, 2, domain.RFMHibernating},
		{1, 1, 1, domain.RFMLost},
		{0, 0, 0, ""},
	}
	for _, tt := range tests {
		if got := domain.RFMSegment(tt.r, tt.f, tt.m); got != tt.want {
			t.Errorf("RFMSegment(%d, %d, %d) = %q, want %q", tt.r, tt.f, tt.m, got, tt.want)
		}
	}
	// Every cell of the grid has a name.
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				if domain.RFMSegment(r, f, m) == "" {
					t.Errorf("RFMSegment(%d, %d, %d) has no name", r, f, m)
				}
			}
		}
	}
}

func TestRankAndParetoSummary(t *testing.T) {
	t.Parallel()
	spends := []int64{10, 70, 0, 20, -5}
	classes, shares := domain.Rank(spends, domain.DefaultCutoffs())
	want := []domain.Class{domain.ClassC, domain.ClassA, domain.ClassC, domain.ClassB, domain.ClassC}
	for i := range spends {
		if classes[i] != want[i] {
			t.Errorf("spend %d: class %v, want %v", spends[i], classes[i], want[i])
		}
	}
	if shares[3] != 0.7 || shares[1] != 0 {
		t.Errorf("shares %v", shares)
	}
	sum := domain.NewParetoSummary(spends, domain.DefaultCutoffs())
	if sum.Customers != 5 || sum.Revenue != 100 || sum.Classes[0].RevenueShare != 0.7 || sum.Classes[0].CustomerShare != 0.2 ||
		sum.Classes[2].Customers != 3 || sum.Top20Share != 0.7 {
		t.Errorf("summary %+v", sum)
	}
}

func TestPredict(t *testing.T) {
	t.Parallel()
	fit := domain.ModelFit{
		BGNBD: model.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
		Spend: model.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44},
	}
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	f := domain.Facts{PurchaseCount: 5, PurchaseDays: 5, SpendDays: 5, First: now.AddDate(0, -6, 0), Last: now.AddDate(0, 0, -7),
		Lifetime: 25000, RepeatSpend: 20000}
	p := domain.DefaultPredictionPolicy("CNY")
	pr, ok := p.Predict(fit, f, now)
	if !ok || !(pr.PAlive > 0.5 && pr.PAlive < 1) || !(pr.ExpectedPurchases > 0) || !(pr.CLV > 0) {
		t.Fatalf("prediction %+v, %v", pr, ok)
	}
	// The expected order value sits between the customer's mean (50 yuan)
	// and the population's (35.22 yuan).
	if pr.ExpectedAOV < 3522 || pr.ExpectedAOV > 5000 {
		t.Errorf("expected order value %v minor units", pr.ExpectedAOV)
	}
	// No discount and a longer horizon are worth more; a margin less.
	undiscounted, longer, margin := p, p, p
	undiscounted.AnnualDiscount = 0
	longer.CLVMonths = 60
	margin.Margin = 0.3
	for name, q := range map[string]domain.PredictionPolicy{"undiscounted": undiscounted, "longer": longer} {
		if other, _ := q.Predict(fit, f, now); !(other.CLV > pr.CLV) {
			t.Errorf("%s CLV %v, not above %v", name, other.CLV, pr.CLV)
		}
	}
	if other, _ := margin.Predict(fit, f, now); math.Abs(other.CLV-0.3*pr.CLV) > 1e-6*pr.CLV {
		t.Errorf("30%% margin CLV %v, want %v", other.CLV, 0.3*pr.CLV)
	}
	if _, ok := p.Predict(fit, domain.Facts{}, now); ok {
		t.Error("a customer without purchases got a prediction")
	}
	if _, ok := p.Predict(domain.ModelFit{}, f, now); ok {
		t.Error("a prediction without a fit")
	}
}
