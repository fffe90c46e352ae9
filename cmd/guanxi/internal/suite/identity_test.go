package suite_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// TestAuditNamesThePersonBehindAServiceCall: when an agent records an
// interaction or a follow-up (through REST and straight over gRPC), the
// interaction service reads the customer at the customer service, and the
// audit entry of that read names the agent and the interaction service,
// never "anonymous".
func TestAuditNamesThePersonBehindAServiceCall(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	admin := adminClient(t, e)
	id := admin.mustDo("POST", "/v1/customers", `{"displayName":"审计客户","ownerId":"agent-bei","teamId":"north"}`)["id"].(string)

	restAgent := auth.Identity{Subject: "agent-rest", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}}
	clientAs(t, e, restAgent).mustDo("POST", "/v1/interactions", purchaseBody(id, "AUDIT-1", "100"))

	grpcAgent := auth.Identity{Subject: "agent-grpc", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}}
	interactions := interactionv1.NewInteractionServiceClient(dialAs(t, e, "interaction", grpcAgent))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := interactions.CreateFollowup(ctx, &interactionv1.CreateFollowupRequest{Followup: &interactionv1.Followup{
		CustomerId: id, AgentId: "agent-grpc", DueTime: timestamppb.New(time.Now().Add(24 * time.Hour)),
	}}); err != nil {
		t.Fatalf("create follow-up over gRPC: %v", err)
	}

	entries, err := customerv1.NewCustomerServiceClient(adminConn(t, e, "customer")).ListAuditEntries(ctx,
		&customerv1.ListAuditEntriesRequest{CustomerId: id, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	byActor := map[string]*customerv1.AuditEntry{}
	for _, en := range entries.GetEntries() {
		if en.GetActor() == "anonymous" || en.GetActor() == "" {
			t.Errorf("audit entry %s names no one: %v", en.GetAction(), en)
		}
		if en.GetAction() == "GetCustomer" && en.GetVia() != "" {
			byActor[en.GetActor()] = en
		}
	}
	for _, who := range []string{restAgent.Subject, grpcAgent.Subject} {
		en, ok := byActor[who]
		if !ok {
			t.Errorf("no GetCustomer entry names %s through a service; entries: %v", who, entries.GetEntries())
			continue
		}
		if en.GetVia() != "svc:interaction" {
			t.Errorf("%s's read came via %q, want svc:interaction", who, en.GetVia())
		}
	}
	// Through REST the entry shows the same.
	code, out := admin.do("GET", "/v1/auditEntries?customerId="+id, "")
	if code != http.StatusOK {
		t.Fatalf("list audit entries: %d %v", code, out)
	}
	found := false
	for _, raw := range out["entries"].([]any) {
		en := raw.(map[string]any)
		found = found || en["actor"] == restAgent.Subject && en["via"] == "svc:interaction"
	}
	if !found {
		t.Errorf("REST audit entries lack actor %s via svc:interaction: %v", restAgent.Subject, out["entries"])
	}
}
