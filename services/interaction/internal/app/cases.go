package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/linksign"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// slaBatch is how many due cases one sweep round handles.
const slaBatch = 100

// WithSurveyBaseURL makes survey links point at an outside survey tool:
// the base with the survey id appended. It wins over WithSurveyLinks.
func WithSurveyBaseURL(base string) Option {
	return func(s *core) { s.surveyBaseURL = base }
}

// WithSurveyLinks makes survey links point at the suite's own answer page,
// publicURL+"/survey?token=...", signed with signer so that the link alone
// lets its holder answer that one survey.
func WithSurveyLinks(publicURL string, signer *linksign.Signer) Option {
	return func(s *core) {
		s.surveyPublicURL = strings.TrimRight(publicURL, "/")
		s.surveySigner = signer
	}
}

// Cases opens, escalates, assigns, resolves and reopens cases, and sweeps
// their SLA clocks.
type Cases struct {
	*core
	// surveys makes the survey link a resolved case sends.
	surveys *Surveys
}

// CaseSettings keeps the business calendars, SLA policies and teams that
// cases are worked under.
type CaseSettings struct{ *core }

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

func (s *core) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// resolveCustomer returns the id to keep records of customer id under,
// refusing unknown and erased customers. The customer service answers with
// the survivor of a merged customer; what this service learnt from merge
// and erasure events backs it up, read in one query.
func (s *core) resolveCustomer(ctx context.Context, id string) (string, error) {
	customerID, err := s.checkCustomer(ctx, id)
	if err != nil {
		return "", err
	}
	survivors, erased, err := s.store.ResolveCustomers(ctx, []string{customerID})
	if err != nil {
		return "", err
	}
	customerID = survivors[customerID]
	if erased[customerID] {
		return "", &domain.CustomerErasedError{CustomerID: id}
	}
	return customerID, nil
}

// checkCustomer asks the customer service whether id exists, and whom it
// survives as.
func (s *core) checkCustomer(ctx context.Context, id string) (string, error) {
	customerID, err := s.customers.Resolve(ctx, id)
	if err != nil {
		return "", fmt.Errorf("check customer: %w", err)
	}
	return customerID, nil
}

// CreateCase is the input of Cases.CreateCase.
type CreateCase struct {
	Case      domain.Case
	RequestID string
}

// CreateCase opens a case. The SLA policy of its priority and customer
// class starts its clocks; the interaction it was opened from is linked to
// it, or, when none is named, one is recorded on the customer's timeline.
func (s *Cases) CreateCase(ctx context.Context, cmd CreateCase) (domain.Case, error) {
	now := s.clock()
	c := cmd.Case
	c.Normalize()
	v := c.Validate().Nest("case")
	v = append(v, domain.ValidateRequestID("request_id", cmd.RequestID)...)
	if err := v.Err(); err != nil {
		return domain.Case{}, fmt.Errorf("create case: %w", err)
	}
	if cmd.RequestID != "" {
		prev, err := s.store.FindCaseByRequest(ctx, cmd.RequestID)
		if err == nil || !errors.Is(err, domain.ErrNotFound) {
			return prev, err
		}
	}
	customerID, err := s.resolveCustomer(ctx, c.CustomerID)
	if err != nil {
		return domain.Case{}, fmt.Errorf("create case: %w", err)
	}
	c.CustomerID = customerID
	if c.OriginInteractionID != "" {
		origin, err := s.store.GetInteraction(ctx, c.OriginInteractionID)
		if errors.Is(err, domain.ErrNotFound) || err == nil && origin.CustomerID != customerID {
			var v validation.Violations
			v.Add("case.origin_interaction_id", "is not an interaction of this customer")
			return domain.Case{}, fmt.Errorf("create case: %w", v.Err())
		}
		if err != nil {
			return domain.Case{}, fmt.Errorf("create case: %w", err)
		}
	}
	if c.ID, err = newID(); err != nil {
		return domain.Case{}, err
	}
	c.Status, c.CreateTime, c.UpdateTime = domain.StatusNew, now, now
	if c.AssigneeID != "" {
		c.Status = domain.StatusAssigned
	}
	policy, err := s.store.FindSLAPolicy(ctx, c.Priority, c.CustomerClass)
	switch {
	case err == nil:
		cal, err := s.store.GetCalendar(ctx, policy.CalendarID)
		if err != nil {
			return domain.Case{}, fmt.Errorf("create case: calendar of policy %s: %w", policy.ID, err)
		}
		c.Apply(policy, &cal)
	case !errors.Is(err, domain.ErrNotFound):
		return domain.Case{}, fmt.Errorf("create case: %w", err)
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.InsertCase(ctx, &c, cmd.RequestID); err != nil {
			return err
		}
		if c.OriginInteractionID != "" {
			return tx.LinkInteraction(ctx, c.OriginInteractionID, c.ID)
		}
		return s.recordOnTimeline(ctx, tx, domain.Interaction{
			CustomerID: c.CustomerID, Kind: c.Kind, Channel: c.Channel, Direction: domain.DirectionInbound,
			Summary: c.Subject, AgentID: c.AssigneeID, TeamID: c.TeamID, CaseID: c.ID, OccurTime: now, CreateTime: now,
		})
	})
	if errors.Is(err, domain.ErrDuplicate) && cmd.RequestID != "" {
		return s.store.FindCaseByRequest(ctx, cmd.RequestID)
	}
	if err != nil {
		return domain.Case{}, fmt.Errorf("create case: %w", err)
	}
	return c, nil
}

