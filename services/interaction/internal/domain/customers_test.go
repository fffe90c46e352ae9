package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

const (
	mergedID   = "01890a5d-ac96-774b-bcce-b302099a8001"
	survivorID = "01890a5d-ac96-774b-bcce-b302099a8002"
	thirdID    = "01890a5d-ac96-774b-bcce-b302099a8003"
)

func TestMergeDecide(t *testing.T) {
	t.Parallel()
	m := domain.Merge{MergedID: mergedID, SurvivorID: survivorID}
	tests := []struct {
		name                 string
		mergedInto, survivor string
		wantApply            bool
		wantErr              error
	}{
		{"first time", "", survivorID, true, nil},
		{"survivor merged on since", "", thirdID, true, nil},
		{"applied before", survivorID, survivorID, false, nil},
		{"applied before, survivor merged on since", thirdID, thirdID, false, nil},
		{"merged into another survivor", thirdID, survivorID, false, domain.ErrMergeConflict},
		{"survivor merged into the merged customer", "", mergedID, false, domain.ErrMergeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			apply, err := m.Decide(tt.mergedInto, tt.survivor)
			if apply != tt.wantApply || !errors.Is(err, tt.wantErr) {
				t.Errorf("Decide(%q, %q) = %v, %v; want %v, %v", tt.mergedInto, tt.survivor, apply, err, tt.wantApply, tt.wantErr)
			}
		})
	}
}

func TestMergeAndErasureValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  func() []string
		want []string
	}{
		{"valid merge", func() []string { return fields(domain.Merge{MergedID: mergedID, SurvivorID: survivorID}.Validate()) }, nil},
		{"empty merge", func() []string { return fields(domain.Merge{}.Validate()) }, []string{"merged_customer_id", "survivor_customer_id"}},
		{"merge into itself", func() []string { return fields(domain.Merge{MergedID: mergedID, SurvivorID: mergedID}.Validate()) }, []string{"survivor_customer_id"}},
		{"valid erasure", func() []string { return fields(domain.Erasure{CustomerID: mergedID}.Validate()) }, nil},
		{"erasure of a bad id", func() []string { return fields(domain.Erasure{CustomerID: "x"}.Validate()) }, []string{"customer_id"}},
	}
	for _, tt := range tests {
		if got := tt.got(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: violated fields = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func fields(v validation.Violations) []string {
	var out []string
	for _, x := range v {
		out = append(out, x.Field)
	}
	return out
}
