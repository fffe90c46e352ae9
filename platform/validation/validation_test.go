package validation_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

func TestViolations(t *testing.T) {
	t.Parallel()
	type add struct{ field, description string }
	tests := []struct {
		name    string
		adds    []add
		nest    []string // applied in order, innermost first
		want    validation.Violations
		wantMsg string // "" means Err must be nil
	}{
		{name: "none"},
		{name: "none nested", nest: []string{"interaction"}},
		{
			name:    "one",
			adds:    []add{{"customer_id", "is required"}},
			want:    validation.Violations{{Field: "customer_id", Description: "is required"}},
			wantMsg: "invalid input: customer_id: is required",
		},
		{
			name: "two in order",
			adds: []add{{"display_name", "is required"}, {"tags[2]", "must not be empty"}},
			want: validation.Violations{
				{Field: "display_name", Description: "is required"},
				{Field: "tags[2]", Description: "must not be empty"},
			},
			wantMsg: "invalid input: display_name: is required; tags[2]: must not be empty",
		},
		{
			name:    "nested twice",
			adds:    []add{{"amount_minor", "must be positive"}},
			nest:    []string{"purchase.total", "interaction"},
			want:    validation.Violations{{Field: "interaction.purchase.total.amount_minor", Description: "must be positive"}},
			wantMsg: "invalid input: interaction.purchase.total.amount_minor: must be positive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v validation.Violations
			for _, a := range tt.adds {
				v.Add(a.field, a.description)
			}
			for _, p := range tt.nest {
				v = v.Nest(p)
			}
			if !slices.Equal(v, tt.want) {
				t.Errorf("violations = %v, want %v", v, tt.want)
			}
			err := v.Err()
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			var verr *validation.Error
			if !errors.As(fmt.Errorf("wrapped: %w", err), &verr) {
				t.Fatalf("Err() = %T, want *validation.Error through wrapping", err)
			}
			if !slices.Equal(verr.Violations, tt.want) {
				t.Errorf("Error.Violations = %v, want %v", verr.Violations, tt.want)
			}
			if got := err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestNestLeavesOriginal(t *testing.T) {
	t.Parallel()
	var v validation.Violations
	v.Add("total", "is required")
	_ = v.Nest("purchase")
	if v[0].Field != "total" {
		t.Errorf("Nest changed its receiver: %v", v)
	}
}

func TestErrorWithoutViolations(t *testing.T) {
	t.Parallel()
	if got := (&validation.Error{}).Error(); got != "invalid input" {
		t.Errorf("Error() = %q, want %q", got, "invalid input")
	}
}
