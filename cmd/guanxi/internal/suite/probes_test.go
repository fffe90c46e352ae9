package suite_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// probe is one request of the issue's probing, sent through REST and
// straight over gRPC.
type probe struct {
	name               string
	method, path, body string
	grpc               func(ctx context.Context) error
}

// fields returns the fields a gRPC error's BadRequest names.
func fields(err error) []string {
	var out []string
	for _, v := range rpcerr.Violations(err) {
		out = append(out, v.Field)
	}
	return out
}

// TestNULInTextIsRefused: a NUL character in a display name, a summary, an
// order id, a list query or a segment name is bad input (400 naming the
// field; gRPC InvalidArgument with a field violation), not a 500 from
// PostgreSQL or a value stored as is by SQLite.
func TestNULInTextIsRefused(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"Ada"}`)["id"].(string)
	customers := customerv1.NewCustomerServiceClient(adminConn(t, e, "customer"))
	interactions := interactionv1.NewInteractionServiceClient(adminConn(t, e, "interaction"))
	segments := segmentationv1.NewSegmentationServiceClient(adminConn(t, e, "segmentation"))
	total := &typev1.Money{CurrencyCode: "CNY", AmountMinor: 100}

	tests := []struct {
		probe
		field string
	}{
		{probe{"display name", "POST", "/v1/customers", `{"displayName":"A\u0000da"}`, func(ctx context.Context) error {
			_, err := customers.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "A\x00da"}})
			return err
		}}, "customer.display_name"},
		{probe{"summary", "POST", "/v1/interactions",
			`{"customerId":"` + id + `","kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_PHONE","summary":"called\u0000"}`,
			func(ctx context.Context) error {
				_, err := interactions.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: &interactionv1.Interaction{
					CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Channel: interactionv1.Channel_CHANNEL_PHONE, Summary: "called\x00"}})
				return err
			}}, "interaction.summary"},
		{probe{"order id", "POST", "/v1/interactions", purchaseBody(id, `POS\u0000-1`, "100"), func(ctx context.Context) error {
			_, err := interactions.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: &interactionv1.Interaction{
				CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE, Channel: interactionv1.Channel_CHANNEL_IN_PERSON,
				Purchase: &interactionv1.Purchase{OrderId: "POS\x00-1", Total: total}}})
			return err
		}}, "interaction.purchase.order_id"},
		{probe{"list query", "GET", "/v1/customers?query=A%00da", "", func(ctx context.Context) error {
			_, err := customers.ListCustomers(ctx, &customerv1.ListCustomersRequest{Query: "A\x00da"})
			return err
		}}, "query"},
		{probe{"segment name", "POST", "/v1/segments", `{"name":"vip\u0000","filter":"abc_class = \"A\""}`, func(ctx context.Context) error {
			_, err := segments.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Name: "vip\x00", Filter: `abc_class = "A"`}})
			return err
		}}, "segment.name"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/REST", func(t *testing.T) {
			api.t = t
			code, out := api.do(tc.method, tc.path, tc.body)
			if msg, _ := out["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, tc.field) {
				t.Errorf("status %d %v, want 400 naming %s", code, out, tc.field)
			}
		})
		t.Run(tc.name+"/gRPC", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tc.grpc(ctx)
			if status.Code(err) != codes.InvalidArgument || !slices.Contains(fields(err), tc.field) {
				t.Errorf("got %v (fields %v), want InvalidArgument on %s", err, fields(err), tc.field)
			}
		})
	}
}

// TestEndedTokenIsRefused: a token ended 10 seconds ago is refused through
// REST (401) and gRPC (Unauthenticated); the leeway for clock skew is 5
// seconds, no longer 30. One that ends in a minute works.
func TestEndedTokenIsRefused(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	admin := auth.Identity{Subject: testActor, Roles: []auth.Role{auth.Admin}}
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		ok   bool
	}{
		{"ended 10s ago", -10 * time.Second, false},
		{"ends in a minute", time.Minute, true},
	} {
		token, err := auth.Issue(e.Auth, admin, tc.ttl)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.name+"/REST", func(t *testing.T) {
			c := client{t: t, base: e.HTTP, token: token}
			code, body := c.raw("GET", "/v1/customers", "")
			if ok := code == http.StatusOK; ok != tc.ok || !ok && code != http.StatusUnauthorized {
				t.Errorf("status %d %s, want accepted = %v (401 when not)", code, body, tc.ok)
			}
		})
		t.Run(tc.name+"/gRPC", func(t *testing.T) {
			conn, err := grpcclient.Dial(serviceAddr(t, e, "customer"), grpc.WithPerRPCCredentials(auth.Token(token)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = customerv1.NewCustomerServiceClient(conn).ListCustomers(ctx, &customerv1.ListCustomersRequest{})
			if ok := err == nil; ok != tc.ok || !ok && status.Code(err) != codes.Unauthenticated {
				t.Errorf("got %v, want accepted = %v (Unauthenticated when not)", err, tc.ok)
			}
		})
	}
}

// TestDuplicateOutsideTheTeamIsNotNamed: a contact of another team's
// customer is refused (409) without that customer's id, also when
// duplicates are allowed, through REST and gRPC, and each refused attempt is
// in that customer's audit log; a duplicate within the team still names
// the customer, so it can be opened and merged.
func TestDuplicateOutsideTheTeamIsNotNamed(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	admin := adminClient(t, e)
	theirs := admin.mustDo("POST", "/v1/customers",
		`{"displayName":"南方客户","phone":"+8613800138111","email":"nan@example.cn","ownerId":"agent-nan","teamId":"south"}`)["id"].(string)
	ours := admin.mustDo("POST", "/v1/customers",
		`{"displayName":"北方客户","phone":"+8613800138222","ownerId":"agent-bei","teamId":"north"}`)["id"].(string)
	agentID := auth.Identity{Subject: "agent-zhou", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}}
	agent := clientAs(t, e, agentID)
	customers := customerv1.NewCustomerServiceClient(dialAs(t, e, "customer", agentID))

	probes := []probe{
		{"phone", "POST", "/v1/customers", `{"displayName":"试探","phone":"+8613800138111","teamId":"north"}`, func(ctx context.Context) error {
			_, err := customers.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "试探", Phone: "+8613800138111", TeamId: "north"}})
			return err
		}},
		{"phone added by an update", "PATCH", "/v1/customers/" + ours + "?updateMask=phone", `{"phone":"+8613800138111"}`, func(ctx context.Context) error {
			_, err := customers.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{Customer: &customerv1.Customer{Id: ours, Phone: "+8613800138111"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}}})
			return err
		}},
		{"email allowed as duplicate", "POST", "/v1/customers?allowDuplicate=true", `{"displayName":"试探","email":"nan@example.cn"}`, func(ctx context.Context) error {
			_, err := customers.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "试探", Email: "nan@example.cn"}, AllowDuplicate: true})
			return err
		}},
	}
	for _, tc := range probes {
		t.Run(tc.name+"/REST", func(t *testing.T) {
			agent.t = t
			code, body := agent.raw(tc.method, tc.path, tc.body)
			if code != http.StatusConflict || strings.Contains(string(body), theirs) {
				t.Errorf("status %d %s, want 409 not naming %s", code, body, theirs)
			}
		})
		t.Run(tc.name+"/gRPC", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tc.grpc(ctx)
			if status.Code(err) != codes.AlreadyExists || strings.Contains(err.Error(), theirs) {
				t.Errorf("got %v, want AlreadyExists not naming %s", err, theirs)
			}
		})
	}
	entries, _ := admin.mustDo("GET", "/v1/auditEntries?customerId="+theirs, "")["entries"].([]any)
	refused := 0
	for _, raw := range entries {
		en := raw.(map[string]any)
		if en["actor"] == agentID.Subject && strings.HasPrefix(en["detail"].(string), "refused") &&
			(en["action"] == "CreateCustomer" || en["action"] == "UpdateCustomer") {
			refused++
		}
	}
	if refused != 2*len(probes) {
		t.Errorf("%d refused attempts audited on the other team's customer, want %d: %v", refused, 2*len(probes), entries)
	}
	// Within the team the duplicate names the customer.
	if code, body := agent.raw("POST", "/v1/customers", `{"displayName":"重复","phone":"+8613800138222"}`); code != http.StatusConflict || !strings.Contains(string(body), ours) {
		t.Errorf("duplicate within the team: %d %s, want 409 naming %s", code, body, ours)
	}
}

// TestCustomersStayInTheCallersTeams: an agent cannot create a customer in
// another team's team_id nor move one there, and a manager cannot transfer
// customers to a team they do not lead (403 naming the field, through REST
// and gRPC); their own teams work.
func TestCustomersStayInTheCallersTeams(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	admin := adminClient(t, e)
	agentID := auth.Identity{Subject: "agent-zhou", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}}
	managerID := auth.Identity{Subject: "mgr-bei", Roles: []auth.Role{auth.Manager}, Teams: []string{"north"}}
	agent, manager := clientAs(t, e, agentID), clientAs(t, e, managerID)
	agentRPC := customerv1.NewCustomerServiceClient(dialAs(t, e, "customer", agentID))
	managerRPC := customerv1.NewCustomerServiceClient(dialAs(t, e, "customer", managerID))
	mine := agent.mustDo("POST", "/v1/customers", `{"displayName":"北方新客","teamId":"north"}`)
	admin.mustDo("POST", "/v1/customers", `{"displayName":"北方老客","ownerId":"agent-bei","teamId":"north"}`)

	tests := []struct {
		probe
		client client
		field  string
	}{
		{probe{"create in another team", "POST", "/v1/customers", `{"displayName":"越界","teamId":"south"}`, func(ctx context.Context) error {
			_, err := agentRPC.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "越界", TeamId: "south"}})
			return err
		}}, agent, "customer.team_id"},
		{probe{"move to another team", "PATCH", "/v1/customers/" + mine["id"].(string) + "?updateMask=teamId", `{"teamId":"south"}`, func(ctx context.Context) error {
			_, err := agentRPC.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{Customer: &customerv1.Customer{Id: mine["id"].(string), TeamId: "south"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"team_id"}}})
			return err
		}}, agent, "customer.team_id"},
		{probe{"transfer to another team", "POST", "/v1/customers:transferOwnership", `{"fromOwnerId":"agent-bei","toOwnerId":"agent-nan","toTeamId":"south","reason":"x"}`, func(ctx context.Context) error {
			_, err := managerRPC.TransferOwnership(ctx, &customerv1.TransferOwnershipRequest{FromOwnerId: "agent-bei", ToOwnerId: "agent-nan", ToTeamId: "south", Reason: "x"})
			return err
		}}, manager, "to_team_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/REST", func(t *testing.T) {
			tc.client.t = t
			code, out := tc.client.do(tc.method, tc.path, tc.body)
			if msg, _ := out["message"].(string); code != http.StatusForbidden || !strings.Contains(msg, tc.field) {
				t.Errorf("status %d %v, want 403 naming %s", code, out, tc.field)
			}
		})
		t.Run(tc.name+"/gRPC", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tc.grpc(ctx); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want PermissionDenied naming %s", err, tc.field)
			}
		})
	}
	// The callers' own teams work.
	agent.t, manager.t = t, t
	agent.mustDo("PATCH", "/v1/customers/"+mine["id"].(string)+"?updateMask=displayName", `{"displayName":"北方新客户"}`)
	manager.mustDo("POST", "/v1/customers:transferOwnership", `{"fromOwnerId":"agent-bei","toOwnerId":"agent-zhou","toTeamId":"north","reason":"x"}`)
	if got := admin.mustDo("GET", "/v1/customers/"+mine["id"].(string), "")["teamId"]; got != "north" {
		t.Errorf("the agent's customer is in team %v, want north", got)
	}
}
