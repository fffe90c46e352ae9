package suite_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestResolvedCaseReachesTheCustomer resolves a complaint case through the
// REST edge and waits for the notification service to have sent the
// customer the resolution and the satisfaction survey invitation, whose
// link names the survey the interaction service prepared.
func TestResolvedCaseReachesTheCustomer(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	cust := api.mustDo("POST", "/v1/customers", `{"displayName":"张伟","email":"zhangwei@example.com","phone":"+8613800005555","locale":"zh-CN"}`)
	id := cust["id"].(string)
	c := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"洗衣机漏水","priority":"CASE_PRIORITY_HIGH",`+
		`"channel":"CHANNEL_CALL_CENTER","assigneeId":"agent-wu"}`)
	caseID, number := c["id"].(string), c["caseNumber"].(string)
	resolved := api.mustDo("POST", "/v1/cases/"+caseID+":resolve", `{"resolution":"已更换进水管"}`)
	surveyID, _ := resolved["surveyId"].(string)
	if resolved["status"] != "CASE_STATUS_RESOLVED" || surveyID == "" {
		t.Fatalf("resolved case = %v", resolved)
	}

	var resolution, invitation map[string]any
	testinfra.Eventually(t, 10*time.Second, "resolution and survey invitation sent to the customer", func() bool {
		messages, _ := api.mustDo("GET", "/v1/customers/"+id+"/messages", "")["messages"].([]any)
		for _, m := range messages {
			msg := m.(map[string]any)
			switch msg["template"] {
			case "case_resolved":
				resolution = msg
			case "survey_invitation":
				invitation = msg
			}
		}
		return resolution != nil && invitation != nil
	})
	if body, _ := resolution["body"].(string); !strings.Contains(body, number) {
		t.Errorf("resolution message %q does not name case %s", body, number)
	}
	// The link is the suite's survey page with a signed token whose
	// payload (before the MAC) names the survey.
	body, _ := invitation["body"].(string)
	link := regexp.MustCompile(`/survey\?token=([A-Za-z0-9_-]+)\.`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("survey invitation %q has no survey link", body)
	}
	if payload, err := base64.RawURLEncoding.DecodeString(link[1]); err != nil || !strings.Contains(string(payload), surveyID) {
		t.Errorf("survey invitation %q does not link survey %s", body, surveyID)
	}
}
