package grpc

import (
	"context"
	"time"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// CreateSurvey prepares a survey.
func (s *Server) CreateSurvey(ctx context.Context, req *interactionv1.CreateSurveyRequest) (*interactionv1.CreateSurveyResponse, error) {
	p := req.GetSurvey()
	if p == nil {
		return nil, required("survey")
	}
	kind, ok := protoconv.ToDomainSurveyKind(p.GetKind())
	if !ok {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "survey.kind", Description: "unknown kind"})
	}
	sv, err := s.surveys.CreateSurvey(ctx, domain.Survey{Kind: kind, CustomerID: p.GetCustomerId(), CaseID: p.GetCaseId(),
		InteractionID: p.GetInteractionId(), AgentID: p.GetAgentId(), TeamID: p.GetTeamId()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateSurveyResponse{Survey: protoconv.ToProtoSurvey(sv, s.surveys.SurveyURL(sv.ID))}, nil
}

// GetSurvey returns a survey.
func (s *Server) GetSurvey(ctx context.Context, req *interactionv1.GetSurveyRequest) (*interactionv1.GetSurveyResponse, error) {
	sv, err := s.surveys.GetSurvey(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.GetSurveyResponse{Survey: protoconv.ToProtoSurvey(sv, s.surveys.SurveyURL(sv.ID))}, nil
}

// AnswerSurvey records an answer.
func (s *Server) AnswerSurvey(ctx context.Context, req *interactionv1.AnswerSurveyRequest) (*interactionv1.AnswerSurveyResponse, error) {
	sv, err := s.surveys.AnswerSurvey(ctx, req.GetId(), int(req.GetScore()), req.GetComment())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.AnswerSurveyResponse{Survey: protoconv.ToProtoSurvey(sv, s.surveys.SurveyURL(sv.ID))}, nil
}

// GetSurveyByLink returns what a survey link's page shows.
func (s *Server) GetSurveyByLink(ctx context.Context, req *interactionv1.GetSurveyByLinkRequest) (*interactionv1.GetSurveyByLinkResponse, error) {
	sv, err := s.surveys.SurveyByLink(ctx, req.GetToken())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.GetSurveyByLinkResponse{Survey: protoconv.ToProtoSurveyLinkView(sv)}, nil
}

// AnswerSurveyByLink records an answer given through a survey link.
func (s *Server) AnswerSurveyByLink(ctx context.Context, req *interactionv1.AnswerSurveyByLinkRequest) (*interactionv1.AnswerSurveyByLinkResponse, error) {
	sv, err := s.surveys.AnswerSurveyByLink(ctx, req.GetToken(), int(req.GetScore()), req.GetComment())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.AnswerSurveyByLinkResponse{Survey: protoconv.ToProtoSurveyLinkView(sv)}, nil
}

// GetSurveyStats aggregates answers.
func (s *Server) GetSurveyStats(ctx context.Context, req *interactionv1.GetSurveyStatsRequest) (*interactionv1.GetSurveyStatsResponse, error) {
	var v validation.Violations
	kind, ok := protoconv.ToDomainSurveyKind(req.GetKind())
	if !ok {
		v.Add("kind", "unknown kind")
	}
	groupBy := map[interactionv1.SurveyGroupBy]string{
		interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_UNSPECIFIED: domain.GroupByAgent,
		interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_AGENT:       domain.GroupByAgent,
		interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_TEAM:        domain.GroupByTeam,
		interactionv1.SurveyGroupBy_SURVEY_GROUP_BY_MONTH:       domain.GroupByMonth,
	}[req.GetGroupBy()]
	if groupBy == "" {
		v.Add("group_by", "unknown grouping")
	}
	var start, end time.Time
	if t := req.GetStartTime(); t != nil {
		if t.CheckValid() != nil {
			v.Add("start_time", "is not a valid timestamp")
		}
		start = t.AsTime()
	}
	if t := req.GetEndTime(); t != nil {
		if t.CheckValid() != nil {
			v.Add("end_time", "is not a valid timestamp")
		}
		end = t.AsTime()
	}
	if len(v) > 0 {
		return nil, toStatus(v.Err())
	}
	stats, err := s.surveys.SurveyStats(ctx, app.SurveyStats{Kind: kind, GroupBy: groupBy, Start: start, End: end, TimeZone: req.GetTimeZone()})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.GetSurveyStatsResponse{}
	for _, st := range stats {
		resp.Stats = append(resp.Stats, protoconv.ToProtoSurveyStats(st))
	}
	return resp, nil
}

// CreateFollowupRule stores a rule.
func (s *Server) CreateFollowupRule(ctx context.Context, req *interactionv1.CreateFollowupRuleRequest) (*interactionv1.CreateFollowupRuleResponse, error) {
	if req.GetRule() == nil {
		return nil, required("rule")
	}
	r, v := protoconv.ToDomainFollowupRule(req.GetRule())
	if len(v) > 0 {
		return nil, toStatus(v.Nest("rule").Err())
	}
	out, err := s.followups.CreateFollowupRule(ctx, r)
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateFollowupRuleResponse{Rule: protoconv.ToProtoFollowupRule(out)}, nil
}

// ListFollowupRules returns every rule.
func (s *Server) ListFollowupRules(ctx context.Context, _ *interactionv1.ListFollowupRulesRequest) (*interactionv1.ListFollowupRulesResponse, error) {
	list, err := s.followups.ListFollowupRules(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListFollowupRulesResponse{}
	for _, r := range list {
		resp.Rules = append(resp.Rules, protoconv.ToProtoFollowupRule(r))
	}
	return resp, nil
}

// CreateFollowup schedules a follow-up by hand.
func (s *Server) CreateFollowup(ctx context.Context, req *interactionv1.CreateFollowupRequest) (*interactionv1.CreateFollowupResponse, error) {
	if req.GetFollowup() == nil {
		return nil, required("followup")
	}
	f, v := protoconv.ToDomainFollowup(req.GetFollowup())
	if len(v) > 0 {
		return nil, toStatus(v.Nest("followup").Err())
	}
	out, err := s.followups.CreateFollowup(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateFollowupResponse{Followup: protoconv.ToProtoFollowup(out)}, nil
}

// ListFollowups returns follow-ups by due time.
func (s *Server) ListFollowups(ctx context.Context, req *interactionv1.ListFollowupsRequest) (*interactionv1.ListFollowupsResponse, error) {
	after, err := decodePageToken(req)
	if err != nil {
		return nil, err
	}
	page, err := s.followups.ListFollowups(ctx, app.ListFollowups{Filter: ownFilter(ctx, req.GetFilter(), "agent_id", ""), PageSize: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListFollowupsResponse{}
	for _, f := range page.Followups {
		resp.Followups = append(resp.Followups, protoconv.ToProtoFollowup(f))
	}
	if page.Next != nil {
		resp.NextPageToken = encodePageToken(req, *page.Next)
	}
	return resp, nil
}

// CompleteFollowup records a follow-up done.
func (s *Server) CompleteFollowup(ctx context.Context, req *interactionv1.CompleteFollowupRequest) (*interactionv1.CompleteFollowupResponse, error) {
	var v validation.Violations
	kind, ok := protoconv.ToDomainKind(req.GetKind())
	if !ok {
		v.Add("kind", "unknown kind")
	}
	channel, ok := protoconv.ToDomainChannel(req.GetChannel())
	if !ok {
		v.Add("channel", "unknown channel")
	}
	if len(v) > 0 {
		return nil, toStatus(v.Err())
	}
	f, err := s.followups.CompleteFollowup(ctx, app.CompleteFollowup{ID: req.GetId(), Summary: req.GetSummary(), Kind: kind,
		Channel: channel, AgentID: req.GetAgentId()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CompleteFollowupResponse{Followup: protoconv.ToProtoFollowup(f)}, nil
}
