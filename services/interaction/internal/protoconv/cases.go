package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/guanxi-crm/guanxi/platform/validation"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

var priorityToProto = map[domain.Priority]interactionv1.CasePriority{
	domain.PriorityLow:    interactionv1.CasePriority_CASE_PRIORITY_LOW,
	domain.PriorityNormal: interactionv1.CasePriority_CASE_PRIORITY_NORMAL,
	domain.PriorityHigh:   interactionv1.CasePriority_CASE_PRIORITY_HIGH,
	domain.PriorityUrgent: interactionv1.CasePriority_CASE_PRIORITY_URGENT,
}

var statusToProto = map[domain.CaseStatus]interactionv1.CaseStatus{
	domain.StatusNew:        interactionv1.CaseStatus_CASE_STATUS_NEW,
	domain.StatusAssigned:   interactionv1.CaseStatus_CASE_STATUS_ASSIGNED,
	domain.StatusInProgress: interactionv1.CaseStatus_CASE_STATUS_IN_PROGRESS,
	domain.StatusWaiting:    interactionv1.CaseStatus_CASE_STATUS_WAITING_ON_CUSTOMER,
	domain.StatusResolved:   interactionv1.CaseStatus_CASE_STATUS_RESOLVED,
	domain.StatusClosed:     interactionv1.CaseStatus_CASE_STATUS_CLOSED,
	domain.StatusReopened:   interactionv1.CaseStatus_CASE_STATUS_REOPENED,
}

// ToProtoPriority converts a priority.
func ToProtoPriority(p domain.Priority) interactionv1.CasePriority { return priorityToProto[p] }

// ToDomainPriority converts a priority; UNSPECIFIED is "" (the default
// applies) and ok is false for an unknown value.
func ToDomainPriority(p interactionv1.CasePriority) (domain.Priority, bool) {
	if p == interactionv1.CasePriority_CASE_PRIORITY_UNSPECIFIED {
		return "", true
	}
	for d, v := range priorityToProto {
		if v == p {
			return d, true
		}
	}
	return "", false
}

// ToDomainStatus converts a status; ok is false for UNSPECIFIED or an
// unknown value.
func ToDomainStatus(s interactionv1.CaseStatus) (domain.CaseStatus, bool) {
	for d, v := range statusToProto {
		if v == s {
			return d, true
		}
	}
	return "", false
}

// ToDomainCase converts the input of CreateCase; output-only fields are
// ignored.
func ToDomainCase(p *interactionv1.Case) (domain.Case, validation.Violations) {
	var v validation.Violations
	priority, ok := ToDomainPriority(p.GetPriority())
	if !ok {
		v.Add("priority", "unknown priority")
	}
	channel, ok := ToDomainChannel(p.GetChannel())
	if !ok {
		v.Add("channel", "unknown channel")
	}
	kind, ok := ToDomainKind(p.GetKind())
	if !ok {
		v.Add("kind", "unknown kind")
	}
	return domain.Case{
		CustomerID: p.GetCustomerId(), Subject: p.GetSubject(), Description: p.GetDescription(),
		Category: p.GetCategory(), Priority: priority, AssigneeID: p.GetAssigneeId(), TeamID: p.GetTeamId(),
		CustomerClass: p.GetCustomerClass(), Channel: channel, Kind: kind, OriginInteractionID: p.GetOriginInteractionId(),
	}, v
}

