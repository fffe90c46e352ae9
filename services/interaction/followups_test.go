package interaction_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// TestSurveysAndFollowups answers the survey a resolved case prepares and
// NPS surveys about a purchase, aggregates them per agent, team and month,
// and follows the follow-ups that rules schedule after a large purchase,
// before a warranty ends and after a resolved case, and one made by hand,
// until it comes due and is done.
func TestSurveysAndFollowups(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		known := newUUID(t)
		loc, _ := time.LoadLocation("Asia/Shanghai")
		start := time.Date(2025, 3, 3, 10, 0, 0, 0, loc)
		clock := &settableClock{t: start}
		svc := startServiceOn(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second, dbURL, withClock(clock))
		ctx := ctxTimeout(t)
		c := svc.client
		nc, js, err := events.Connect(svc.natsURL, "followups-test", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		next := func(subject string, into proto.Message) {
			t.Helper()
			cons, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				t.Fatalf("no %s event: %v", subject, err)
			}
			if err := proto.Unmarshal(msg.Data(), into); err != nil {
				t.Fatal(err)
			}
		}

		for _, r := range []*interactionv1.FollowupRule{
			{Name: "大额回访", Trigger: interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_PURCHASE, MinAmount: cny(100000),
				Offset: durationpb.New(7 * 24 * time.Hour), Channel: interactionv1.Channel_CHANNEL_PHONE, Note: "回访大额购买"},
			{Name: "保修到期", Trigger: interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_WARRANTY_END, Offset: durationpb.New(30 * 24 * time.Hour)},
			{Name: "结案回访", Trigger: interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_CASE_RESOLVED, Offset: durationpb.New(24 * time.Hour)},
		} {
			if _, err := c.CreateFollowupRule(ctx, &interactionv1.CreateFollowupRuleRequest{Rule: r}); err != nil {
				t.Fatal(err)
			}
		}
		if rs, err := c.ListFollowupRules(ctx, &interactionv1.ListFollowupRulesRequest{}); err != nil || len(rs.GetRules()) != 3 {
			t.Fatalf("rules = %v, %v", rs, err)
		}
		if _, err := c.CreateFollowupRule(ctx, &interactionv1.CreateFollowupRuleRequest{Rule: &interactionv1.FollowupRule{}}); status.Code(err) != codes.InvalidArgument || !hasViolation(err, "rule.trigger") {
			t.Errorf("rule without trigger: %v", err)
		}

		big := teaPurchase(known)
		big.OccurTime, big.AgentId, big.TeamId = timestamppb.New(start), "sales-1", "sales"
		big.Purchase.Total = cny(150000)
		big.Purchase.Lines = nil
		big.Purchase.WarrantyEndTime = timestamppb.New(time.Date(2026, 3, 3, 0, 0, 0, 0, loc))
		bought, err := c.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: big})
		if err != nil {
			t.Fatal(err)
		}
		small := teaPurchase(known)
		small.Purchase.Total, small.Purchase.Lines = cny(900), nil
		if _, err := c.BatchIngestEvents(ctx, &interactionv1.BatchIngestEventsRequest{Events: []*interactionv1.IngestEvent{
			{Source: "pos", ExternalId: "small-1", Interaction: small}}}); err != nil {
			t.Fatal(err)
		}
		manual, err := c.CreateFollowup(ctx, &interactionv1.CreateFollowupRequest{Followup: &interactionv1.Followup{CustomerId: known,
			AgentId: "agent-x", DueTime: timestamppb.New(time.Date(2025, 3, 4, 9, 0, 0, 0, loc)), Note: "确认安装"}})
		if err != nil || manual.GetFollowup().GetReason() != "manual" || manual.GetFollowup().GetStatus() != interactionv1.FollowupStatus_FOLLOWUP_STATUS_SCHEDULED {
			t.Fatalf("manual follow-up = %v, %v", manual, err)
		}
		sales, err := c.ListFollowups(ctx, &interactionv1.ListFollowupsRequest{Filter: `agent_id = "sales-1"`})
		if err != nil {
			t.Fatal(err)
		}
		if fs := sales.GetFollowups(); len(fs) != 2 || fs[0].GetReason() != "purchase" || fs[1].GetReason() != "warranty_end" ||
			!fs[0].GetDueTime().AsTime().Equal(start.Add(7*24*time.Hour)) || !fs[1].GetDueTime().AsTime().Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, loc)) ||
			fs[0].GetSourceId() != bought.GetInteraction().GetId() || fs[0].GetNote() != "回访大额购买" {
			t.Fatalf("follow-ups of sales-1 = %v, want the purchase's (in 7 days) and the warranty's (30 days before it ends)", fs)
		}

		// A resolved case: its survey, answered, and its follow-up.
		cs, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: &interactionv1.Case{CustomerId: known, Subject: "安装慢",
			AssigneeId: "agent-li", TeamId: "service"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.ResolveCase(ctx, &interactionv1.ResolveCaseRequest{Id: cs.GetCase().GetId(), Resolution: "已道歉并补偿"})
		if err != nil {
			t.Fatal(err)
		}
		surveyID := res.GetCase().GetSurveyId()
		got, err := c.GetSurvey(ctx, &interactionv1.GetSurveyRequest{Id: surveyID})
		if err != nil || got.GetSurvey().GetAnswered() || got.GetSurvey().GetAgentId() != "agent-li" || got.GetSurvey().GetSurveyUrl() != "https://s.example/"+surveyID {
			t.Fatalf("prepared survey = %v, %v", got, err)
		}
		if _, err := c.AnswerSurvey(ctx, &interactionv1.AnswerSurveyRequest{Id: surveyID, Score: 6}); status.Code(err) != codes.InvalidArgument || !hasViolation(err, "score") {
			t.Errorf("CSAT score 6: %v, want InvalidArgument on score", err)
		}
		if _, err := c.AnswerSurvey(ctx, &interactionv1.AnswerSurveyRequest{Id: surveyID, Score: 5, Comment: "满意"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AnswerSurvey(ctx, &interactionv1.AnswerSurveyRequest{Id: surveyID, Score: 1}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("answering twice: %v, want FailedPrecondition", err)
		}
		var answered interactionv1.SurveyAnswered
		next(interactionv1.SubjectSurveyAnswered, &answered)
		if answered.GetSurveyId() != surveyID || answered.GetScore() != 5 || answered.GetKind() != "csat" || answered.GetCaseId() != cs.GetCase().GetId() || answered.GetCustomerId() != known {
			t.Errorf("SurveyAnswered = %v", &answered)
		}
		for _, score := range []int32{9, 3} {
			sv, err := c.CreateSurvey(ctx, &interactionv1.CreateSurveyRequest{Survey: &interactionv1.Survey{Kind: interactionv1.SurveyKind_SURVEY_KIND_NPS,
				CustomerId: known, InteractionId: bought.GetInteraction().GetId(), AgentId: "sales-1", TeamId: "sales"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AnswerSurvey(ctx, &interactionv1.AnswerSurveyRequest{Id: sv.GetSurvey().GetId(), Score: score}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.CreateSurvey(ctx, &interactionv1.CreateSurveyRequest{Survey: &interactionv1.Survey{CustomerId: known}}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("survey about nothing: %v, want InvalidArgument", err)
		}
		stats := func(req *interactionv1.GetSurveyStatsRequest) []*interactionv1.SurveyStats {
			t.Helper()
			resp, err := c.GetSurveyStats(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return resp.GetStats()
		}
		if s := stats(&interactionv1.GetSurveyStatsRequest{Kind: interactionv1.SurveyKind_SURVEY_KIND_CSAT}); len(s) != 1 || s[0].GetKey() != "agent-li" ||
			s[0].GetResponses() != 1 || s[0].GetAverageScore() != 5 || s[0].GetSatisfiedPercent() != 100 {
			t.Errorf("CSAT per agent = %v", s)
		}
		if s := stats(&interactionv1.GetSurveyStatsRequest{Kind: interactionv1.SurveyKind_SURVEY_KIND_NPS, GroupBy: interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_TEAM}); len(s) != 1 ||
			s[0].GetKey() != "sales" || s[0].GetPromoters() != 1 || s[0].GetDetractors() != 1 || s[0].GetNps() != 0 || s[0].GetAverageScore() != 6 {
			t.Errorf("NPS per team = %v", s)
		}
		if s := stats(&interactionv1.GetSurveyStatsRequest{Kind: interactionv1.SurveyKind_SURVEY_KIND_NPS, GroupBy: interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_MONTH}); len(s) != 1 || s[0].GetKey() != "2025-03" || s[0].GetResponses() != 2 {
			t.Errorf("NPS per month = %v", s)
		}
		if s := stats(&interactionv1.GetSurveyStatsRequest{Kind: interactionv1.SurveyKind_SURVEY_KIND_NPS, StartTime: timestamppb.New(start.Add(time.Hour))}); len(s) != 0 {
			t.Errorf("NPS answered after 11:00 = %v, want none", s)
		}
		if _, err := c.GetSurveyStats(ctx, &interactionv1.GetSurveyStatsRequest{TimeZone: "Moon/Base"}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad time zone: %v", err)
		}

		tl, err := c.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: "kind = SURVEY_RESPONSE"})
		if err != nil || len(tl.GetInteractions()) != 3 || len(tl.GetPendingFollowups()) != 4 {
			t.Fatalf("timeline: %d survey responses, %d pending follow-ups, %v; want 3 and 4", len(tl.GetInteractions()), len(tl.GetPendingFollowups()), err)
		}
		if f := tl.GetPendingFollowups()[1]; f.GetReason() != "case_resolved" || f.GetAgentId() != "agent-li" || f.GetSourceId() != cs.GetCase().GetId() {
			t.Errorf("second pending follow-up = %v, want the resolved case's, tomorrow 10:00", f)
		}

		// Tuesday 09:00: the manual follow-up comes due and its agent is told.
		clock.set(time.Date(2025, 3, 4, 9, 0, 0, 0, loc))
		var due interactionv1.FollowupDue
		next(interactionv1.SubjectFollowupDue, &due)
		if due.GetFollowupId() != manual.GetFollowup().GetId() || due.GetAgentId() != "agent-x" || due.GetReason() != "manual" || due.GetNote() != "确认安装" {
			t.Errorf("FollowupDue = %v", &due)
		}
		testinfra.Eventually(t, 5*time.Second, "agent-x's due list", func() bool {
			l, err := c.ListFollowups(ctx, &interactionv1.ListFollowupsRequest{Filter: `agent_id = "agent-x" AND status = DUE`})
			return err == nil && len(l.GetFollowups()) == 1
		})
		done, err := c.CompleteFollowup(ctx, &interactionv1.CompleteFollowupRequest{Id: manual.GetFollowup().GetId(),
			Kind: interactionv1.InteractionKind_INTERACTION_KIND_VISIT, Channel: interactionv1.Channel_CHANNEL_IN_PERSON, Summary: "已上门确认"})
		if err != nil || done.GetFollowup().GetStatus() != interactionv1.FollowupStatus_FOLLOWUP_STATUS_DONE || done.GetFollowup().GetInteractionId() == "" {
			t.Fatalf("complete = %v, %v", done, err)
		}
		if _, err := c.CompleteFollowup(ctx, &interactionv1.CompleteFollowupRequest{Id: manual.GetFollowup().GetId()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("completing twice: %v, want FailedPrecondition", err)
		}
		visits, err := c.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: "kind = VISIT"})
		if err != nil || len(visits.GetInteractions()) != 1 || visits.GetInteractions()[0].GetDetails()["followup_id"] != manual.GetFollowup().GetId() ||
			visits.GetInteractions()[0].GetAgentId() != "agent-x" || len(visits.GetPendingFollowups()) != 3 {
			t.Errorf("visit recorded = %v, %v", visits, err)
		}
	})
}
