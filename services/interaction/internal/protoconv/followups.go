package protoconv

import (
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/guanxi-crm/guanxi/platform/validation"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// ToDomainSurveyKind converts a survey kind; UNSPECIFIED is CSAT.
func ToDomainSurveyKind(k interactionv1.SurveyKind) (string, bool) {
	switch k {
	case interactionv1.SurveyKind_SURVEY_KIND_UNSPECIFIED, interactionv1.SurveyKind_SURVEY_KIND_CSAT:
		return domain.SurveyCSAT, true
	case interactionv1.SurveyKind_SURVEY_KIND_NPS:
		return domain.SurveyNPS, true
	}
	return "", false
}

// ToProtoSurvey converts a survey; url is where it is answered.
func ToProtoSurvey(s domain.Survey, url string) *interactionv1.Survey {
	out := &interactionv1.Survey{Id: s.ID, Kind: interactionv1.SurveyKind_SURVEY_KIND_CSAT, CustomerId: s.CustomerID,
		CaseId: s.CaseID, InteractionId: s.InteractionID, AgentId: s.AgentID, TeamId: s.TeamID, Comment: s.Comment,
		CreateTime: ToProtoTime(s.CreateTime), AnswerTime: ToProtoTime(s.AnswerTime), SurveyUrl: url}
	if s.Kind == domain.SurveyNPS {
		out.Kind = interactionv1.SurveyKind_SURVEY_KIND_NPS
	}
	if s.Score != nil {
		out.Score, out.Answered = int32(*s.Score), true
	}
	return out
}

// ToProtoSurveyStats converts the figures of one group.
func ToProtoSurveyStats(s domain.SurveyStats) *interactionv1.SurveyStats {
	return &interactionv1.SurveyStats{Key: s.Key, Responses: int32(s.Responses), AverageScore: s.Average(),
		SatisfiedPercent: s.SatisfiedPercent(), Promoters: int32(s.Promoters), Passives: int32(s.Passives),
		Detractors: int32(s.Detractors), Nps: s.NPS()}
}

var triggerToProto = map[string]interactionv1.FollowupTrigger{
	domain.TriggerPurchase:     interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_PURCHASE,
	domain.TriggerCaseResolved: interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_CASE_RESOLVED,
	domain.TriggerWarrantyEnd:  interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_WARRANTY_END,
}

var followupStatusToProto = map[string]interactionv1.FollowupStatus{
	domain.FollowupScheduled: interactionv1.FollowupStatus_FOLLOWUP_STATUS_SCHEDULED,
	domain.FollowupDue:       interactionv1.FollowupStatus_FOLLOWUP_STATUS_DUE,
	domain.FollowupDone:      interactionv1.FollowupStatus_FOLLOWUP_STATUS_DONE,
}

// ToDomainFollowupRule converts the input of CreateFollowupRule.
func ToDomainFollowupRule(p *interactionv1.FollowupRule) (domain.FollowupRule, validation.Violations) {
	var v validation.Violations
	r := domain.FollowupRule{Name: p.GetName(), AgentID: p.GetAgentId(), Note: p.GetNote()}
	for d, t := range triggerToProto {
		if t == p.GetTrigger() {
			r.Trigger = d
		}
	}
	if r.Trigger == "" && p.GetTrigger() != interactionv1.FollowupTrigger_FOLLOWUP_TRIGGER_UNSPECIFIED {
		v.Add("trigger", "unknown trigger")
	}
	if p.GetMinAmount() != nil {
		r.MinAmount = ToDomainMoney(p.GetMinAmount())
	}
	channel, ok := ToDomainChannel(p.GetChannel())
	if !ok {
		v.Add("channel", "unknown channel")
	}
	r.Channel = channel
	r.Offset = toDuration(&v, "offset", p.GetOffset())
	return r, v
}

// ToProtoFollowupRule converts a rule.
func ToProtoFollowupRule(r domain.FollowupRule) *interactionv1.FollowupRule {
	out := &interactionv1.FollowupRule{Id: r.ID, Name: r.Name, Trigger: triggerToProto[r.Trigger], AgentId: r.AgentID,
		Note: r.Note, Channel: channelToProto[r.Channel], Offset: durationpb.New(r.Offset)}
	if !r.MinAmount.IsZero() {
		out.MinAmount = ToProtoMoney(r.MinAmount)
	}
	return out
}

// ToDomainFollowup converts the input of CreateFollowup.
func ToDomainFollowup(p *interactionv1.Followup) (domain.Followup, validation.Violations) {
	var v validation.Violations
	channel, ok := ToDomainChannel(p.GetChannel())
	if !ok {
		v.Add("channel", "unknown channel")
	}
	f := domain.Followup{CustomerID: p.GetCustomerId(), AgentID: p.GetAgentId(), Note: p.GetNote(), Channel: channel}
	f.DueTime = toDomainTime(&v, "due_time", p.GetDueTime())
	return f, v
}

// ToProtoFollowup converts a follow-up.
func ToProtoFollowup(f domain.Followup) *interactionv1.Followup {
	return &interactionv1.Followup{Id: f.ID, CustomerId: f.CustomerID, AgentId: f.AgentID, Reason: f.Reason,
		DueTime: ToProtoTime(f.DueTime), Note: f.Note, Channel: channelToProto[f.Channel],
		Status: followupStatusToProto[f.Status], RuleId: f.RuleID, SourceId: f.SourceID, InteractionId: f.InteractionID,
		CreateTime: ToProtoTime(f.CreateTime), CompleteTime: ToProtoTime(f.CompleteTime)}
}

// ToProtoSurveyLinkView is what a survey link's page may show of sv: no
// personal data, since links get forwarded.
func ToProtoSurveyLinkView(sv domain.Survey) *interactionv1.SurveyLinkView {
	kind := interactionv1.SurveyKind_SURVEY_KIND_CSAT
	if sv.Kind == domain.SurveyNPS {
		kind = interactionv1.SurveyKind_SURVEY_KIND_NPS
	}
	out := &interactionv1.SurveyLinkView{Kind: kind}
	if sv.Score != nil {
		out.Score, out.Answered = int32(*sv.Score), true
	}
	return out
}
