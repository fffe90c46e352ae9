package suite_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestNotificationPathsThroughREST walks the notification service's main
// paths as a REST client sees them: templates (saved, refused, listed,
// previewed), a new customer's welcome in their message list and its
// delivery record, the scheduled scans, a campaign and its controls, the
// dead-letter list and an unsubscribe link.
func TestNotificationPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	saved := api.mustDo("POST", "/v1/templates", `{"kind":"suite_sale","channel":"CHANNEL_EMAIL","locale":"zh-CN",`+
		`"subject":"会员特惠","body":"{{name}}，会员特惠开始了！退订：{{unsubscribe_url}}"}`)
	if saved["builtin"] == true || saved["purpose"] != "marketing" {
		t.Errorf("saved template = %v", saved)
	}
	code, refused := api.do("POST", "/v1/templates", `{"kind":"suite_sale","channel":"CHANNEL_EMAIL","locale":"zh-CN","subject":"x","body":"{{name}} {{points}}"}`)
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(refused["message"]), "template.body") {
		t.Errorf("template with an unknown variable: %d %v, want 400 naming template.body", code, refused)
	}
	if ts, _ := api.mustDo("GET", "/v1/templates?kind=suite_sale", "")["templates"].([]any); len(ts) != 1 {
		t.Errorf("templates of suite_sale = %v", ts)
	}

	person := api.mustDo("POST", "/v1/customers", `{"displayName":"欧阳娜娜","email":"nana@example.com","birthday":{"year":1990,"month":2,"day":14},"timeZone":"Asia/Shanghai"}`)
	id := person["id"].(string)
	api.mustDo("POST", "/v1/customers/"+id+"/consents", `{"channel":"CONSENT_CHANNEL_EMAIL","status":"CONSENT_STATUS_OPTED_IN","source":"signup-form"}`)
	var welcome map[string]any
	testinfra.Eventually(t, 20*time.Second, "the welcome message listed", func() bool {
		msgs, _ := api.mustDo("GET", "/v1/customers/"+id+"/messages", "")["messages"].([]any)
		if len(msgs) != 1 {
			return false
		}
		welcome = msgs[0].(map[string]any)
		return true
	})
	// Quiet hours may hold it (the suite runs on the real clock in Shanghai
	// time); either way it is the welcome, addressed by email.
	if welcome["template"] != "welcome" || welcome["channel"] != "CHANNEL_EMAIL" || !strings.HasPrefix(fmt.Sprint(welcome["body"]), "欧阳娜娜，您好") {
		t.Errorf("welcome = %v", welcome)
	}
	if got := api.mustDo("GET", "/v1/messages/"+welcome["id"].(string), ""); got["id"] != welcome["id"] {
		t.Errorf("GET message = %v", got)
	}
	if code, _ := api.do("GET", "/v1/messages/not-a-uuid", ""); code != http.StatusBadRequest {
		t.Errorf("message id not a uuid: %d, want 400", code)
	}
	if code, _ := api.do("GET", "/v1/messages/"+freshUUID(t), ""); code != http.StatusNotFound {
		t.Errorf("unknown message: %d, want 404", code)
	}

	preview := api.mustDo("POST", "/v1/templates:preview", `{"kind":"suite_sale","channel":"CHANNEL_EMAIL","customerId":"`+id+`"}`)
	body := fmt.Sprint(preview["body"])
	if preview["subject"] != "会员特惠" || !strings.HasPrefix(body, "欧阳娜娜，会员特惠开始了！退订："+e.HTTP+"/unsubscribe?token=") {
		t.Errorf("preview = %v", preview)
	}
	if _, ok := api.awaitOperation(api.mustDo("POST", "/v1/schedules:run", `{}`))["messagesCreated"]; !ok {
		t.Error("the scan reports no count")
	}

	// A campaign to a segment the segmentation service does not know: it
	// is created, then pauses with the reason; cancelled, it ends.
	c := api.mustDo("POST", "/v1/campaigns", `{"name":"会员特惠","segmentId":"`+freshUUID(t)+`","templateKind":"suite_sale","ratePerSecond":50}`)
	cid := c["id"].(string)
	if c["state"] != "CAMPAIGN_STATE_RUNNING" {
		t.Errorf("campaign = %v", c)
	}
	testinfra.Eventually(t, 20*time.Second, "the campaign paused on its unreadable segment", func() bool {
		got := api.mustDo("GET", "/v1/campaigns/"+cid, "")
		return got["state"] == "CAMPAIGN_STATE_PAUSED" && strings.Contains(fmt.Sprint(got["error"]), "read segment")
	})
	if got := api.mustDo("POST", "/v1/campaigns/"+cid+":cancel", `{}`); got["state"] != "CAMPAIGN_STATE_CANCELLED" {
		t.Errorf("cancelled campaign = %v", got)
	}
	if code, _ := api.do("POST", "/v1/campaigns/"+cid+":resume", `{}`); code != http.StatusBadRequest {
		t.Errorf("resuming a cancelled campaign: %d, want 400 (failed precondition)", code)
	}
	if code, _ := api.do("POST", "/v1/campaigns", `{"name":"x","templateKind":"suite_sale"}`); code != http.StatusBadRequest {
		t.Errorf("campaign without a segment: %d, want 400", code)
	}
	if cs, _ := api.mustDo("GET", "/v1/campaigns", "")["campaigns"].([]any); len(cs) != 1 {
		t.Errorf("campaigns = %v", cs)
	}
	api.mustDo("GET", "/v1/deadLetters", "")

	// The unsubscribe link records the opt-out, which reaches the customer
	// service as consent.
	link, err := url.Parse(strings.TrimPrefix(body, "欧阳娜娜，会员特惠开始了！退订："))
	if err != nil {
		t.Fatal(err)
	}
	un := api.mustDo("POST", "/v1/unsubscribe", `{"token":"`+link.Query().Get("token")+`"}`)
	if un["customerId"] != id || un["channel"] != "CHANNEL_EMAIL" {
		t.Errorf("unsubscribe = %v", un)
	}
	testinfra.Eventually(t, 20*time.Second, "the customer service records the opt-out", func() bool {
		cust := api.mustDo("GET", "/v1/customers/"+id, "")
		consents, _ := cust["consents"].([]any)
		for _, c := range consents {
			m := c.(map[string]any)
			if m["channel"] == "CONSENT_CHANNEL_EMAIL" && m["status"] == "CONSENT_STATUS_OPTED_OUT" && m["source"] == "unsubscribe-link" {
				return true
			}
		}
		return false
	})
	if code, _ := api.do("POST", "/v1/unsubscribe", `{"token":"forged"}`); code != http.StatusBadRequest {
		t.Errorf("forged token: %d, want 400", code)
	}
}

// freshUUID is a new random (version 4) UUID.
func freshUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
