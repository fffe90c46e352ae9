package domain

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// PreconditionError says a request is valid but the resource is not in a
// state that allows it (a survey answered already, a follow-up done).
type PreconditionError struct{ Msg string }

func (e *PreconditionError) Error() string { return e.Msg }

// Validate checks a survey to prepare.
func (s *Survey) Validate() validation.Violations {
	var v validation.Violations
	if s.Kind != SurveyCSAT && s.Kind != SurveyNPS {
		v.Add("kind", "must be CSAT or NPS")
	}
	checkCustomerID(&v, "customer_id", s.CustomerID)
	if s.CaseID == "" && s.InteractionID == "" {
		v.Add("interaction_id", "is required when case_id is empty: a survey is about a case or a purchase")
	}
	if s.CaseID != "" {
		checkCustomerID(&v, "case_id", s.CaseID)
	}
	if s.InteractionID != "" {
		checkCustomerID(&v, "interaction_id", s.InteractionID)
	}
	checkKey(&v, "agent_id", s.AgentID)
	checkKey(&v, "team_id", s.TeamID)
	return v
}

// Answer records the customer's score at now.
func (s *Survey) Answer(score int, comment string, now time.Time) error {
	if s.Score != nil {
		return &PreconditionError{Msg: "the survey was answered already"}
	}
	var v validation.Violations
	lo, hi := 1, 5
	if s.Kind == SurveyNPS {
		lo, hi = 0, 10
	}
	if score < lo || score > hi {
		v.Add("score", fmt.Sprintf("must be %d to %d for %s", lo, hi, s.Kind))
	}
	if utf8.RuneCountInString(comment) > MaxTextRunes {
		v.Add("comment", fmt.Sprintf("must be at most %d characters", MaxTextRunes))
	}
	if err := v.Err(); err != nil {
		return err
	}
	s.Score, s.Comment, s.AnswerTime = &score, comment, now
	return nil
}

// SurveyAnswered is emitted when a customer answers a survey; loyalty may
// award engagement points.
type SurveyAnswered struct {
	Survey Survey
}

func (SurveyAnswered) isEvent() {}

// Survey groupings.
const (
	GroupByAgent = "agent"
	GroupByTeam  = "team"
	GroupByMonth = "month"
)

// SurveyStats are the figures of one group of answers.
type SurveyStats struct {
	Key        string
	Responses  int
	Sum        int
	Satisfied  int // CSAT 4-5
	Promoters  int // NPS 9-10
	Passives   int // NPS 7-8
	Detractors int // NPS 0-6
}

// Average is the mean score.
func (s SurveyStats) Average() float64 {
	if s.Responses == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Responses)
}

// SatisfiedPercent is the share of CSAT answers of 4 or 5.
func (s SurveyStats) SatisfiedPercent() float64 { return percent(s.Satisfied, s.Responses) }

// NPS is the percentage of promoters minus that of detractors.
func (s SurveyStats) NPS() float64 {
	return percent(s.Promoters, s.Responses) - percent(s.Detractors, s.Responses)
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// AggregateSurveys groups answered surveys by agent, team or month (of the
// answer, in loc), sorted by key.
func AggregateSurveys(surveys []Survey, groupBy string, loc *time.Location) []SurveyStats {
	by := map[string]*SurveyStats{}
	for _, s := range surveys {
		if s.Score == nil {
			continue
		}
		var key string
		switch groupBy {
		case GroupByTeam:
			key = s.TeamID
		case GroupByMonth:
			key = s.AnswerTime.In(loc).Format("2006-01")
		default:
			key = s.AgentID
		}
		st := by[key]
		if st == nil {
			st = &SurveyStats{Key: key}
			by[key] = st
		}
		score := *s.Score
		st.Responses++
		st.Sum += score
		switch s.Kind {
		case SurveyCSAT:
			if score >= 4 {
				st.Satisfied++
			}
		case SurveyNPS:
			switch {
			case score >= 9:
				st.Promoters++
			case score >= 7:
				st.Passives++
			default:
				st.Detractors++
			}
		}
	}
	out := make([]SurveyStats, 0, len(by))
	for _, st := range by {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b SurveyStats) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}