// recordOnTimeline records an interaction a case produced (its opening, a
// reply, its resolution) with its events, inside tx.
func (s *core) recordOnTimeline(ctx context.Context, tx domain.Tx, in domain.Interaction) error {
	id, err := newID()
	if err != nil {
		return err
	}
	in.ID = id
	if utf8.RuneCountInString(in.Summary) > domain.MaxSummaryRunes {
		in.Summary = string([]rune(in.Summary)[:domain.MaxSummaryRunes])
	}
	if err := tx.Insert(ctx, domain.Keyed{Interaction: in}); err != nil {
		return err
	}
	for _, ev := range domain.RecordedEvents(in) {
		if err := tx.Publish(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// GetCase returns one case.
func (s *Cases) GetCase(ctx context.Context, id string) (domain.Case, error) {
	if err := domain.ValidateCustomerID("id", id).Err(); err != nil {
		return domain.Case{}, fmt.Errorf("get case: %w", err)
	}
	c, err := s.store.GetCase(ctx, id)
	if err != nil {
		return domain.Case{}, fmt.Errorf("get case: %w", err)
	}
	return c, nil
}

// ListCases is the input of Cases.ListCases.
type ListCases struct {
	Filter   string
	PageSize int
	After    *domain.Cursor
}

// CasePage is one page of cases.
type CasePage struct {
	Cases []domain.Case
	Next  *domain.Cursor
}

// ListCases returns a page of cases, newest first.
func (s *Cases) ListCases(ctx context.Context, q ListCases) (CasePage, error) {
	var v validation.Violations
	if q.PageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return CasePage{}, fmt.Errorf("list cases: %w", err)
	}
	size := pageSize(q.PageSize)
	list, err := s.store.ListCases(ctx, domain.CaseQuery{Filter: q.Filter, After: q.After, Limit: size + 1})
	if err != nil {
		return CasePage{}, fmt.Errorf("list cases: %w", err)
	}
	page := CasePage{Cases: list}
	if len(list) > size {
		page.Cases = list[:size]
		last := list[size-1]
		page.Next = &domain.Cursor{OccurTime: last.CreateTime, ID: last.ID}
	}
	return page, nil
}

func pageSize(n int) int {
	switch {
	case n == 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// calendarOf returns the calendar of a case's SLA; nil without one.
func (s *Cases) calendarOf(ctx context.Context, c domain.Case) (*domain.BusinessCalendar, error) {
	if c.CalendarID == "" {
		return nil, nil
	}
	cal, err := s.store.GetCalendar(ctx, c.CalendarID)
	if err != nil {
		return nil, err
	}
	return &cal, nil
}

// changeCase runs change on the locked case with its calendar and stores
// the result, marking and announcing targets the change reveals as missed.
func (s *Cases) changeCase(ctx context.Context, op, id string, change func(tx domain.Tx, c *domain.Case, cal *domain.BusinessCalendar, now time.Time) error) (domain.Case, error) {
	if err := domain.ValidateCustomerID("id", id).Err(); err != nil {
		return domain.Case{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	var out domain.Case
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		c, err := tx.LockCase(ctx, id)
		if err != nil {
			return err
		}
		cal, err := s.calendarOf(ctx, c)
		if err != nil {
			return err
		}
		if err := change(tx, &c, cal, now); err != nil {
			return err
		}
		c.UpdateTime = now
		if err := s.markBreaches(ctx, tx, &c, now); err != nil {
			return err
		}
		if err := tx.UpdateCase(ctx, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return domain.Case{}, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// markBreaches flags the targets c has missed by now, escalates to the
// team's manager and publishes one event per target.
func (s *Cases) markBreaches(ctx context.Context, tx domain.Tx, c *domain.Case, now time.Time) error {
	targets := c.Breaches(now)
	if len(targets) == 0 {
		return nil
	}
	manager := ""
	if c.TeamID != "" {
		team, err := s.store.GetTeam(ctx, c.TeamID)
		switch {
		case err == nil:
			manager = team.ManagerID
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
	}
	for _, target := range targets {
		previous := c.EscalatedTo
		c.MarkBreached(target, manager, now)
		if err := tx.Publish(ctx, domain.CaseSLABreached{Case: *c, Target: target}); err != nil {
			return err
		}
		// Each breach escalates to the manager, who hears of each: a
		// missed resolution after a missed first response is news too.
		if manager == "" {
			continue
		}
		if err := tx.Publish(ctx, domain.CaseEscalated{Case: *c, Previous: previous, Cause: domain.EscalationSLABreach,
			Target: target, At: now}); err != nil {
			return err
		}
	}
	return nil
}

// EscalateCase escalates an open case by hand to person, else to the
// manager of its team, and publishes interaction.case.escalated so they
// hear of it. by is who escalates, reason why.
func (s *Cases) EscalateCase(ctx context.Context, id, person, reason, by string) (domain.Case, error) {
	var v validation.Violations
	if len(person) > domain.MaxKeyLength {
		v.Add("escalated_to", fmt.Sprintf("must be at most %d bytes", domain.MaxKeyLength))
	}
	if utf8.RuneCountInString(reason) > domain.MaxTextRunes {
		v.Add("reason", fmt.Sprintf("must be at most %d characters", domain.MaxTextRunes))
	}
	if err := v.Err(); err != nil {
		return domain.Case{}, fmt.Errorf("escalate case: %w", err)
	}
	return s.changeCase(ctx, "escalate case", id, func(tx domain.Tx, c *domain.Case, _ *domain.BusinessCalendar, now time.Time) error {
		to := person
		if to == "" && c.TeamID != "" {
			team, err := s.store.GetTeam(ctx, c.TeamID)
			switch {
			case err == nil:
				to = team.ManagerID
			case !errors.Is(err, domain.ErrNotFound):
				return err
			}
		}
		if to == "" {
			var v validation.Violations
			v.Add("escalated_to", "is required: the case's team has no manager to escalate to")
			return v.Err()
		}
		previous, err := c.Escalate(to, now)
		if err != nil {
			return err
		}
		return tx.Publish(ctx, domain.CaseEscalated{Case: *c, Previous: previous, Cause: domain.EscalationManual,
			Reason: reason, By: by, At: now})
	})
}

// AssignCase gives an open case to an agent and, when given, a team.
func (s *Cases) AssignCase(ctx context.Context, id, assignee, team string) (domain.Case, error) {
	var v validation.Violations
	if assignee == "" {
		v.Add("assignee_id", "is required")
	}
	if len(assignee) > domain.MaxKeyLength || len(team) > domain.MaxKeyLength {
		v.Add("assignee_id", fmt.Sprintf("ids must be at most %d bytes", domain.MaxKeyLength))
	}
	if err := v.Err(); err != nil {
		return domain.Case{}, fmt.Errorf("assign case: %w", err)
	}
	return s.changeCase(ctx, "assign case", id, func(_ domain.Tx, c *domain.Case, cal *domain.BusinessCalendar, now time.Time) error {
		if !c.Status.Open() {
			return &domain.TransitionError{From: c.Status, To: domain.StatusAssigned}
		}
		if c.Status == domain.StatusNew || c.Status == domain.StatusReopened {
			if err := c.MoveTo(domain.StatusAssigned, now, cal); err != nil {
				return err
			}
		}
		c.AssigneeID = assignee
		if team != "" {
			c.TeamID = team
		}
		return nil
	})
}

// UpdateCaseStatus moves a case to IN_PROGRESS, WAITING_ON_CUSTOMER or
// CLOSED.
func (s *Cases) UpdateCaseStatus(ctx context.Context, id string, to domain.CaseStatus) (domain.Case, error) {
	switch to {
	case domain.StatusInProgress, domain.StatusWaiting, domain.StatusClosed:
	default:
		var v validation.Violations
		v.Add("status", "must be IN_PROGRESS, WAITING_ON_CUSTOMER or CLOSED (use assign, resolve and reopen for the others)")
		return domain.Case{}, fmt.Errorf("update case status: %w", v.Err())
	}
	return s.changeCase(ctx, "update case status", id, func(_ domain.Tx, c *domain.Case, cal *domain.BusinessCalendar, now time.Time) error {
		return c.MoveTo(to, now, cal)
	})
}

// ResolveCase resolves a case: the resolution goes on the customer's
// timeline, a CSAT survey is prepared, and interaction.case.resolved asks
// notification to tell the customer and invite them to the survey.
func (s *Cases) ResolveCase(ctx context.Context, id, resolution, agent string) (domain.Case, error) {
	var v validation.Violations
	switch n := utf8.RuneCountInString(resolution); {
	case n == 0:
		v.Add("resolution", "is required")
	case n > domain.MaxTextRunes:
		v.Add("resolution", fmt.Sprintf("must be at most %d characters", domain.MaxTextRunes))
	}
	if len(agent) > domain.MaxKeyLength {
		v.Add("agent_id", fmt.Sprintf("must be at most %d bytes", domain.MaxKeyLength))
	}
	if err := v.Err(); err != nil {
		return domain.Case{}, fmt.Errorf("resolve case: %w", err)
	}
	rules, err := s.store.ListFollowupRules(ctx)
	if err != nil {
		return domain.Case{}, fmt.Errorf("resolve case: %w", err)
	}
	return s.changeCase(ctx, "resolve case", id, func(tx domain.Tx, c *domain.Case, cal *domain.BusinessCalendar, now time.Time) error {
		if err := c.MoveTo(domain.StatusResolved, now, cal); err != nil {
			return err
		}
		if agent == "" {
			agent = c.AssigneeID
		}
		surveyID, err := newID()
		if err != nil {
			return err
		}
		c.Resolution, c.SurveyID = resolution, surveyID
		if err := tx.InsertSurvey(ctx, domain.Survey{ID: surveyID, Kind: domain.SurveyCSAT, CustomerID: c.CustomerID,
			CaseID: c.ID, AgentID: agent, TeamID: c.TeamID, CreateTime: now}); err != nil {
			return err
		}
		if err := s.recordOnTimeline(ctx, tx, domain.Interaction{
			CustomerID: c.CustomerID, Kind: domain.KindMessage, Channel: c.Channel, Direction: domain.DirectionOutbound,
			Summary: resolution, AgentID: agent, TeamID: c.TeamID, CaseID: c.ID, OccurTime: now, CreateTime: now,
		}); err != nil {
			return err
		}
		if err := scheduleFollowups(ctx, tx, domain.FollowupsForCase(rules, *c, agent, now)); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.CaseResolved{Case: *c, SurveyURL: s.surveys.SurveyURL(surveyID), AgentID: agent})
	})
}

// ReopenCase reopens a resolved or closed case; the reason is kept as an
// internal note.
func (s *Cases) ReopenCase(ctx context.Context, id, reason string) (domain.Case, error) {
	if utf8.RuneCountInString(reason) > domain.MaxTextRunes {
		var v validation.Violations
		v.Add("reason", fmt.Sprintf("must be at most %d characters", domain.MaxTextRunes))
		return domain.Case{}, fmt.Errorf("reopen case: %w", v.Err())
	}
	return s.changeCase(ctx, "reopen case", id, func(tx domain.Tx, c *domain.Case, cal *domain.BusinessCalendar, now time.Time) error {
		if err := c.MoveTo(domain.StatusReopened, now, cal); err != nil {
			return err
		}
		if reason == "" {
			return nil
		}
		cid, err := newID()
		if err != nil {
			return err
		}
		return tx.InsertComment(ctx, domain.Comment{ID: cid, CaseID: c.ID, Body: "reopened: " + reason, CreateTime: now})
	})
}

// AddCaseComment adds an internal note or a customer-visible reply. The
// first reply is the case's first response; every reply also goes on the
// customer's timeline.
func (s *Cases) AddCaseComment(ctx context.Context, caseID string, cm domain.Comment) (domain.Comment, error) {
	if err := cm.Validate().Nest("comment").Err(); err != nil {
		return domain.Comment{}, fmt.Errorf("add case comment: %w", err)
	}
	_, err := s.changeCase(ctx, "add case comment", caseID, func(tx domain.Tx, c *domain.Case, _ *domain.BusinessCalendar, now time.Time) error {
		id, err := newID()
		if err != nil {
			return err
		}
		cm.ID, cm.CaseID, cm.CreateTime = id, c.ID, now
		if err := tx.InsertComment(ctx, cm); err != nil {
			return err
		}
		if !cm.CustomerVisible {
			return nil
		}
		c.Responded(now)
		return s.recordOnTimeline(ctx, tx, domain.Interaction{
			CustomerID: c.CustomerID, Kind: domain.KindMessage, Channel: c.Channel, Direction: domain.DirectionOutbound,
			Summary: cm.Body, AgentID: cm.AuthorID, TeamID: c.TeamID, CaseID: c.ID, OccurTime: now, CreateTime: now,
		})
	})
	if err != nil {
		return domain.Comment{}, err
	}
	return cm, nil
}

// ListCaseComments returns a case's comments, oldest first.
func (s *Cases) ListCaseComments(ctx context.Context, caseID string) ([]domain.Comment, error) {
	if _, err := s.GetCase(ctx, caseID); err != nil {
		return nil, fmt.Errorf("list case comments: %w", err)
	}
	list, err := s.store.ListComments(ctx, caseID)
	if err != nil {
		return nil, fmt.Errorf("list case comments: %w", err)
	}
	return list, nil
}

// CreateBusinessCalendar stores a calendar, replacing one with its id.
// Running cases keep the due times computed so far; they move with the new
// calendar on their next pause or resume.
func (s *CaseSettings) CreateBusinessCalendar(ctx context.Context, cal domain.BusinessCalendar) (domain.BusinessCalendar, error) {
	cal.Normalize()
	if err := cal.Validate().Nest("calendar").Err(); err != nil {
		return cal, fmt.Errorf("create calendar: %w", err)
	}
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.PutCalendar(ctx, cal) }); err != nil {
		return cal, fmt.Errorf("create calendar: %w", err)
	}
	return cal, nil
}

// GetBusinessCalendar returns one calendar.
func (s *CaseSettings) GetBusinessCalendar(ctx context.Context, id string) (domain.BusinessCalendar, error) {
	cal, err := s.store.GetCalendar(ctx, id)
	if err != nil {
		return cal, fmt.Errorf("get calendar: %w", err)
	}
	return cal, nil
}

// CreateSLAPolicy stores a policy; one per priority and customer class.
func (s *CaseSettings) CreateSLAPolicy(ctx context.Context, p domain.SLAPolicy) (domain.SLAPolicy, error) {
	v := p.Validate().Nest("sla_policy")
	if p.CalendarID != "" {
		if _, err := s.store.GetCalendar(ctx, p.CalendarID); errors.Is(err, domain.ErrNotFound) {
			v.Add("sla_policy.calendar_id", "no such calendar")
		} else if err != nil {
			return p, fmt.Errorf("create sla policy: %w", err)
		}
	}
	if err := v.Err(); err != nil {
		return p, fmt.Errorf("create sla policy: %w", err)
	}
	var err error
	if p.ID, err = newID(); err != nil {
		return p, err
	}
	p.CreateTime = s.clock()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.InsertSLAPolicy(ctx, p) }); err != nil {
		return p, fmt.Errorf("create sla policy: %w", err)
	}
	return p, nil
}

// ListSLAPolicies returns every policy.
func (s *CaseSettings) ListSLAPolicies(ctx context.Context) ([]domain.SLAPolicy, error) {
	return s.store.ListSLAPolicies(ctx)
}

// CreateTeam stores a team, replacing one with its id.
func (s *CaseSettings) CreateTeam(ctx context.Context, t domain.Team) (domain.Team, error) {
	if err := t.Validate().Nest("team").Err(); err != nil {
		return t, fmt.Errorf("create team: %w", err)
	}
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.PutTeam(ctx, t) }); err != nil {
		return t, fmt.Errorf("create team: %w", err)
	}
	return t, nil
}

// CheckSLA marks the SLA targets open cases have missed by now, escalates
// them and publishes interaction.case.sla_breached for each. It returns how
// many cases it marked.
func (s *Cases) CheckSLA(ctx context.Context) (int, error) {
	marked := 0
	for {
		now := s.clock()
		due, err := s.store.DueCases(ctx, now, slaBatch)
		if err != nil {
			return marked, fmt.Errorf("check sla: %w", err)
		}
		for _, c := range due {
			if _, err := s.changeCase(ctx, "check sla", c.ID, func(domain.Tx, *domain.Case, *domain.BusinessCalendar, time.Time) error {
				return nil
			}); err != nil {
				return marked, err
			}
			marked++
		}
		if len(due) < slaBatch {
			return marked, nil
		}
	}
}
