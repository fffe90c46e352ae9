package rpcerr_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

func TestInvalidArgument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		violations []rpcerr.FieldViolation
		wantMsg    string
	}{
		{"none", nil, "invalid argument"},
		{"one", []rpcerr.FieldViolation{{Field: "name", Description: "is required"}}, "invalid argument: name: is required"},
		{"two", []rpcerr.FieldViolation{
			{Field: "name", Description: "is required"}, {Field: "email", Description: "is not an email"},
		},
			"invalid argument: name: is required; email: is not an email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := rpcerr.InvalidArgument(tt.violations...)
			if code := status.Code(fmt.Errorf("wrapped: %w", err)); code != codes.InvalidArgument {
				t.Errorf("wrapped code = %v", code)
			}
			st, ok := status.FromError(err)
			if !ok || st.Code() != codes.InvalidArgument {
				t.Fatalf("status = %v, %v", st, ok)
			}
			if st.Message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", st.Message(), tt.wantMsg)
			}
			got := rpcerr.Violations(err)
			if len(got) != len(tt.violations) {
				t.Fatalf("violations = %v, want %v", got, tt.violations)
			}
			for i := range got {
				if got[i] != tt.violations[i] {
					t.Errorf("violation %d = %v, want %v", i, got[i], tt.violations[i])
				}
			}
		})
	}
}

// TestInvalidArgumentFromValidation checks the one line every port's
// toStatus uses: a domain's violations become the status's details unchanged.
func TestInvalidArgumentFromValidation(t *testing.T) {
	t.Parallel()
	var v validation.Violations
	v.Add("amount_minor", "must be positive")
	var verr *validation.Error
	if !errors.As(v.Nest("interaction.purchase.total").Err(), &verr) {
		t.Fatal("Err() is not a *validation.Error")
	}
	err := rpcerr.InvalidArgument(verr.Violations...)
	want := "invalid argument: interaction.purchase.total.amount_minor: must be positive"
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Errorf("status = %v %q, want InvalidArgument %q", st.Code(), st.Message(), want)
	}
	if got := rpcerr.Violations(err); len(got) != 1 || got[0] != verr.Violations[0] {
		t.Errorf("violations = %v, want %v", got, verr.Violations)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	err := rpcerr.Status(codes.NotFound, "customer not found")
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != "customer not found" {
		t.Fatalf("got %v", err)
	}
}
