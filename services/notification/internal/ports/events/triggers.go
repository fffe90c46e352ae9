package events

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/memberdays"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Triggers is what the interaction, loyalty and segmentation events ask of
// the service.
type Triggers interface {
	Notify(ctx context.Context, consumer, eventID, customerID string, member *app.Membership, notices ...app.Notice) error
	NotifyAgent(ctx context.Context, consumer, eventID, agentID, kind string, vars domain.Vars) error
	ChangeProgram(ctx context.Context, eventID string, p domain.LoyaltyProgram) error
	AddMembers(ctx context.Context, evs []app.Enrolment) error
}

// waitForCustomer is the redelivery schedule of the trigger consumers: an
// event naming a customer whose created event has not been handled yet
// is tried again for a few minutes before it is dead-lettered.
var waitForCustomer = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute}

// InteractionsConsumer is the durable consumer of resolved cases, due
// follow-ups and escalated cases.
func InteractionsConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         interactionv1.Stream,
		Durable:        app.ConsumerInteractions,
		MaxDeliver:     10,
		Backoff:        waitForCustomer,
		FilterSubjects: []string{interactionv1.SubjectCaseResolved, interactionv1.SubjectFollowupDue, interactionv1.SubjectCaseEscalated},
	}
}

// LoyaltyConsumer is the durable consumer of tier changes, expiring
// points, enrollments and program changes (member days). A backlog is
// applied a batch at a time (see LoyaltyBatch).
func LoyaltyConsumer(uc Triggers) platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		HandleBatch: LoyaltyBatch(uc),
		Stream:      loyaltyv1.Stream,
		Durable:     app.ConsumerLoyalty,
		MaxDeliver:  10,
		Backoff:     waitForCustomer,
		FilterSubjects: []string{loyaltyv1.SubjectTierChanged, loyaltyv1.SubjectPointsExpiring,
			loyaltyv1.SubjectMemberEnrolled, loyaltyv1.SubjectProgramChanged},
	}
}

// SegmentationConsumer is the durable consumer of customer class changes.
func SegmentationConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         segmentationv1.Stream,
		Durable:        app.ConsumerSegmentation,
		MaxDeliver:     10,
		Backoff:        waitForCustomer,
		FilterSubjects: []string{segmentationv1.SubjectCustomerClassChanged},
	}
}

func decode(msg platformevents.Message, into proto.Message) error {
	if err := proto.Unmarshal(msg.Payload, into); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
	}
	return nil
}

// InteractionsHandler turns a resolved case into the customer's message
// and the satisfaction survey invitation, a due follow-up into a notice to
// its agent, and an escalated case into a notice to whom it was escalated
// to.
func InteractionsHandler(uc Triggers) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		switch msg.Subject {
		case interactionv1.SubjectCaseResolved:
			var ev interactionv1.CaseResolved
			if err := decode(msg, &ev); err != nil {
				return err
			}
			notices := []app.Notice{{Kind: domain.KindCaseResolved, Vars: domain.Vars{
				"case_number": ev.GetCaseNumber(), "case_subject": ev.GetSubject(), "resolution": ev.GetResolution(),
			}}}
			if ev.GetSurveyUrl() != "" {
				notices = append(notices, app.Notice{Kind: domain.KindSurveyInvitation, Vars: domain.Vars{
					"case_number": ev.GetCaseNumber(), "survey_url": ev.GetSurveyUrl(),
				}})
			}
			return permanentIfInvalid(uc.Notify(ctx, app.ConsumerInteractions, msg.ID, ev.GetCustomerId(), nil, notices...))
		case interactionv1.SubjectFollowupDue:
			var ev interactionv1.FollowupDue
			if err := decode(msg, &ev); err != nil {
				return err
			}
			due := ""
			if ev.GetDueTime() != nil {
				due = ev.GetDueTime().AsTime().UTC().Format(time.RFC3339)
			}
			return permanentIfInvalid(uc.NotifyAgent(ctx, app.ConsumerInteractions, msg.ID, ev.GetAgentId(), domain.KindFollowupDue, domain.Vars{
				"agent_id": ev.GetAgentId(), "customer_id": ev.GetCustomerId(), "reason": ev.GetReason(), "due_time": due, "note": ev.GetNote(),
			}))
		case interactionv1.SubjectCaseEscalated:
			var ev interactionv1.CaseEscalated
			if err := decode(msg, &ev); err != nil {
				return err
			}
			return permanentIfInvalid(uc.NotifyAgent(ctx, app.ConsumerInteractions, msg.ID, ev.GetEscalatedTo(), domain.KindCaseEscalated, escalationVars(&ev)))
		default:
			return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", msg.Subject, app.ConsumerInteractions))
		}
	}
}

