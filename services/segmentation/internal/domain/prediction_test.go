package domain_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// TestCLVIsDERTTimesSpendTimesMargin: CLV is DERT x expected order value
// x margin; undiscounted, DERT is the expected purchases over the horizon;
// discounted, less.
func TestCLVIsDERTTimesSpendTimesMargin(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	f := domain.Facts{PurchaseCount: 3, PurchaseDays: 3, First: now.AddDate(0, -8, 0), Last: now.AddDate(0, -1, 0), Lifetime: 9000, RepeatSpend: 6000}
	for _, kind := range []model.Kind{model.KindBGNBD, model.KindMBGNBD} {
		fit := domain.ModelFit{Model: kind, BGNBD: model.BGNBD{R: 0.5, Alpha: 6, A: 0.9, B: 1.6}, Spend: model.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}}
		p := domain.DefaultPredictionPolicy("CNY")
		p.Margin = 0.4
		pr, ok := p.Predict(fit, f, now)
		if !ok || pr.Model != kind || math.Abs(pr.CLV-pr.DERT*pr.ExpectedAOV*0.4) > 1e-9*pr.CLV {
			t.Fatalf("%s: %+v, %v", kind, pr, ok)
		}
		p.AnnualDiscount = 0
		flat, _ := p.Predict(fit, f, now)
		h := f.History(now, 100)
		if e := fit.Counts().ExpectedPurchases(h, 36*365.25/12/7); math.Abs(flat.DERT-e) > 1e-9 || !(pr.DERT < flat.DERT) {
			t.Errorf("%s: undiscounted DERT %v, E[X(36 months)] %v; discounted %v", kind, flat.DERT, e, pr.DERT)
		}
	}
}

func TestFitWarningsAndModelSetting(t *testing.T) {
	t.Parallel()
	fit := domain.ModelFit{BGNBD: model.BGNBD{R: 0.5, Alpha: 6, A: 0.9, B: 1.6}, Spend: model.GammaGamma{P: 2, Q: 0.8, Gamma: 10}}
	w := strings.Join(fit.Warnings(), "\n")
	if !strings.Contains(w, "a <= 1") || !strings.Contains(w, "q <= 1") || fit.Counts().Kind != model.KindBGNBD {
		t.Errorf("warnings %q, model %s", w, fit.Counts().Kind)
	}
	fit.BGNBD.A, fit.Spend.Q = 2, 3
	if w := fit.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q inside the parameter space", w)
	}
	p := domain.DefaultPredictionPolicy("CNY")
	p.Model = "pareto"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("model setting pareto: %v", err)
	}
}
