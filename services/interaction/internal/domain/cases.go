package domain

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Priority is how urgent a case is.
type Priority string

// The priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// CaseStatus is where a case is in its life.
type CaseStatus string

// The statuses.
const (
	StatusNew        CaseStatus = "new"
	StatusAssigned   CaseStatus = "assigned"
	StatusInProgress CaseStatus = "in_progress"
	StatusWaiting    CaseStatus = "waiting_on_customer"
	StatusResolved   CaseStatus = "resolved"
	StatusClosed     CaseStatus = "closed"
	StatusReopened   CaseStatus = "reopened"
)

// SLA targets, as CaseSlaBreached names them.
const (
	TargetFirstResponse = "first_response"
	TargetResolution    = "resolution"
)

// Limits on cases.
const (
	MaxSubjectRunes = 200
	MaxTextRunes    = 10_000
)

// PriorityNames and CaseStatusNames are the stored names, for filters.
func PriorityNames() []string {
	return []string{string(PriorityLow), string(PriorityNormal), string(PriorityHigh), string(PriorityUrgent)}
}

// CaseStatusNames are the stored names of the statuses, for filters.
func CaseStatusNames() []string {
	return []string{string(StatusNew), string(StatusAssigned), string(StatusInProgress), string(StatusWaiting),
		string(StatusResolved), string(StatusClosed), string(StatusReopened)}
}

// Open reports whether work on a case with this status is still due.
func (s CaseStatus) Open() bool {
	return s != StatusResolved && s != StatusClosed
}

// Case is a ticket: a complaint, inquiry or repair request worked on until
// it is resolved, under SLA clocks.
type Case struct {
	ID                  string
	Number              string
	CustomerID          string
	Subject             string
	Description         string
	Category            string
	Priority            Priority
	Status              CaseStatus
	AssigneeID          string
	TeamID              string
	CustomerClass       string
	Channel             Channel
	Kind                Kind
	OriginInteractionID string

	// The SLA of the policy that applied when the case was opened; later
	// policy changes do not move a running clock. No policy: empty ids.
	SLAPolicyID         string
	CalendarID          string
	FirstResponseTarget time.Duration
	ResolutionTarget    time.Duration
	// Due times; zero while paused or without a policy.
	FirstResponseDue time.Time
	ResolutionDue    time.Time
	// PausedFor is the business time spent waiting on the customer so far;
	// PausedAt is when the current wait began (zero when not waiting).
	PausedFor time.Duration
	PausedAt  time.Time

	FirstResponseAt       time.Time
	ResolvedAt            time.Time
	ClosedAt              time.Time
	FirstResponseBreached bool
	ResolutionBreached    bool
	EscalatedTo           string
	Resolution            string
	SurveyID              string
	CreateTime            time.Time
	UpdateTime            time.Time
}

// Normalize fills the defaults of a new case.
func (c *Case) Normalize() {
	if c.Priority == "" {
		c.Priority = PriorityNormal
	}
	if c.Kind == KindUnspecified {
		c.Kind = KindComplaint
	}
}

// Validate checks a new case; field paths are relative to the case.
func (c *Case) Validate() validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, "customer_id", c.CustomerID)
	switch n := utf8.RuneCountInString(c.Subject); {
	case n == 0:
		v.Add("subject", "is required")
	case n > MaxSubjectRunes:
		v.Add("subject", fmt.Sprintf("must be at most %d characters", MaxSubjectRunes))
	}
	if utf8.RuneCountInString(c.Description) > MaxTextRunes {
		v.Add("description", fmt.Sprintf("must be at most %d characters", MaxTextRunes))
	}
	for f, s := range map[string]string{"category": c.Category, "assignee_id": c.AssigneeID, "team_id": c.TeamID, "customer_class": c.CustomerClass} {
		checkKey(&v, f, s)
	}
	switch c.Kind {
	case KindComplaint, KindInquiry, KindRepair:
	default:
		v.Add("kind", "must be COMPLAINT, INQUIRY or REPAIR_REQUEST")
	}
	if !c.Channel.valid() {
		v.Add("channel", "unknown channel")
	}
	if c.OriginInteractionID != "" {
		checkCustomerID(&v, "origin_interaction_id", c.OriginInteractionID)
	}
	return v
}