// escalationVars are the variables of a case_escalated notice.
func escalationVars(ev *interactionv1.CaseEscalated) domain.Vars {
	why := "手动升级"
	switch ev.GetCause() {
	case "sla_breach":
		why = "SLA超时（解决时限）"
		if ev.GetTarget() == "first_response" {
			why = "SLA超时（首次响应）"
		}
	default:
		if ev.GetEscalatedBy() != "" {
			why += "（" + ev.GetEscalatedBy() + "）"
		}
		if ev.GetReason() != "" {
			why += "：" + ev.GetReason()
		}
	}
	by := ""
	if ev.GetEscalatedBy() != "" {
		by = " by " + ev.GetEscalatedBy()
	}
	priority := strings.ToLower(strings.TrimPrefix(ev.GetPriority().String(), "CASE_PRIORITY_"))
	return domain.Vars{
		domain.VarCustomerID: ev.GetCustomerId(), "agent_id": ev.GetEscalatedTo(), "case_id": ev.GetCaseId(),
		"case_number": ev.GetCaseNumber(), "case_subject": ev.GetSubject(), "priority": priority, "why": why,
		"cause": ev.GetCause(), "target": ev.GetTarget(), "reason": ev.GetReason(), "escalated_by": by,
		"assignee_id": ev.GetAssigneeId(), "team_id": ev.GetTeamId(),
	}
}

// LoyaltyHandler congratulates on a new tier and warns of expiring
// points; it remembers members (enrolled, or of a new tier) and the
// programs' member days, for member-day notices.
func LoyaltyHandler(uc Triggers) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		switch msg.Subject {
		case loyaltyv1.SubjectTierChanged:
			var ev loyaltyv1.TierChanged
			if err := decode(msg, &ev); err != nil {
				return err
			}
			code, name := ev.GetNewTierCode(), ev.GetNewTierName()
			if name == "" {
				name = code
			}
			if name == "" && ev.GetNewTier() != loyaltyv1.Tier_TIER_UNSPECIFIED {
				name = ev.GetNewTier().String()
			}
			member := &app.Membership{ProgramID: ev.GetProgramId(), TierCode: code, TierName: name}
			return permanentIfInvalid(uc.Notify(ctx, app.ConsumerLoyalty, msg.ID, ev.GetCustomerId(), member, app.Notice{
				Kind: domain.KindTierChanged, Vars: domain.Vars{"tier_name": name, "tier_code": code, "program_id": ev.GetProgramId()},
			}))
		case loyaltyv1.SubjectPointsExpiring:
			var ev loyaltyv1.PointsExpiring
			if err := decode(msg, &ev); err != nil {
				return err
			}
			expire := ""
			if ev.GetExpireTime() != nil {
				expire = ev.GetExpireTime().AsTime().UTC().Format(time.DateOnly)
			}
			return permanentIfInvalid(uc.Notify(ctx, app.ConsumerLoyalty, msg.ID, ev.GetCustomerId(), nil, app.Notice{
				Kind: domain.KindPointsExpiring, Vars: domain.Vars{
					"points": strconv.FormatInt(ev.GetPoints(), 10), "expire_date": expire,
					"points_balance": strconv.FormatInt(ev.GetPointsBalance(), 10),
				},
			}))
		case loyaltyv1.SubjectMemberEnrolled:
			e, err := decodeEnrolment(msg)
			if err != nil {
				return err
			}
			m := e.Member
			member := &app.Membership{ProgramID: m.ProgramID, TierCode: m.TierCode, TierName: m.TierName, Joined: true}
			return permanentIfInvalid(uc.Notify(ctx, app.ConsumerLoyalty, msg.ID, m.CustomerID, member))
		case loyaltyv1.SubjectProgramChanged:
			var ev loyaltyv1.ProgramChanged
			if err := decode(msg, &ev); err != nil {
				return err
			}
			return permanentIfInvalid(uc.ChangeProgram(ctx, msg.ID, ToDomainProgram(&ev)))
		default:
			return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", msg.Subject, app.ConsumerLoyalty))
		}
	}
}

