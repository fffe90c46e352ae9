package suite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestCampaignThroughSegmentation runs a campaign end to end: customers
// created through REST join a rule segment of the segmentation service,
// whose StreamSegmentMembers feeds the campaign; the member who opted in
// to email gets the offer, the one who did not is suppressed.
func TestCampaignThroughSegmentation(t *testing.T) {
	// No quiet hours: the suite runs on the real clock.
	t.Setenv("GUANXI_NOTIFICATION_QUIET_HOURS", "00:00-00:00")
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	tag := "e2e" + freshUUID(t)[:8]
	optedIn := api.mustDo("POST", "/v1/customers", `{"displayName":"司马光","email":"smg@example.cn","tags":["`+tag+`"]}`)["id"].(string)
	silent := api.mustDo("POST", "/v1/customers", `{"displayName":"王安石","email":"was@example.cn","tags":["`+tag+`"]}`)["id"].(string)
	api.mustDo("POST", "/v1/customers", `{"displayName":"苏轼","email":"ss@example.cn"}`)
	api.mustDo("POST", "/v1/customers/"+optedIn+"/consents", `{"channel":"CONSENT_CHANNEL_EMAIL","status":"CONSENT_STATUS_OPTED_IN","source":"signup-form"}`)

	seg := api.mustDo("POST", "/v1/segments", fmt.Sprintf(`{"name":"%s","filter":"tags:\"%s\""}`, tag, tag))
	segID := seg["id"].(string)
	testinfra.Eventually(t, 30*time.Second, "the segment's two members", func() bool {
		got := api.mustDo("GET", "/v1/segments/"+segID+"/members", "")
		ids, _ := got["customerIds"].([]any)
		return len(ids) == 2
	})
	api.mustDo("POST", "/v1/templates", `{"kind":"e2e_offer","channel":"CHANNEL_EMAIL","locale":"zh-CN","subject":"专属优惠","body":"{{name}}，专属优惠！退订：{{unsubscribe_url}}"}`)
	// The opt-in must have reached the notification service before the
	// campaign reads it.
	testinfra.Eventually(t, 30*time.Second, "both welcomed", func() bool {
		a, _ := api.mustDo("GET", "/v1/customers/"+optedIn+"/messages", "")["messages"].([]any)
		b, _ := api.mustDo("GET", "/v1/customers/"+silent+"/messages", "")["messages"].([]any)
		return len(a) == 1 && len(b) == 1
	})

	c := api.mustDo("POST", "/v1/campaigns", `{"name":"e2e","segmentId":"`+segID+`","templateKind":"e2e_offer"}`)
	var got map[string]any
	testinfra.Eventually(t, 30*time.Second, "the campaign done", func() bool {
		got = api.mustDo("GET", "/v1/campaigns/"+c["id"].(string), "")
		counts, _ := got["counts"].(map[string]any)
		return got["state"] == "CAMPAIGN_STATE_COMPLETED" && counts["queued"] == "0"
	})
	counts := got["counts"].(map[string]any)
	if got["membersProcessed"] != "2" || counts["sent"] != "1" || counts["suppressed"] != "1" {
		t.Errorf("campaign = %v, want 2 members: 1 sent, 1 suppressed", got)
	}
	msgs, _ := api.mustDo("GET", "/v1/customers/"+optedIn+"/messages", "")["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["template"] != "e2e_offer" || msgs[0].(map[string]any)["status"] != "MESSAGE_STATUS_SENT" {
		t.Errorf("opted-in member's messages = %v", msgs)
	}
}