// SLAPolicy sets the targets of cases of one priority and customer class.
type SLAPolicy struct {
	ID                  string
	Name                string
	Priority            Priority
	CustomerClass       string
	FirstResponseTarget time.Duration
	ResolutionTarget    time.Duration
	CalendarID          string
	CreateTime          time.Time
}

// Validate checks a new policy.
func (p *SLAPolicy) Validate() validation.Violations {
	var v validation.Violations
	switch p.Priority {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		v.Add("priority", "is required")
	}
	checkKey(&v, "customer_class", p.CustomerClass)
	checkKey(&v, "name", p.Name)
	if p.FirstResponseTarget < 0 {
		v.Add("first_response_target", "must not be negative")
	}
	if p.ResolutionTarget < 0 {
		v.Add("resolution_target", "must not be negative")
	}
	if p.FirstResponseTarget == 0 && p.ResolutionTarget == 0 {
		v.Add("first_response_target", "a policy needs a first response or a resolution target")
	}
	if p.CalendarID == "" {
		v.Add("calendar_id", "is required")
	}
	return v
}

// Apply starts the case's SLA clocks under the policy and calendar.
func (c *Case) Apply(p SLAPolicy, cal *BusinessCalendar) {
	c.SLAPolicyID, c.CalendarID = p.ID, p.CalendarID
	c.FirstResponseTarget, c.ResolutionTarget = p.FirstResponseTarget, p.ResolutionTarget
	c.recomputeDue(cal)
}

// recomputeDue sets the due times from the opening time, the targets and
// the business time paused so far; while paused they are unknown.
func (c *Case) recomputeDue(cal *BusinessCalendar) {
	c.FirstResponseDue, c.ResolutionDue = time.Time{}, time.Time{}
	if c.SLAPolicyID == "" || cal == nil || !c.PausedAt.IsZero() {
		return
	}
	if c.FirstResponseTarget > 0 {
		c.FirstResponseDue = cal.AddBusiness(c.CreateTime, c.FirstResponseTarget+c.PausedFor)
	}
	if c.ResolutionTarget > 0 {
		c.ResolutionDue = cal.AddBusiness(c.CreateTime, c.ResolutionTarget+c.PausedFor)
	}
}

// TransitionError says a case cannot move from its status to another.
type TransitionError struct {
	From, To CaseStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a %s case cannot become %s", e.From, e.To)
}

// allowed lists the statuses each status may move to.
var allowed = map[CaseStatus][]CaseStatus{
	StatusNew:        {StatusAssigned, StatusInProgress, StatusWaiting, StatusResolved, StatusClosed},
	StatusAssigned:   {StatusAssigned, StatusInProgress, StatusWaiting, StatusResolved, StatusClosed},
	StatusInProgress: {StatusAssigned, StatusWaiting, StatusResolved, StatusClosed},
	StatusWaiting:    {StatusAssigned, StatusInProgress, StatusResolved, StatusClosed},
	StatusReopened:   {StatusAssigned, StatusInProgress, StatusWaiting, StatusResolved, StatusClosed},
	StatusResolved:   {StatusClosed, StatusReopened},
	StatusClosed:     {StatusReopened},
}

// MoveTo changes the status at now, pausing the SLA clocks on entering
// WAITING_ON_CUSTOMER and resuming them on leaving it.
func (c *Case) MoveTo(to CaseStatus, now time.Time, cal *BusinessCalendar) error {
	ok := false
	for _, s := range allowed[c.Status] {
		ok = ok || s == to
	}
	if !ok {
		return &TransitionError{From: c.Status, To: to}
	}
	if c.Status == StatusWaiting && to != StatusWaiting && !c.PausedAt.IsZero() {
		if cal != nil {
			c.PausedFor += cal.BusinessBetween(c.PausedAt, now)
		}
		c.PausedAt = time.Time{}
		c.recomputeDue(cal)
	}
	if to == StatusWaiting {
		c.PausedAt = now
		c.recomputeDue(cal)
	}
	switch to {
	case StatusResolved:
		c.ResolvedAt = now
	case StatusClosed:
		c.ClosedAt = now
	case StatusReopened:
		c.ResolvedAt, c.ClosedAt, c.Resolution = time.Time{}, time.Time{}, ""
	}
	c.Status = to
	c.UpdateTime = now
	return nil
}

