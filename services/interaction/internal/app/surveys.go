package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// surveyLinkPurpose separates survey tokens from other signed links.
const surveyLinkPurpose = "survey"

// Surveys creates satisfaction surveys, makes their links and records
// their answers.
type Surveys struct{ *core }

// SurveyURL is the link where a survey is answered: on an outside survey
// tool when one is configured, else the suite's signed answer page; ""
// when neither is set up.
func (s *Surveys) SurveyURL(id string) string {
	switch {
	case s.surveyBaseURL != "":
		return s.surveyBaseURL + id
	case s.surveySigner != nil:
		// Survey ids are UUIDs, never holding '|': signing cannot fail.
		tok, _ := s.surveySigner.Sign(surveyLinkPurpose, id)
		return s.surveyPublicURL + "/survey?token=" + tok
	}
	return ""
}

// surveyOfLink returns the survey id a survey link's token names; a token
// this service did not sign is invalid input, so a tampered link is a
// client error and never reaches the store.
func (s *Surveys) surveyOfLink(token string) (string, error) {
	var v validation.Violations
	if strings.TrimSpace(token) == "" {
		v.Add("token", "is required")
		return "", v.Err()
	}
	if s.surveySigner == nil {
		v.Add("token", "survey links are not enabled")
		return "", v.Err()
	}
	f, err := s.surveySigner.Verify(surveyLinkPurpose, token, 1)
	if err != nil || domain.ValidateCustomerID("token", f[0]).Err() != nil {
		v.Add("token", "is not a valid survey link")
		return "", v.Err()
	}
	return f[0], nil
}

// SurveyByLink returns the survey a signed survey link names.
func (s *Surveys) SurveyByLink(ctx context.Context, token string) (domain.Survey, error) {
	id, err := s.surveyOfLink(token)
	if err != nil {
		return domain.Survey{}, fmt.Errorf("get survey by link: %w", err)
	}
	return s.GetSurvey(ctx, id)
}

// AnswerSurveyByLink records the answer to the survey a signed survey link
// names; the link is the customer's credential.
func (s *Surveys) AnswerSurveyByLink(ctx context.Context, token string, score int, comment string) (domain.Survey, error) {
	id, err := s.surveyOfLink(token)
	if err != nil {
		return domain.Survey{}, fmt.Errorf("answer survey by link: %w", err)
	}
	return s.AnswerSurvey(ctx, id, score, comment)
}

// CreateSurvey prepares a survey about a customer's case or purchase.
func (s *Surveys) CreateSurvey(ctx context.Context, sv domain.Survey) (domain.Survey, error) {
	if sv.Kind == "" {
		sv.Kind = domain.SurveyCSAT
	}
	if err := sv.Validate().Nest("survey").Err(); err != nil {
		return sv, fmt.Errorf("create survey: %w", err)
	}
	customerID, err := s.resolveCustomer(ctx, sv.CustomerID)
	if err != nil {
		return sv, fmt.Errorf("create survey: %w", err)
	}
	var v validation.Violations
	if sv.CaseID != "" {
		if c, err := s.store.GetCase(ctx, sv.CaseID); errors.Is(err, domain.ErrNotFound) || err == nil && c.CustomerID != customerID {
			v.Add("survey.case_id", "is not a case of this customer")
		} else if err != nil {
			return sv, fmt.Errorf("create survey: %w", err)
		}
	}
	if sv.InteractionID != "" {
		if in, err := s.store.GetInteraction(ctx, sv.InteractionID); errors.Is(err, domain.ErrNotFound) || err == nil && in.CustomerID != customerID {
			v.Add("survey.interaction_id", "is not an interaction of this customer")
		} else if err != nil {
			return sv, fmt.Errorf("create survey: %w", err)
		}
	}
	if err := v.Err(); err != nil {
		return sv, fmt.Errorf("create survey: %w", err)
	}
	sv.CustomerID = customerID
	if sv.ID, err = newID(); err != nil {
		return sv, err
	}
	sv.CreateTime = s.clock()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.InsertSurvey(ctx, sv) }); err != nil {
		return sv, fmt.Errorf("create survey: %w", err)
	}
	return sv, nil
}

// GetSurvey returns one survey.
func (s *Surveys) GetSurvey(ctx context.Context, id string) (domain.Survey, error) {
	if err := domain.ValidateCustomerID("id", id).Err(); err != nil {
		return domain.Survey{}, fmt.Errorf("get survey: %w", err)
	}
	sv, err := s.store.GetSurvey(ctx, id)
	if err != nil {
		return sv, fmt.Errorf("get survey: %w", err)
	}
	return sv, nil
}

// AnswerSurvey records the customer's answer once: it goes on the
// customer's timeline and is published for loyalty's engagement points.
func (s *Surveys) AnswerSurvey(ctx context.Context, id string, score int, comment string) (domain.Survey, error) {
	if err := domain.ValidateCustomerID("id", id).Err(); err != nil {
		return domain.Survey{}, fmt.Errorf("answer survey: %w", err)
	}
	now := s.clock()
	var out domain.Survey
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		sv, err := tx.LockSurvey(ctx, id)
		if err != nil {
			return err
		}
		if err := sv.Answer(score, comment, now); err != nil {
			return err
		}
		if err := tx.UpdateSurvey(ctx, sv); err != nil {
			return err
		}
		summary := fmt.Sprintf("%s %d", sv.Kind, score)
		if comment != "" {
			summary += ": " + comment
		}
		if err := s.recordOnTimeline(ctx, tx, domain.Interaction{
			CustomerID: sv.CustomerID, Kind: domain.KindSurvey, Channel: domain.ChannelWeb, Direction: domain.DirectionInbound,
			Summary: summary, AgentID: sv.AgentID, TeamID: sv.TeamID, CaseID: sv.CaseID, OccurTime: now, CreateTime: now,
			Details: map[string]string{"survey_id": sv.ID},
		}); err != nil {
			return err
		}
		out = sv
		return tx.Publish(ctx, domain.SurveyAnswered{Survey: sv})
	})
	if err != nil {
		return domain.Survey{}, fmt.Errorf("answer survey: %w", err)
	}
	return out, nil
}

// SurveyStats is the input of Surveys.SurveyStats.
type SurveyStats struct {
	Kind       string
	GroupBy    string
	Start, End time.Time
	TimeZone   string
}

// SurveyStats aggregates answered surveys per agent, team or month.
func (s *Surveys) SurveyStats(ctx context.Context, q SurveyStats) ([]domain.SurveyStats, error) {
	var v validation.Violations
	if q.TimeZone == "" {
		q.TimeZone = domain.DefaultTimeZone
	}
	loc, err := time.LoadLocation(q.TimeZone)
	if err != nil {
		v.Add("time_zone", "is not an IANA time zone")
	}
	if !q.Start.IsZero() && !q.End.IsZero() && !q.End.After(q.Start) {
		v.Add("end_time", "must be after start_time")
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("survey stats: %w", err)
	}
	list, err := s.store.AnsweredSurveys(ctx, domain.SurveyQuery{Kind: q.Kind, Start: q.Start, End: q.End})
	if err != nil {
		return nil, fmt.Errorf("survey stats: %w", err)
	}
	return domain.AggregateSurveys(list, q.GroupBy, loc), nil
}
