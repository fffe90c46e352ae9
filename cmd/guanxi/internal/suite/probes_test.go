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
