package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	def := domain.DefaultCutoffs()
	tests := []struct {
		name  string
		st    domain.Standing
		cut   domain.Cutoffs
		want  domain.Class
		share float64
	}{
		{"top customer", domain.Standing{Spend: 500, Above: 0, Total: 1000}, def, domain.ClassA, 0},
		{"single customer", domain.Standing{Spend: 1, Above: 0, Total: 1}, def, domain.ClassA, 0},
		{"just below 70%", domain.Standing{Spend: 10, Above: 6999, Total: 10000}, def, domain.ClassA, 0.6999},
		{"exactly 70% above is B", domain.Standing{Spend: 10, Above: 7000, Total: 10000}, def, domain.ClassB, 0.7},
		{"exactly 70% of an odd total is B", domain.Standing{Spend: 3, Above: 7 * 333333333333, Total: 10 * 333333333333}, def, domain.ClassB, 0.7},
		{"just below 90%", domain.Standing{Spend: 10, Above: 8999, Total: 10000}, def, domain.ClassB, 0.8999},
		{"exactly 90% above is C", domain.Standing{Spend: 10, Above: 9000, Total: 10000}, def, domain.ClassC, 0.9},
		{"bottom customer", domain.Standing{Spend: 1, Above: 9999, Total: 10000}, def, domain.ClassC, 0.9999},
		{"no spend is C", domain.Standing{Spend: 0, Above: 10000, Total: 10000}, def, domain.ClassC, 1},
		{"no spend anywhere is C", domain.Standing{}, def, domain.ClassC, 0},
		{"custom cut-offs: 50% above is B", domain.Standing{Spend: 10, Above: 50, Total: 100}, domain.Cutoffs{A: 0.5, B: 0.8}, domain.ClassB, 0.5},
		{"custom cut-offs: 49% above is A", domain.Standing{Spend: 10, Above: 49, Total: 100}, domain.Cutoffs{A: 0.5, B: 0.8}, domain.ClassA, 0.49},
		{"custom cut-offs: 79% above is B", domain.Standing{Spend: 10, Above: 79, Total: 100}, domain.Cutoffs{A: 0.5, B: 0.8}, domain.ClassB, 0.79},
		{"custom cut-offs: 80% above is C", domain.Standing{Spend: 10, Above: 80, Total: 100}, domain.Cutoffs{A: 0.5, B: 0.8}, domain.ClassC, 0.8},
		{"B up to 100%: last spender is B", domain.Standing{Spend: 1, Above: 99, Total: 100}, domain.Cutoffs{A: 0.5, B: 1}, domain.ClassB, 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.Classify(tt.st, tt.cut); got != tt.want {
				t.Errorf("Classify(%+v, %+v) = %v, want %v", tt.st, tt.cut, got, tt.want)
			}
			if got := tt.st.ShareAbove(); got != tt.share {
				t.Errorf("ShareAbove(%+v) = %v, want %v", tt.st, got, tt.share)
			}
		})
	}
}

// TestClassifyRanking runs the rule over whole populations, computing each
// customer's standing the way the store does (strictly greater spend is
// ranked above), so ties and the population edge cases are covered end to
// end.
func TestClassifyRanking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spends []int64
		cut    domain.Cutoffs
		want   []domain.Class
	}{
		{"single customer", []int64{42}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA}},
		{"70/20/10", []int64{70, 20, 10}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassB, domain.ClassC}},
		{"ties share a class", []int64{40, 40, 10, 10}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassA, domain.ClassB, domain.ClassB}},
		{"a tie straddling 70% stays A", []int64{60, 20, 20}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassA, domain.ClassA}},
		{"a tie straddling 90% stays B", []int64{80, 5, 5, 5, 5}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassB, domain.ClassB, domain.ClassB, domain.ClassB}},
		{"all equal are all A", []int64{5, 5, 5, 5}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA}},
		{"no spend is C", []int64{100, 0}, domain.DefaultCutoffs(), []domain.Class{domain.ClassA, domain.ClassC}},
		{"nobody spent", []int64{0, 0}, domain.DefaultCutoffs(), []domain.Class{domain.ClassC, domain.ClassC}},
		{"ten equal steps", []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, domain.DefaultCutoffs(),
			[]domain.Class{domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA}},
		{"ten steps down", []int64{19, 17, 15, 13, 11, 9, 7, 5, 3, 1}, domain.DefaultCutoffs(),
			// cumulative above: 0 19 36 51 64 75 84 91 96 99 of 100
			[]domain.Class{domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassB, domain.ClassB, domain.ClassC, domain.ClassC, domain.ClassC}},
		{"custom 50/80", []int64{19, 17, 15, 13, 11, 9, 7, 5, 3, 1}, domain.Cutoffs{A: 0.5, B: 0.8},
			[]domain.Class{domain.ClassA, domain.ClassA, domain.ClassA, domain.ClassB, domain.ClassB, domain.ClassB, domain.ClassC, domain.ClassC, domain.ClassC, domain.ClassC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var total int64
			for _, s := range tt.spends {
				total += s
			}
			for i, s := range tt.spends {
				var above int64
				for _, o := range tt.spends {
					if o > s {
						above += o
					}
				}
				got := domain.Classify(domain.Standing{Spend: s, Above: above, Total: total}, tt.cut)
				if got != tt.want[i] {
					t.Errorf("customer %d (spend %d, above %d of %d): class %v, want %v", i, s, above, total, got, tt.want[i])
				}
			}
		})
	}
}

func TestCutoffsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cut domain.Cutoffs
		ok  bool
	}{
		{domain.DefaultCutoffs(), true},
		{domain.Cutoffs{A: 0.5, B: 1}, true},
		{domain.Cutoffs{A: 0, B: 0.9}, false},
		{domain.Cutoffs{A: -0.1, B: 0.9}, false},
		{domain.Cutoffs{A: 0.9, B: 0.9}, false},
		{domain.Cutoffs{A: 0.9, B: 0.7}, false},
		{domain.Cutoffs{A: 0.7, B: 1.01}, false},
	}
	for _, tt := range tests {
		if err := tt.cut.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.cut, err, tt.ok)
		}
	}
}

func TestPurchaseValidate(t *testing.T) {
	t.Parallel()
	good := domain.Purchase{
		InteractionID: "01890a5d-ac96-774b-bcce-b302099a8057",
		CustomerID:    "01890a5d-ac96-774b-bcce-b302099a8058",
		Amount:        domain.Money{Currency: "CNY", Minor: 100},
		OccurTime:     time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	}
	tests := []struct {
		name  string
		edit  func(p *domain.Purchase)
		field string
	}{
		{"valid", func(*domain.Purchase) {}, ""},
		{"bad interaction id", func(p *domain.Purchase) { p.InteractionID = "x" }, "interaction_id"},
		{"braced customer id", func(p *domain.Purchase) { p.CustomerID = "{" + p.CustomerID + "}" }, "customer_id"},
		{"lowercase currency", func(p *domain.Purchase) { p.Amount.Currency = "cny" }, "total.currency_code"},
		{"negative amount", func(p *domain.Purchase) { p.Amount.Minor = -1 }, "total.amount_minor"},
		{"no time", func(p *domain.Purchase) { p.OccurTime = time.Time{} }, "occur_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := good
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			verr, ok := err.(*validation.Error)
			if !ok || len(verr.Violations) != 1 || verr.Violations[0].Field != tt.field {
				t.Fatalf("Validate() = %v, want one violation of %s", err, tt.field)
			}
		})
	}
}