// ToProtoCase converts a case.
func ToProtoCase(c domain.Case) *interactionv1.Case {
	return &interactionv1.Case{
		Id: c.ID, CaseNumber: c.Number, CustomerId: c.CustomerID, Subject: c.Subject, Description: c.Description,
		Category: c.Category, Priority: priorityToProto[c.Priority], Status: statusToProto[c.Status],
		AssigneeId: c.AssigneeID, TeamId: c.TeamID, CustomerClass: c.CustomerClass, Channel: channelToProto[c.Channel],
		Kind: kindToProto[c.Kind], OriginInteractionId: c.OriginInteractionID, SlaPolicyId: c.SLAPolicyID,
		FirstResponseDueTime: ToProtoTime(c.FirstResponseDue), ResolutionDueTime: ToProtoTime(c.ResolutionDue),
		FirstResponseTime: ToProtoTime(c.FirstResponseAt), ResolveTime: ToProtoTime(c.ResolvedAt),
		CloseTime: ToProtoTime(c.ClosedAt), FirstResponseBreached: c.FirstResponseBreached,
		ResolutionBreached: c.ResolutionBreached, EscalatedTo: c.EscalatedTo, Resolution: c.Resolution,
		SurveyId: c.SurveyID, CreateTime: ToProtoTime(c.CreateTime), UpdateTime: ToProtoTime(c.UpdateTime),
		SlaPaused: !c.PausedAt.IsZero(),
	}
}

// ToProtoComment converts a comment.
func ToProtoComment(c domain.Comment) *interactionv1.CaseComment {
	return &interactionv1.CaseComment{Id: c.ID, CaseId: c.CaseID, AuthorId: c.AuthorID, Body: c.Body,
		CustomerVisible: c.CustomerVisible, CreateTime: ToProtoTime(c.CreateTime)}
}

// ToDomainCalendar converts a calendar.
func ToDomainCalendar(p *interactionv1.BusinessCalendar) domain.BusinessCalendar {
	c := domain.BusinessCalendar{ID: p.GetId(), Name: p.GetName(), TimeZone: p.GetTimeZone(), Holidays: p.GetHolidays()}
	for _, h := range p.GetHours() {
		c.Hours = append(c.Hours, domain.BusinessHours{Weekday: int(h.GetWeekday()), Start: h.GetStartTime(), End: h.GetEndTime()})
	}
	return c
}

// ToProtoCalendar converts a calendar.
func ToProtoCalendar(c domain.BusinessCalendar) *interactionv1.BusinessCalendar {
	out := &interactionv1.BusinessCalendar{Id: c.ID, Name: c.Name, TimeZone: c.TimeZone, Holidays: c.Holidays}
	for _, h := range c.Hours {
		out.Hours = append(out.Hours, &interactionv1.BusinessHours{Weekday: int32(h.Weekday), StartTime: h.Start, EndTime: h.End})
	}
	return out
}

// ToDomainSLAPolicy converts the input of CreateSlaPolicy.
func ToDomainSLAPolicy(p *interactionv1.SlaPolicy) (domain.SLAPolicy, validation.Violations) {
	var v validation.Violations
	priority, ok := ToDomainPriority(p.GetPriority())
	if !ok {
		v.Add("priority", "unknown priority")
	}
	out := domain.SLAPolicy{Name: p.GetName(), Priority: priority, CustomerClass: p.GetCustomerClass(), CalendarID: p.GetCalendarId()}
	out.FirstResponseTarget = toDuration(&v, "first_response_target", p.GetFirstResponseTarget())
	out.ResolutionTarget = toDuration(&v, "resolution_target", p.GetResolutionTarget())
	return out, v
}

func toDuration(v *validation.Violations, field string, d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	if err := d.CheckValid(); err != nil {
		v.Add(field, "is not a valid duration")
		return 0
	}
	return d.AsDuration()
}

// ToProtoSLAPolicy converts a policy.
func ToProtoSLAPolicy(p domain.SLAPolicy) *interactionv1.SlaPolicy {
	out := &interactionv1.SlaPolicy{Id: p.ID, Name: p.Name, Priority: priorityToProto[p.Priority],
		CustomerClass: p.CustomerClass, CalendarId: p.CalendarID}
	if p.FirstResponseTarget > 0 {
		out.FirstResponseTarget = durationpb.New(p.FirstResponseTarget)
	}
	if p.ResolutionTarget > 0 {
		out.ResolutionTarget = durationpb.New(p.ResolutionTarget)
	}
	return out
}