// LoyaltyBatch applies a batch of the loyalty consumer in stream order:
// each run of enrollments at once (an import's backlog is nothing else),
// the other events one by one between them. When it fails, the consumer
// rolls the batch back and handles its messages one by one through
// LoyaltyHandler, which decides retries and dead letters.
func LoyaltyBatch(uc Triggers) platformevents.BatchHandler {
	one := LoyaltyHandler(uc)
	enrolled := func(m platformevents.Message) bool { return m.Subject == loyaltyv1.SubjectMemberEnrolled }
	decodeOne := func(m platformevents.Message) (app.Enrolment, bool, error) {
		e, err := decodeEnrolment(m)
		return e, true, err
	}
	return func(ctx context.Context, ms []platformevents.Message) error {
		return platformevents.ApplyRuns(ctx, ms, enrolled, decodeOne, uc.AddMembers, one)
	}
}

func decodeEnrolment(msg platformevents.Message) (app.Enrolment, error) {
	var ev loyaltyv1.MemberEnrolled
	if err := decode(msg, &ev); err != nil {
		return app.Enrolment{}, err
	}
	return app.Enrolment{EventID: msg.ID, Member: domain.ProgramMember{CustomerID: ev.GetCustomerId(),
		ProgramID: ev.GetProgramId(), TierCode: ev.GetTierCode(), TierName: ev.GetTierName()}}, nil
}

// AtRiskSegment is the RFM segment of customers slipping away.
const AtRiskSegment = "at_risk"

// WinBackDue reports whether a class change asks for a win-back offer: an
// A customer who has just become at risk.
func WinBackDue(ev *segmentationv1.CustomerClassChanged) bool {
	wasA := ev.GetOldClass() == segmentationv1.AbcClass_ABC_CLASS_A
	return wasA && ev.GetNewRfmSegment() == AtRiskSegment && ev.GetOldRfmSegment() != AtRiskSegment
}

// SegmentationHandler sends a win-back offer when a valuable customer
// starts slipping away; other class changes ask for nothing.
func SegmentationHandler(uc Triggers) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		if msg.Subject != segmentationv1.SubjectCustomerClassChanged {
			return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", msg.Subject, app.ConsumerSegmentation))
		}
		var ev segmentationv1.CustomerClassChanged
		if err := decode(msg, &ev); err != nil {
			return err
		}
		if !WinBackDue(&ev) {
			return nil
		}
		return permanentIfInvalid(uc.Notify(ctx, app.ConsumerSegmentation, msg.ID, ev.GetCustomerId(), nil, app.Notice{Kind: domain.KindWinBack}))
	}
}

// ToDomainProgram converts a ProgramChanged event to the program it
// announces.
func ToDomainProgram(ev *loyaltyv1.ProgramChanged) domain.LoyaltyProgram {
	p := domain.LoyaltyProgram{ID: ev.GetProgramId(), Name: ev.GetName(), TimeZone: ev.GetTimeZone()}
	if ev.GetUpdateTime() != nil {
		p.UpdateTime = ev.GetUpdateTime().AsTime()
	}
	for _, d := range ev.GetMemberDays() {
		p.MemberDays = append(p.MemberDays, domain.ProgramMemberDay{ID: d.GetId(),
			Rule: memberdays.Rule{Weekday: int(d.GetWeekday()), MonthDay: int(d.GetMonthDay())}})
	}
	return p
}
