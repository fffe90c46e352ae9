package domain_test

import (
	"errors"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
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
	var verr *validation.Error
	if err := (domain.Merge{MergedID: mergedID, SurvivorID: survivorID}).Validate().Err(); err != nil {
		t.Errorf("valid merge: %v", err)
	}
	for _, m := range []domain.Merge{{}, {MergedID: mergedID, SurvivorID: mergedID}, {MergedID: "x", SurvivorID: survivorID}} {
		if err := m.Validate().Err(); !errors.As(err, &verr) {
			t.Errorf("merge %+v: err = %v, want a validation error", m, err)
		}
	}
	if err := (domain.Erasure{CustomerID: mergedID}).Validate().Err(); err != nil {
		t.Errorf("valid erasure: %v", err)
	}
	if err := (domain.Erasure{}).Validate().Err(); !errors.As(err, &verr) {
		t.Errorf("erasure without id: err = %v, want a validation error", err)
	}
}
