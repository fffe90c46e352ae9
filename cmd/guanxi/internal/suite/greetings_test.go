package suite_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// messagesOf lists a customer's messages through REST, newest first.
func messagesOf(api client, customerID string) []map[string]any {
	raw, _ := api.mustDo("GET", "/v1/customers/"+customerID+"/messages", "")["messages"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, m := range raw {
		out = append(out, m.(map[string]any))
	}
	return out
}

// TestMemberDayFromLoyaltyProgram is issue 20's item 7: a loyalty
// program's member day (today's and tomorrow's day of the month, so the
// test holds across midnight) doubles the points of a purchase and, from
// the same definition carried by loyalty's events, brings its member (by
// the enrollment loyalty announces) a member-day notice when the
// schedules run; a customer outside the program gets none.
func TestMemberDayFromLoyaltyProgram(t *testing.T) {
	t.Setenv("GUANXI_NOTIFICATION_QUIET_HOURS", "00:00-00:00")
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(shanghai)
	tomorrow := today.AddDate(0, 0, 1)
	prog := api.mustDo("POST", "/v1/programs", fmt.Sprintf(`{"name":"茶友会","timeZone":"Asia/Shanghai",`+
		`"baseRates":[{"currencyCode":"CNY","pointsPerUnit":"1"}],"currencyCode":"CNY","tiers":[{"code":"normal","name":"普通"}],`+
		`"memberDays":[{"id":"today","monthDay":%d,"multiplierPercent":"200"},{"id":"tomorrow","monthDay":%d,"multiplierPercent":"200"}]}`,
		today.Day(), tomorrow.Day()))
	progID := prog["id"].(string)

	member := api.mustDo("POST", "/v1/customers", `{"displayName":"陆羽","email":"luyu@example.cn"}`)["id"].(string)
	outsider := api.mustDo("POST", "/v1/customers", `{"displayName":"卢仝","email":"lutong@example.cn"}`)["id"].(string)
	for _, id := range []string{member, outsider} {
		api.mustDo("POST", "/v1/customers/"+id+"/consents", `{"channel":"CONSENT_CHANNEL_EMAIL","status":"CONSENT_STATUS_OPTED_IN","source":"signup-form"}`)
	}
	// The program enrolls by hand; 50.00 CNY on a member day: 50 points,
	// doubled.
	api.mustDo("POST", "/v1/programs/"+progID+"/members", `{"customerId":"`+member+`"}`)
	api.mustDo("POST", "/v1/interactions", purchaseBody(member, "TEA-MD-1", "5000"))
	testinfra.Eventually(t, 30*time.Second, "member-day points", func() bool {
		_, acct := api.do("GET", "/v1/customers/"+member+"/loyaltyAccount?programId="+progID, "")
		return acct["pointsBalance"] == "100"
	})

	var notice map[string]any
	testinfra.Eventually(t, 30*time.Second, "the member-day notice", func() bool {
		api.awaitOperation(api.mustDo("POST", "/v1/schedules:run", `{}`))
		for _, m := range messagesOf(api, member) {
			if m["template"] == "member_day" {
				notice = m
				return true
			}
		}
		return false
	})
	if notice["subject"] != "会员日：茶友会" || notice["status"] == "MESSAGE_STATUS_SUPPRESSED" || notice["status"] == "MESSAGE_STATUS_FAILED" {
		t.Errorf("member-day notice = %v, want one naming the program, on its way", notice)
	}
	if n := countTemplate(messagesOf(api, member), "member_day"); n != 1 {
		t.Errorf("the member has %d member-day notices, want 1", n)
	}
	for _, m := range messagesOf(api, outsider) {
		if m["template"] == "member_day" {
			t.Errorf("a customer outside the program got its member-day notice: %v", m)
		}
	}
}

func countTemplate(msgs []map[string]any, template string) int {
	n := 0
	for _, m := range msgs {
		if m["template"] == template {
			n++
		}
	}
	return n
}

// TestMergeBeforeWelcomeLeavesOneWelcome is issue 20's item 9: two
// customers are created while it is quiet hours in their zone, so their
// welcomes wait; they are merged before the welcomes go out. The survivor
// then has exactly one welcome waiting, with its own name, and no message
// carries the merged record's name.
func TestMergeBeforeWelcomeLeavesOneWelcome(t *testing.T) {
	// Quiet hours around now in UTC, the customers' zone.
	now := time.Now().UTC()
	from, to := now.Add(-time.Hour), now.Add(2*time.Hour)
	t.Setenv("GUANXI_NOTIFICATION_QUIET_HOURS", fmt.Sprintf("%02d:%02d-%02d:%02d", from.Hour(), from.Minute(), to.Hour(), to.Minute()))
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	survivor := api.mustDo("POST", "/v1/customers", `{"displayName":"王小明","email":"xm@example.cn","timeZone":"UTC"}`)["id"].(string)
	merged := api.mustDo("POST", "/v1/customers", `{"displayName":"王晓明","email":"wxm@example.cn","timeZone":"UTC"}`)["id"].(string)
	for _, id := range []string{survivor, merged} {
		testinfra.Eventually(t, 30*time.Second, "the welcome waiting for quiet hours", func() bool {
			msgs := messagesOf(api, id)
			return len(msgs) == 1 && msgs[0]["template"] == "welcome" && msgs[0]["status"] == "MESSAGE_STATUS_QUEUED"
		})
	}

	api.mustDo("POST", "/v1/customers/"+survivor+":merge", `{"mergedCustomerId":"`+merged+`","reason":"same person"}`)
	var msgs []map[string]any
	testinfra.Eventually(t, 30*time.Second, "the merged record's welcome settled on the survivor", func() bool {
		msgs = messagesOf(api, survivor)
		if len(msgs) != 2 {
			return false
		}
		for _, m := range msgs {
			if strings.Contains(fmt.Sprint(m["body"]), "王晓明") {
				return false
			}
		}
		return true
	})
	waiting := 0
	for _, m := range msgs {
		if m["template"] != "welcome" {
			t.Errorf("unexpected message %v", m)
		}
		if m["status"] == "MESSAGE_STATUS_QUEUED" {
			waiting++
			if !strings.HasPrefix(fmt.Sprint(m["body"]), "王小明，") || m["address"] == "wxm@example.cn" {
				t.Errorf("the waiting welcome = %v, want the survivor's", m)
			}
		} else if m["status"] != "MESSAGE_STATUS_SUPPRESSED" || m["statusReason"] != "customer merged into another record before sending" {
			t.Errorf("the merged record's welcome = %v, want SUPPRESSED for the merge", m)
		}
	}
	if waiting != 1 {
		t.Errorf("the survivor has %d welcomes waiting, want exactly 1: %v", waiting, msgs)
	}
	if got := messagesOf(api, merged); len(got) != 2 {
		t.Errorf("the merged id lists %d messages, want the survivor's 2", len(got))
	}
}
