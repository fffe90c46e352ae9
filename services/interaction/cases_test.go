package interaction_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/guanxi-crm/guanxi/platform/events"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction"
)

// settableClock is a fake clock the service reads.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func withClock(c *settableClock) func(*interaction.Config) {
	return func(cfg *interaction.Config) {
		cfg.Clock = c.now
		cfg.SLACheckInterval = 20 * time.Millisecond
		cfg.SurveyBaseURL = "https://s.example/"
	}
}

func weekdayHours() []*interactionv1.BusinessHours {
	var h []*interactionv1.BusinessHours
	for d := int32(1); d <= 5; d++ {
		h = append(h, &interactionv1.BusinessHours{Weekday: d, StartTime: "09:00", EndTime: "18:00"})
	}
	return h
}

// TestCaseLifecycle opens a complaint case under an SLA policy, works it
// through assignment, an internal note, a reply, a wait on the customer,
// resolution (with its event and survey) and reopening, and lets the
// service's own SLA sweep escalate a case nobody answered.
func TestCaseLifecycle(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		known := newUUID(t)
		loc, _ := time.LoadLocation("Asia/Shanghai")
		clock := &settableClock{t: time.Date(2025, 3, 7, 17, 55, 0, 0, loc)}
		svc := startServiceOn(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second, dbURL, withClock(clock))
		ctx := ctxTimeout(t)
		c := svc.client

		if _, err := c.CreateBusinessCalendar(ctx, &interactionv1.CreateBusinessCalendarRequest{Calendar: &interactionv1.BusinessCalendar{
			Id: "cn-support", Hours: weekdayHours(), Holidays: []string{"2025-10-01"}}}); err != nil {
			t.Fatal(err)
		}
		cal, err := c.GetBusinessCalendar(ctx, &interactionv1.GetBusinessCalendarRequest{Id: "cn-support"})
		if err != nil || cal.GetCalendar().GetTimeZone() != "Asia/Shanghai" || len(cal.GetCalendar().GetHours()) != 5 {
			t.Fatalf("calendar = %v, %v", cal, err)
		}
		if _, err := c.CreateTeam(ctx, &interactionv1.CreateTeamRequest{Team: &interactionv1.Team{Id: "complaints", ManagerId: "mgr-zhao"}}); err != nil {
			t.Fatal(err)
		}
		policy := &interactionv1.SlaPolicy{Priority: interactionv1.CasePriority_CASE_PRIORITY_HIGH, CalendarId: "cn-support",
			FirstResponseTarget: durationpb.New(2 * time.Hour), ResolutionTarget: durationpb.New(16 * time.Hour)}
		if _, err := c.CreateSlaPolicy(ctx, &interactionv1.CreateSlaPolicyRequest{SlaPolicy: policy}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateSlaPolicy(ctx, &interactionv1.CreateSlaPolicyRequest{SlaPolicy: policy}); status.Code(err) != codes.AlreadyExists {
			t.Errorf("second policy for HIGH: %v, want AlreadyExists", err)
		}
		vip := proto.Clone(policy).(*interactionv1.SlaPolicy)
		vip.CustomerClass, vip.FirstResponseTarget = "VIP", durationpb.New(30*time.Minute)
		if _, err := c.CreateSlaPolicy(ctx, &interactionv1.CreateSlaPolicyRequest{SlaPolicy: vip}); err != nil {
			t.Fatal(err)
		}
		if ps, err := c.ListSlaPolicies(ctx, &interactionv1.ListSlaPoliciesRequest{}); err != nil || len(ps.GetSlaPolicies()) != 2 {
			t.Errorf("policies = %v, %v", ps, err)
		}

		// A complaint recorded first, then a case opened from it.
		complaint, err := c.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: &interactionv1.Interaction{
			CustomerId: known, Kind: interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT, Channel: interactionv1.Channel_CHANNEL_CALL_CENTER,
			Summary: "冰箱不制冷"}})
		if err != nil {
			t.Fatal(err)
		}
		open := func(cs *interactionv1.Case) *interactionv1.Case {
			t.Helper()
			resp, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: cs, RequestId: newUUID(t)})
			if err != nil {
				t.Fatal(err)
			}
			return resp.GetCase()
		}
		fridge := open(&interactionv1.Case{CustomerId: known, Subject: "冰箱不制冷", Priority: interactionv1.CasePriority_CASE_PRIORITY_HIGH,
			Category: "quality", TeamId: "complaints", Channel: interactionv1.Channel_CHANNEL_CALL_CENTER, OriginInteractionId: complaint.GetInteraction().GetId()})
		monday1055 := time.Date(2025, 3, 10, 10, 55, 0, 0, loc)
		if fridge.GetStatus() != interactionv1.CaseStatus_CASE_STATUS_NEW || fridge.GetCaseNumber() == "" || fridge.GetSlaPolicyId() == "" ||
			!fridge.GetFirstResponseDueTime().AsTime().Equal(monday1055) {
			t.Fatalf("opened case = %v", fridge)
		}
		vipCase := open(&interactionv1.Case{CustomerId: known, Subject: "VIP 投诉", Priority: interactionv1.CasePriority_CASE_PRIORITY_HIGH,
			CustomerClass: "VIP", Kind: interactionv1.InteractionKind_INTERACTION_KIND_INQUIRY, Channel: interactionv1.Channel_CHANNEL_WECHAT})
		if !vipCase.GetFirstResponseDueTime().AsTime().Equal(time.Date(2025, 3, 10, 9, 25, 0, 0, loc)) {
			t.Errorf("VIP first response due %v, want Monday 09:25", vipCase.GetFirstResponseDueTime().AsTime().In(loc))
		}
		if vipCase.GetCaseNumber() == fridge.GetCaseNumber() {
			t.Errorf("two cases numbered %s", fridge.GetCaseNumber())
		}
		low := open(&interactionv1.Case{CustomerId: known, Subject: "咨询保修", Kind: interactionv1.InteractionKind_INTERACTION_KIND_REPAIR_REQUEST})
		if low.GetPriority() != interactionv1.CasePriority_CASE_PRIORITY_NORMAL || low.GetFirstResponseDueTime() != nil {
			t.Errorf("a NORMAL case without policy = %v, want no due times", low)
		}

		// The timeline shows the linked complaint, the interactions the
		// other cases opened with, and the open cases.
		tl, err := c.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.GetOpenCases()) != 3 || len(tl.GetInteractions()) != 3 {
			t.Fatalf("timeline: %d interactions, %d open cases; want 3 and 3", len(tl.GetInteractions()), len(tl.GetOpenCases()))
		}
		linked := 0
		for _, in := range tl.GetInteractions() {
			if in.GetCaseId() != "" {
				linked++
			}
			if in.GetId() == complaint.GetInteraction().GetId() && in.GetCaseId() != fridge.GetId() {
				t.Errorf("the complaint is not linked to its case: %v", in)
			}
		}
		if linked != 3 {
			t.Errorf("%d timeline entries linked to cases, want 3", linked)
		}

		// Saturday: the service's own sweep finds nothing due.
		clock.set(time.Date(2025, 3, 8, 12, 0, 0, 0, loc))
		// Monday 09:30: the VIP case breached at 09:25 and is escalated by
		// the sweep.
		clock.set(time.Date(2025, 3, 10, 9, 30, 0, 0, loc))
		nc, js, err := events.Connect(svc.natsURL, "cases-test", nil)
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
		var breach interactionv1.CaseSlaBreached
		next(interactionv1.SubjectCaseSlaBreached, &breach)
		if breach.GetCaseId() != vipCase.GetId() || breach.GetTarget() != "first_response" {
			t.Errorf("breach = %v, want the VIP case's first response", &breach)
		}
		got, err := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: vipCase.GetId()})
		if err != nil || !got.GetCase().GetFirstResponseBreached() {
			t.Errorf("VIP case after the sweep = %v, %v", got, err)
		}
		breached, err := c.ListCases(ctx, &interactionv1.ListCasesRequest{Filter: "first_response_breached = true"})
		if err != nil || len(breached.GetCases()) != 1 || breached.GetCases()[0].GetId() != vipCase.GetId() {
			t.Errorf("breached cases = %v, %v", breached, err)
		}

		// Work the fridge case.
		a, err := c.AssignCase(ctx, &interactionv1.AssignCaseRequest{Id: fridge.GetId(), AssigneeId: "agent-li"})
		if err != nil || a.GetCase().GetStatus() != interactionv1.CaseStatus_CASE_STATUS_ASSIGNED || a.GetCase().GetAssigneeId() != "agent-li" {
			t.Fatalf("assign = %v, %v", a, err)
		}
		if _, err := c.AddCaseComment(ctx, &interactionv1.AddCaseCommentRequest{CaseId: fridge.GetId(),
			Comment: &interactionv1.CaseComment{AuthorId: "agent-li", Body: "查保修记录"}}); err != nil {
			t.Fatal(err)
		}
		if g, _ := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: fridge.GetId()}); g.GetCase().GetFirstResponseTime() != nil {
			t.Errorf("an internal note counted as the first response")
		}
		clock.set(time.Date(2025, 3, 10, 9, 45, 0, 0, loc))
		if _, err := c.AddCaseComment(ctx, &interactionv1.AddCaseCommentRequest{CaseId: fridge.GetId(),
			Comment: &interactionv1.CaseComment{AuthorId: "agent-li", Body: "请提供购买凭证", CustomerVisible: true}}); err != nil {
			t.Fatal(err)
		}
		w, err := c.UpdateCaseStatus(ctx, &interactionv1.UpdateCaseStatusRequest{Id: fridge.GetId(), Status: interactionv1.CaseStatus_CASE_STATUS_WAITING_ON_CUSTOMER})
		if err != nil || !w.GetCase().GetSlaPaused() || w.GetCase().GetResolutionDueTime() != nil {
			t.Fatalf("waiting = %v, %v; want the clocks paused", w, err)
		}
		clock.set(time.Date(2025, 3, 10, 11, 45, 0, 0, loc))
		r, err := c.UpdateCaseStatus(ctx, &interactionv1.UpdateCaseStatusRequest{Id: fridge.GetId(), Status: interactionv1.CaseStatus_CASE_STATUS_IN_PROGRESS})
		// Resolution: 16h from Friday 17:55 (5 min Friday, 9h Monday, 6h55
		// Tuesday) is Tuesday 15:55, plus the 2h waited: Tuesday 17:55.
		if err != nil || r.GetCase().GetSlaPaused() || !r.GetCase().GetResolutionDueTime().AsTime().Equal(time.Date(2025, 3, 11, 17, 55, 0, 0, loc)) {
			t.Fatalf("resumed = %v, %v; want resolution due Tuesday 17:55", r.GetCase().GetResolutionDueTime().AsTime().In(loc), err)
		}
		comments, err := c.ListCaseComments(ctx, &interactionv1.ListCaseCommentsRequest{CaseId: fridge.GetId()})
		if err != nil || len(comments.GetComments()) != 2 || comments.GetComments()[1].GetCustomerVisible() != true {
			t.Errorf("comments = %v, %v", comments, err)
		}

		res, err := c.ResolveCase(ctx, &interactionv1.ResolveCaseRequest{Id: fridge.GetId(), Resolution: "已上门更换压缩机"})
		if err != nil || res.GetCase().GetStatus() != interactionv1.CaseStatus_CASE_STATUS_RESOLVED || res.GetCase().GetSurveyId() == "" {
			t.Fatalf("resolve = %v, %v", res, err)
		}
		var resolved interactionv1.CaseResolved
		next(interactionv1.SubjectCaseResolved, &resolved)
		if resolved.GetCaseId() != fridge.GetId() || resolved.GetCustomerId() != known || resolved.GetResolution() != "已上门更换压缩机" ||
			resolved.GetSurveyId() != res.GetCase().GetSurveyId() || resolved.GetSurveyUrl() != "https://s.example/"+resolved.GetSurveyId() ||
			resolved.GetAgentId() != "agent-li" || resolved.GetCaseNumber() != fridge.GetCaseNumber() || resolved.GetSubject() != "冰箱不制冷" {
			t.Errorf("CaseResolved = %v", &resolved)
		}
		if _, err := c.ResolveCase(ctx, &interactionv1.ResolveCaseRequest{Id: fridge.GetId(), Resolution: "again"}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("resolving twice: %v, want FailedPrecondition", err)
		}
		re, err := c.ReopenCase(ctx, &interactionv1.ReopenCaseRequest{Id: fridge.GetId(), Reason: "又坏了"})
		if err != nil || re.GetCase().GetStatus() != interactionv1.CaseStatus_CASE_STATUS_REOPENED || re.GetCase().GetResolveTime() != nil {
			t.Errorf("reopen = %v, %v", re, err)
		}
		cl, err := c.UpdateCaseStatus(ctx, &interactionv1.UpdateCaseStatusRequest{Id: fridge.GetId(), Status: interactionv1.CaseStatus_CASE_STATUS_CLOSED})
		if err != nil || cl.GetCase().GetCloseTime() == nil {
			t.Errorf("close = %v, %v", cl, err)
		}
		mine, err := c.ListCases(ctx, &interactionv1.ListCasesRequest{Filter: `assignee_id = "agent-li" AND status = CLOSED`})
		if err != nil || len(mine.GetCases()) != 1 {
			t.Errorf("closed cases of agent-li = %v, %v", mine, err)
		}

		// Bad input and unknown cases.
		for name, call := range map[string]func() error{
			"no subject": func() error {
				_, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: &interactionv1.Case{CustomerId: known}})
				return err
			},
			"note as case kind": func() error {
				_, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: &interactionv1.Case{CustomerId: known, Subject: "x", Kind: interactionv1.InteractionKind_INTERACTION_KIND_NOTE}})
				return err
			},
			"status RESOLVED by setStatus": func() error {
				_, err := c.UpdateCaseStatus(ctx, &interactionv1.UpdateCaseStatusRequest{Id: low.GetId(), Status: interactionv1.CaseStatus_CASE_STATUS_RESOLVED})
				return err
			},
			"bad case id": func() error {
				_, err := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: "C-1"})
				return err
			},
			"calendar with bad hours": func() error {
				_, err := c.CreateBusinessCalendar(ctx, &interactionv1.CreateBusinessCalendarRequest{Calendar: &interactionv1.BusinessCalendar{Id: "x",
					Hours: []*interactionv1.BusinessHours{{Weekday: 1, StartTime: "18:00", EndTime: "09:00"}}}})
				return err
			},
			"policy on a missing calendar": func() error {
				_, err := c.CreateSlaPolicy(ctx, &interactionv1.CreateSlaPolicyRequest{SlaPolicy: &interactionv1.SlaPolicy{
					Priority: interactionv1.CasePriority_CASE_PRIORITY_LOW, CalendarId: "nope", FirstResponseTarget: durationpb.New(time.Hour)}})
				return err
			},
			"bad filter": func() error {
				_, err := c.ListCases(ctx, &interactionv1.ListCasesRequest{Filter: "status = SLEEPING"})
				return err
			},
		} {
			if err := call(); status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s: %v, want InvalidArgument", name, err)
			}
		}
		if _, err := c.GetCase(ctx, &interactionv1.GetCaseRequest{Id: newUUID(t)}); status.Code(err) != codes.NotFound {
			t.Errorf("unknown case: %v, want NotFound", err)
		}
		if _, err := c.CreateCase(ctx, &interactionv1.CreateCaseRequest{Case: &interactionv1.Case{CustomerId: newUUID(t), Subject: "x"}}); status.Code(err) != codes.NotFound {
			t.Errorf("case of an unknown customer: %v, want NotFound", err)
		}
	})
}
