package auth

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestCustomerScope: a limited caller's customer is
// checked at the customer service with the caller's token, once within
// scopeTTL; a customer out of scope ends the call NotFound; callers who
// see all are not checked; without a customer service limited callers are
// refused.
func TestCustomerScope(t *testing.T) {
	t.Parallel()
	var reads []string
	scope := NewCustomerScope(func(ctx context.Context, id string) error {
		md, _ := metadata.FromOutgoingContext(ctx)
		reads = append(reads, id+" as "+md.Get("authorization")[0])
		if id == "theirs" {
			return status.Error(codes.NotFound, "customer theirs not found")
		}
		return nil
	})
	agent := NewContext(metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer agent-token")),
		Identity{Subject: "a1", Roles: []Role{Agent}, Teams: []string{"north"}})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		id   string
		want codes.Code
	}{
		{"own customer", agent, "ours", codes.OK},
		{"own customer again, remembered", agent, "ours", codes.OK},
		{"another team's", agent, "theirs", codes.NotFound},
		{"an admin is not checked", NewContext(context.Background(), Identity{Subject: "root", Roles: []Role{Admin}}), "theirs", codes.OK},
	} {
		err := scope.checkIDs(tc.ctx, []string{tc.id})
		if got := status.Code(err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if want := []string{"ours as Bearer agent-token", "theirs as Bearer agent-token"}; len(reads) != 2 || reads[0] != want[0] || reads[1] != want[1] {
		t.Errorf("reads %v, want %v", reads, want)
	}
	if err := NewCustomerScope(nil).checkIDs(agent, []string{"ours"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("without a customer service: %v, want PermissionDenied", err)
	}
}
