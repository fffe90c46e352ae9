package rpcerr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

var errMissing = errors.New("missing")

type limitError struct{ Reason string }

func (e *limitError) Error() string { return "limit: " + e.Reason }

func TestMap(t *testing.T) {
	t.Parallel()
	rules := []rpcerr.Rule{
		rpcerr.Invalid(),
		rpcerr.AsFunc(codes.FailedPrecondition, func(e *limitError) string { return e.Reason }),
		rpcerr.Is(errMissing, codes.NotFound),
		rpcerr.IsMessage(errMissing, codes.Internal, "never: the rule above wins"),
		rpcerr.Context(),
	}
	var v validation.Violations
	v.Add("name", "is required")
	unmapped := errors.New("disk on fire")
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"sentinel keeps whole text", fmt.Errorf("get thing: %w", errMissing), codes.NotFound, "get thing: missing"},
		{"type gives its own message", fmt.Errorf("redeem: %w", &limitError{Reason: "too many"}), codes.FailedPrecondition, "too many"},
		{"validation", v.Err(), codes.InvalidArgument, "invalid argument: name: is required"},
		{"context", fmt.Errorf("list: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "list: context deadline exceeded"},
	}
	for _, tt := range tests {
		st := status.Convert(rpcerr.Map(tt.err, rules...))
		if st.Code() != tt.code || st.Message() != tt.msg {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, st.Code(), st.Message(), tt.code, tt.msg)
		}
	}
	if got := rpcerr.Map(unmapped, rules...); got != unmapped {
		t.Errorf("unmapped error = %v, want it unchanged", got)
	}
	if rpcerr.Map(nil, rules...) != nil {
		t.Error("Map(nil) != nil")
	}
}

func TestAsUsesMatchedErrorText(t *testing.T) {
	t.Parallel()
	err := rpcerr.Map(fmt.Errorf("outer: %w", &limitError{Reason: "x"}), rpcerr.As[*limitError](codes.ResourceExhausted))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "limit: x" {
		t.Errorf("got %v %q", st.Code(), st.Message())
	}
}