// Responded records the first customer-visible reply at now.
func (c *Case) Responded(now time.Time) {
	if c.FirstResponseAt.IsZero() {
		c.FirstResponseAt = now
	}
}

// Breaches returns the SLA targets the case has missed by now and that are
// not yet marked: a first response not given (or given late), a
// resolution not reached (or reached late). Paused clocks never breach.
func (c *Case) Breaches(now time.Time) []string {
	var out []string
	if !c.FirstResponseBreached && !c.FirstResponseDue.IsZero() {
		at := now
		if !c.FirstResponseAt.IsZero() {
			at = c.FirstResponseAt
		}
		if !at.Before(c.FirstResponseDue) && (c.FirstResponseAt.IsZero() || c.FirstResponseAt.After(c.FirstResponseDue)) {
			out = append(out, TargetFirstResponse)
		}
	}
	if !c.ResolutionBreached && !c.ResolutionDue.IsZero() {
		at := now
		if !c.ResolvedAt.IsZero() {
			at = c.ResolvedAt
		}
		if !at.Before(c.ResolutionDue) && (c.ResolvedAt.IsZero() || c.ResolvedAt.After(c.ResolutionDue)) {
			out = append(out, TargetResolution)
		}
	}
	return out
}

// MarkBreached flags target as missed and escalates to manager.
func (c *Case) MarkBreached(target, manager string, now time.Time) {
	switch target {
	case TargetFirstResponse:
		c.FirstResponseBreached = true
	case TargetResolution:
		c.ResolutionBreached = true
	}
	if manager != "" {
		c.EscalatedTo = manager
	}
	c.UpdateTime = now
}

// Escalate escalates an open case to person by hand and returns whom it
// was escalated to before.
func (c *Case) Escalate(person string, now time.Time) (previous string, err error) {
	if !c.Status.Open() {
		return "", &PreconditionError{Msg: "only an open case can be escalated; this one is " + string(c.Status)}
	}
	previous = c.EscalatedTo
	c.EscalatedTo = person
	c.UpdateTime = now
	return previous, nil
}

// DueFor returns the due time of target.
func (c *Case) DueFor(target string) time.Time {
	if target == TargetFirstResponse {
		return c.FirstResponseDue
	}
	return c.ResolutionDue
}

// Comment is an internal note or a customer-visible reply on a case.
type Comment struct {
	ID              string
	CaseID          string
	AuthorID        string
	Body            string
	CustomerVisible bool
	CreateTime      time.Time
}

// Validate checks a new comment.
func (c *Comment) Validate() validation.Violations {
	var v validation.Violations
	switch n := utf8.RuneCountInString(c.Body); {
	case n == 0:
		v.Add("body", "is required")
	case n > MaxTextRunes:
		v.Add("body", fmt.Sprintf("must be at most %d characters", MaxTextRunes))
	}
	checkKey(&v, "author_id", c.AuthorID)
	return v
}

// Team is a group of agents with a manager, whom breaches escalate to.
type Team struct {
	ID        string
	Name      string
	ManagerID string
}

// Validate checks a team.
func (t *Team) Validate() validation.Violations {
	var v validation.Violations
	if !calendarID.MatchString(t.ID) {
		v.Add("id", "must be 1 to 63 lower-case letters, digits or hyphens")
	}
	if t.ManagerID == "" {
		v.Add("manager_id", "is required")
	}
	checkKey(&v, "manager_id", t.ManagerID)
	checkKey(&v, "name", t.Name)
	return v
}

// Survey is a satisfaction survey sent to a customer about a case or a
// purchase.
type Survey struct {
	ID            string
	Kind          string // "csat" (1-5) or "nps" (0-10)
	CustomerID    string
	CaseID        string
	InteractionID string
	AgentID       string
	TeamID        string
	Score         *int
	Comment       string
	CreateTime    time.Time
	AnswerTime    time.Time
}

// Survey kinds.
const (
	SurveyCSAT = "csat"
	SurveyNPS  = "nps"
)
