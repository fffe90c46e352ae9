package suite_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// agentNotice waits for the agent's notice of kind and returns it.
func agentNotice(t *testing.T, api client, agent, kind string) map[string]any {
	t.Helper()
	var notice map[string]any
	testinfra.Eventually(t, 10*time.Second, agent+"'s "+kind+" notice", func() bool {
		msgs, _ := api.mustDo("GET", "/v1/agents/"+agent+"/messages", "")["messages"].([]any)
		for _, m := range msgs {
			if msg := m.(map[string]any); msg["template"] == kind {
				notice = msg
				return true
			}
		}
		return false
	})
	return notice
}

// knownToNotification creates a customer and waits until the notification
// service has learnt of them (their welcome message is queued).
func knownToNotification(t *testing.T, api client, body string) string {
	t.Helper()
	id := api.mustDo("POST", "/v1/customers", body)["id"].(string)
	testinfra.Eventually(t, 10*time.Second, "the customer known to notification", func() bool {
		msgs, _ := api.mustDo("GET", "/v1/customers/"+id+"/messages", "")["messages"].([]any)
		return len(msgs) > 0
	})
	return id
}

// TestFollowupNoticeNamesTheCustomer is issue 20's item 10: the notice an
// agent gets for a due follow-up names the customer by name, with the id
// and a link to the record, not by UUID only; the name stays out of the
// logs.
func TestFollowupNoticeNamesTheCustomer(t *testing.T) {
	t.Setenv("GUANXI_INTERACTION_SLA_CHECK_INTERVAL", "100ms")
	logs := &testinfra.Buffer{}
	e, stop := startSuiteLogging(t, t.TempDir(), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	api := adminClient(t, e)

	id := knownToNotification(t, api, `{"displayName":"林黛玉","email":"daiyu@example.com","phone":"+8613800030001"}`)
	due := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	api.mustDo("POST", "/v1/followups", `{"customerId":"`+id+`","agentId":"agent-lin","dueTime":"`+due+`","note":"确认安装效果"}`)

	body, _ := agentNotice(t, api, "agent-lin", "followup_due")["body"].(string)
	for _, want := range []string{"林黛玉", id, e.HTTP + "/v1/customers/" + id, "确认安装效果"} {
		if !strings.Contains(body, want) {
			t.Errorf("follow-up notice %q does not contain %q", body, want)
		}
	}
	stop()
	stopped = true
	if out := logs.String(); strings.Contains(out, "黛玉") {
		t.Errorf("the customer's name reached the logs")
	}
}

// TestEscalationTellsTheManager is issue 20's item 6: a case escalated by
// hand, or by missing its SLA, publishes interaction.case.escalated (and
// the breach interaction.case.sla_breached), and the manager it goes to
// gets a notice naming the case and the customer.
func TestEscalationTellsTheManager(t *testing.T) {
	t.Setenv("GUANXI_INTERACTION_SLA_CHECK_INTERVAL", "100ms")
	dataDir := t.TempDir()
	e, stop := startSuite(t, dataDir)
	defer stop()
	api := adminClient(t, e)

	// The events are read as the notification service reads them: with its
	// NATS user, since the embedded server admits no one else.
	nc, _ := connectNATS(t, e.NATS, filepath.Join(dataDir, suite.NATSUsersDir, "notification.nk"), natsembed.InboxPrefix("notification"))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	escalated, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{interactionv1.SubjectCaseEscalated}})
	if err != nil {
		t.Fatal(err)
	}
	breached, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{interactionv1.SubjectCaseSlaBreached}})
	if err != nil {
		t.Fatal(err)
	}
	nextEscalation := func() *interactionv1.CaseEscalated {
		t.Helper()
		msg, err := escalated.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("no interaction.case.escalated event: %v", err)
		}
		var ev interactionv1.CaseEscalated
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		return &ev
	}

	id := knownToNotification(t, api, `{"displayName":"贾宝玉","email":"baoyu@example.com","phone":"+8613800030002"}`)
	api.mustDo("POST", "/v1/teams", `{"id":"after-sales","managerId":"mgr-wang"}`)

	// By hand, to the team's manager.
	c := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"冰箱不制冷","teamId":"after-sales","assigneeId":"agent-xue"}`)
	out := api.mustDo("POST", "/v1/cases/"+c["id"].(string)+":escalate", `{"reason":"客户第三次来电"}`)
	if out["escalatedTo"] != "mgr-wang" {
		t.Errorf("escalated case = %v, want escalatedTo mgr-wang", out)
	}
	if ev := nextEscalation(); ev.GetCaseId() != c["id"] || ev.GetEscalatedTo() != "mgr-wang" || ev.GetCause() != "manual" ||
		ev.GetEscalatedBy() != testActor || ev.GetReason() != "客户第三次来电" || ev.GetCustomerId() != id {
		t.Errorf("escalation event = %v", ev)
	}
	notice := agentNotice(t, api, "mgr-wang", "case_escalated")
	body, _ := notice["body"].(string)
	for _, want := range []string{c["caseNumber"].(string), "冰箱不制冷", "贾宝玉", "客户第三次来电", "agent-xue"} {
		if !strings.Contains(body, want) {
			t.Errorf("escalation notice %q does not contain %q", body, want)
		}
	}
	if code, _ := api.do("POST", "/v1/cases/"+c["id"].(string)+":escalate", `{"escalatedTo":"`+strings.Repeat("x", 300)+`"}`); code != 400 {
		t.Errorf("escalating to a 300-byte id: status %d, want 400", code)
	}

	// By an SLA breach: a first response due within a second, around the
	// clock, missed.
	hours := ""
	for d := range 7 {
		if d > 0 {
			hours += ","
		}
		hours += `{"weekday":` + string(rune('1'+d)) + `,"startTime":"00:00","endTime":"23:59"}`
	}
	api.mustDo("POST", "/v1/calendars", `{"id":"always","hours":[`+hours+`]}`)
	api.mustDo("POST", "/v1/slaPolicies", `{"priority":"CASE_PRIORITY_URGENT","calendarId":"always","firstResponseTarget":"1s"}`)
	late := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"热水器漏电","priority":"CASE_PRIORITY_URGENT","teamId":"after-sales"}`)
	msg, err := breached.Next(jetstream.FetchMaxWait(15 * time.Second))
	if err != nil {
		t.Fatalf("no interaction.case.sla_breached event: %v", err)
	}
	var breach interactionv1.CaseSlaBreached
	if err := proto.Unmarshal(msg.Data(), &breach); err != nil {
		t.Fatal(err)
	}
	if breach.GetCaseId() != late["id"] || breach.GetTarget() != "first_response" || breach.GetEscalatedTo() != "mgr-wang" {
		t.Errorf("breach event = %v", &breach)
	}
	if ev := nextEscalation(); ev.GetCaseId() != late["id"] || ev.GetCause() != "sla_breach" || ev.GetTarget() != "first_response" {
		t.Errorf("escalation event of the breach = %v", ev)
	}
	testinfra.Eventually(t, 10*time.Second, "the manager told of the breach", func() bool {
		msgs, _ := api.mustDo("GET", "/v1/agents/mgr-wang/messages", "")["messages"].([]any)
		for _, m := range msgs {
			if b, _ := m.(map[string]any)["body"].(string); strings.Contains(b, late["caseNumber"].(string)) && strings.Contains(b, "SLA") {
				return true
			}
		}
		return false
	})
}
