package suite_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/auth"
)

// TestTeamScopeAcrossServices: an agent reads the timeline, loyalty
// account, value, messages and cases of their team's customers, and gets
// 404 for another team's from every service, as from the customer service,
// also for a case read by its own id; lists of cases and follow-ups hold
// what the agent or their team works on.
func TestTeamScopeAcrossServices(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	admin := adminClient(t, e)
	ours := admin.mustDo("POST", "/v1/customers", `{"displayName":"北方客户","ownerId":"agent-bei","teamId":"north"}`)["id"].(string)
	theirs := admin.mustDo("POST", "/v1/customers", `{"displayName":"南方客户","ownerId":"agent-nan","teamId":"south"}`)["id"].(string)
	for i, id := range []string{ours, theirs} {
		admin.mustDo("POST", "/v1/interactions", purchaseBody(id, "SCOPE-"+string(rune('A'+i)), "9900"))
	}

	agent := clientAs(t, e, auth.Identity{Subject: "agent-zhou", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}})
	for _, path := range []string{"/v1/customers/%s", "/v1/customers/%s/interactions", "/v1/customers/%s/loyaltyAccount",
		"/v1/customers/%s/value", "/v1/customers/%s/messages"} {
		if code, body := agent.raw("GET", fmt.Sprintf(path, theirs), ""); code != http.StatusNotFound {
			t.Errorf("GET %s of another team's customer: %d %s, want 404", path, code, body)
		}
		// The loyalty account and value appear as events arrive; the read
		// is let through to the service either way.
		if code, body := agent.raw("GET", fmt.Sprintf(path, ours), ""); code == http.StatusNotFound && path == "/v1/customers/%s" ||
			code == http.StatusForbidden || code == http.StatusUnauthorized || code >= 500 {
			t.Errorf("GET %s of the agent's team's customer: %d %s", path, code, body)
		}
	}
	theirCase := admin.mustDo("POST", "/v1/cases", `{"customerId":"`+theirs+`","subject":"漏水"}`)["id"].(string)
	if code, body := agent.raw("GET", "/v1/cases/"+theirCase, ""); code != http.StatusNotFound {
		t.Errorf("GET another team's customer's case by its id: %d %s, want 404", code, body)
	}
	ourCase := admin.mustDo("POST", "/v1/cases", `{"customerId":"`+ours+`","subject":"漏水"}`)["id"].(string)
	agent.mustDo("GET", "/v1/cases/"+ourCase, "")
	// Lists of cases and follow-ups hold what the agent or their team
	// works on.
	northCase := admin.mustDo("POST", "/v1/cases", `{"customerId":"`+ours+`","subject":"北","teamId":"north"}`)["id"].(string)
	mine := admin.mustDo("POST", "/v1/cases", `{"customerId":"`+ours+`","subject":"给我","assigneeId":"agent-zhou"}`)["id"].(string)
	admin.mustDo("POST", "/v1/cases", `{"customerId":"`+theirs+`","subject":"南","teamId":"south"}`)
	var listed []string
	for _, c := range agent.mustDo("GET", "/v1/cases", "")["cases"].([]any) {
		listed = append(listed, c.(map[string]any)["id"].(string))
	}
	if slices.Sort(listed); !slices.Equal(listed, sorted(northCase, mine)) {
		t.Errorf("the agent lists cases %v, want their team's and their own %v", listed, sorted(northCase, mine))
	}
	admin.mustDo("POST", "/v1/followups", `{"customerId":"`+ours+`","agentId":"agent-zhou","dueTime":"2030-01-01T01:00:00Z"}`)
	admin.mustDo("POST", "/v1/followups", `{"customerId":"`+theirs+`","agentId":"agent-nan","dueTime":"2030-01-01T01:00:00Z"}`)
	if fs, _ := agent.mustDo("GET", "/v1/followups", "")["followups"].([]any); len(fs) != 1 || fs[0].(map[string]any)["agentId"] != "agent-zhou" {
		t.Errorf("the agent lists follow-ups %v, want only their own", fs)
	}
	theirComment := `{"authorId":"agent-zhou","body":"我来"}`
	for _, change := range []struct{ method, path, body string }{
		{"POST", "/v1/cases/" + theirCase + ":assign", `{"assigneeId":"agent-zhou"}`},
		{"POST", "/v1/cases/" + theirCase + ":resolve", `{"resolution":"x"}`},
		{"POST", "/v1/cases/" + theirCase + "/comments", theirComment},
		{"GET", "/v1/cases/" + theirCase + "/comments", ""},
	} {
		if code, body := agent.raw(change.method, change.path, change.body); code != http.StatusNotFound {
			t.Errorf("%s %s on another team's customer's case: %d %s, want 404", change.method, change.path, code, body)
		}
	}
	agent.mustDo("POST", "/v1/cases/"+ourCase+"/comments", theirComment)
	if code, _ := agent.raw("GET", "/v1/agents/agent-other/messages", ""); code != http.StatusForbidden {
		t.Errorf("an agent reading another agent's notices: %d, want 403", code)
	}
	agent.mustDo("GET", "/v1/agents/agent-zhou/messages", "")
	if code, body := agent.raw("POST", "/v1/interactions", purchaseBody(theirs, "SCOPE-X", "100")); code != http.StatusNotFound {
		t.Errorf("recording a purchase for another team's customer: %d %s, want 404", code, body)
	}
	agent.mustDo("POST", "/v1/interactions", purchaseBody(ours, "SCOPE-Y", "100"))
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
