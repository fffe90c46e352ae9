package customer_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// clientAs is a client of h's service calling as id.
func (h harness) clientAs(t *testing.T, id auth.Identity) customerv1.CustomerServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAs(t, h.auth, id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return customerv1.NewCustomerServiceClient(conn)
}

// TestTeamScope: agents and managers see and change only the customers they
// or their teams own; a customer of another team reads as NotFound, never
// PermissionDenied, so ids cannot be probed. Read-only roles see everyone;
// exports need the export permission and keep the scope.
func TestTeamScope(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		own := func(name, owner, team string) string {
			return h.create(t, &customerv1.Customer{DisplayName: name, OwnerId: owner, TeamId: team}).GetId()
		}
		mine := own("Mine", "agent-li", "north")         // agent-li's own
		team := own("Teammate's", "agent-zhao", "north") // agent-li's team's
		mineElsewhere := own("Mine, other team", "agent-li", "")
		other := own("Other team's", "agent-wu", "south")
		ownerless := own("Nobody's team", "agent-sun", "")

		li := h.clientAs(t, auth.Identity{Subject: "agent-li", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}})
		list := func(c customerv1.CustomerServiceClient) []string {
			resp, err := c.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range resp.GetCustomers() {
				ids = append(ids, c.GetId())
			}
			slices.Sort(ids)
			return ids
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

		if got, want := list(li), sorted(mine, team, mineElsewhere); !slices.Equal(got, want) {
			t.Errorf("agent lists %v, want their own and their team's %v", got, want)
		}
		for _, id := range []string{mine, team, mineElsewhere} {
			if _, err := li.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: id}); err != nil {
				t.Errorf("agent GetCustomer(%s): %v", id, err)
			}
		}
		for _, id := range []string{other, ownerless} {
			_, err := li.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: id})
			wantCode(t, err, codes.NotFound)
			_, err = li.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: unknownID})
			wantCode(t, err, codes.NotFound)
			_, err = li.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: id, DisplayName: "taken"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			wantCode(t, err, codes.NotFound)
			_, err = li.DeleteCustomer(callCtx(t), &customerv1.DeleteCustomerRequest{Id: id})
			wantCode(t, err, codes.NotFound)
			_, err = li.ListRelationships(callCtx(t), &customerv1.ListRelationshipsRequest{CustomerId: id})
			wantCode(t, err, codes.NotFound)
		}
		if got := h.get(t, other).GetDisplayName(); got != "Other team's" {
			t.Errorf("another team's customer was changed: %q", got)
		}

		manager := h.clientAs(t, auth.Identity{Subject: "mgr-qian", Roles: []auth.Role{auth.Manager}, Teams: []string{"south", "west"}})
		if got, want := list(manager), sorted(other); !slices.Equal(got, want) {
			t.Errorf("manager of south and west lists %v, want %v", got, want)
		}
		_, err := manager.MergeCustomers(callCtx(t), &customerv1.MergeCustomersRequest{SurvivorCustomerId: other, MergedCustomerId: team})
		wantCode(t, err, codes.NotFound)

		analyst := h.clientAs(t, auth.Identity{Subject: "ana", Roles: []auth.Role{auth.Analyst}})
		if got, want := list(analyst), sorted(mine, team, mineElsewhere, other, ownerless); !slices.Equal(got, want) {
			t.Errorf("analyst lists %v, want everyone %v", got, want)
		}

		export := func(c customerv1.CustomerServiceClient) ([]string, error) {
			stream, err := c.ExportCustomers(callCtx(t), &customerv1.ExportCustomersRequest{})
			if err != nil {
				return nil, err
			}
			var ids []string
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					slices.Sort(ids)
					return ids, nil
				}
				if err != nil {
					return nil, err
				}
				for _, c := range resp.GetCustomers() {
					ids = append(ids, c.GetId())
				}
			}
		}
		_, err = export(li)
		wantCode(t, err, codes.PermissionDenied)
		exporter := h.clientAs(t, auth.Identity{Subject: "agent-li", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}, Permissions: []string{auth.PermissionExport}})
		got, err := export(exporter)
		if err != nil {
			t.Fatal(err)
		}
		if want := sorted(mine, team, mineElsewhere); !slices.Equal(got, want) {
			t.Errorf("agent with the export permission exported %v, want their scope %v", got, want)
		}
		entries := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{})
		found := false
		for _, e := range entries {
			if e.GetAction() == "ExportCustomers" && e.GetActor() == "agent-li" {
				found = true
				if want := "returned=3"; !strings.Contains(e.GetDetail(), want) {
					t.Errorf("export audited as %q, want the row count %s", e.GetDetail(), want)
				}
			}
		}
		if !found {
			t.Error("the agent's export was not audited")
		}
	})
}
