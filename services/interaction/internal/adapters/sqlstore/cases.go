package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

const caseColumns = `id, number, customer_id, subject, description, category, priority, status,
	assignee_id, team_id, customer_class, channel, kind, origin_interaction_id, sla_policy_id, calendar_id,
	first_response_target_us, resolution_target_us, first_response_due, resolution_due, paused_for_us, paused_at,
	first_response_at, resolved_at, closed_at, first_response_breached, resolution_breached, escalated_to,
	resolution, survey_id, create_time, update_time`

// micros stores an optional time: NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqldb.Micros(t)
}

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return sqldb.FromMicros(n.Int64)
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

type scanner interface {
	Scan(dest ...any) error
}

func scanCase(r scanner) (domain.Case, error) {
	var (
		c                                          domain.Case
		priority, status, channel, kind            string
		frTarget, resTarget, pausedFor             int64
		frDue, resDue, pausedAt, frAt, resAt, clAt sql.NullInt64
		frBreached, resBreached                    int
		created, updated                           int64
	)
	err := r.Scan(&c.ID, &c.Number, &c.CustomerID, &c.Subject, &c.Description, &c.Category, &priority, &status,
		&c.AssigneeID, &c.TeamID, &c.CustomerClass, &channel, &kind, &c.OriginInteractionID, &c.SLAPolicyID, &c.CalendarID,
		&frTarget, &resTarget, &frDue, &resDue, &pausedFor, &pausedAt,
		&frAt, &resAt, &clAt, &frBreached, &resBreached, &c.EscalatedTo,
		&c.Resolution, &c.SurveyID, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Case{}, fmt.Errorf("case: %w", domain.ErrNotFound)
	}
	if err != nil {
		return domain.Case{}, fmt.Errorf("scan case: %w", err)
	}
	c.Priority, c.Status = domain.Priority(priority), domain.CaseStatus(status)
	c.Channel, c.Kind = domain.Channel(channel), domain.Kind(kind)
	c.FirstResponseTarget, c.ResolutionTarget = time.Duration(frTarget)*time.Microsecond, time.Duration(resTarget)*time.Microsecond
	c.PausedFor = time.Duration(pausedFor) * time.Microsecond
	c.FirstResponseDue, c.ResolutionDue, c.PausedAt = fromNull(frDue), fromNull(resDue), fromNull(pausedAt)
	c.FirstResponseAt, c.ResolvedAt, c.ClosedAt = fromNull(frAt), fromNull(resAt), fromNull(clAt)
	c.FirstResponseBreached, c.ResolutionBreached = frBreached == 1, resBreached == 1
	c.CreateTime, c.UpdateTime = sqldb.FromMicros(created), sqldb.FromMicros(updated)
	return c, nil
}

func caseValues(c domain.Case) []any {
	return []any{c.ID, c.Number, c.CustomerID, c.Subject, c.Description, c.Category, string(c.Priority), string(c.Status),
		c.AssigneeID, c.TeamID, c.CustomerClass, string(c.Channel), string(c.Kind), c.OriginInteractionID, c.SLAPolicyID, c.CalendarID,
		c.FirstResponseTarget.Microseconds(), c.ResolutionTarget.Microseconds(), micros(c.FirstResponseDue), micros(c.ResolutionDue),
		c.PausedFor.Microseconds(), micros(c.PausedAt), micros(c.FirstResponseAt), micros(c.ResolvedAt), micros(c.ClosedAt),
		flag(c.FirstResponseBreached), flag(c.ResolutionBreached), c.EscalatedTo, c.Resolution, c.SurveyID,
		sqldb.Micros(c.CreateTime), sqldb.Micros(c.UpdateTime)}
}

// GetCase returns one case.
func (s *Store) GetCase(ctx context.Context, id string) (domain.Case, error) {
	return scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE id = ?`, id))
}

// FindCaseByRequest returns the case created under the request id.
func (s *Store) FindCaseByRequest(ctx context.Context, requestID string) (domain.Case, error) {
	return scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE request_id = ?`, requestID))
}

// LockCase reads a case for update.
func (t *storeTx) LockCase(ctx context.Context, id string) (domain.Case, error) {
	q := `SELECT ` + caseColumns + ` FROM cases WHERE id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return scanCase(t.tx.QueryRow(ctx, q, id))
}

// InsertCase numbers and stores a new case.
func (t *storeTx) InsertCase(ctx context.Context, c *domain.Case, requestID string) error {
	var n int64
	if err := t.tx.QueryRow(ctx, `UPDATE case_numbers SET last = last + 1 WHERE id = 1 RETURNING last`).Scan(&n); err != nil {
		return fmt.Errorf("number case: %w", err)
	}
	c.Number = fmt.Sprintf("C-%06d", n)
	args := append(caseValues(*c), nullableAny(requestID))
	_, err := t.tx.Exec(ctx, `INSERT INTO cases (`+caseColumns+`, request_id) VALUES (?`+repeatParams(len(args)-1)+`)`, args...)
	if sqldb.IsUniqueViolation(err) {
		return fmt.Errorf("insert case: %w", domain.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	return nil
}

func repeatParams(n int) string {
	b := make([]byte, 0, n*3)
	for range n {
		b = append(b, ", ?"...)
	}
	return string(b)
}

// UpdateCase writes every mutable field of a case.
func (t *storeTx) UpdateCase(ctx context.Context, c domain.Case) error {
	_, err := t.tx.Exec(ctx, `UPDATE cases SET status = ?, assignee_id = ?, team_id = ?,
		first_response_due = ?, resolution_due = ?, paused_for_us = ?, paused_at = ?, first_response_at = ?,
		resolved_at = ?, closed_at = ?, first_response_breached = ?, resolution_breached = ?, escalated_to = ?,
		resolution = ?, survey_id = ?, origin_interaction_id = ?, update_time = ? WHERE id = ?`,
		string(c.Status), c.AssigneeID, c.TeamID, micros(c.FirstResponseDue), micros(c.ResolutionDue),
		c.PausedFor.Microseconds(), micros(c.PausedAt), micros(c.FirstResponseAt), micros(c.ResolvedAt), micros(c.ClosedAt),
		flag(c.FirstResponseBreached), flag(c.ResolutionBreached), c.EscalatedTo, c.Resolution, c.SurveyID,
		c.OriginInteractionID, sqldb.Micros(c.UpdateTime), c.ID)
	if err != nil {
		return fmt.Errorf("update case: %w", err)
	}
	return nil
}

// caseSchema declares the fields a case filter may use.
var caseSchema = aipfilter.Schema{Fields: map[string]aipfilter.Field{
	"customer_id":             {Kind: aipfilter.String, Column: "customer_id"},
	"status":                  enumField("status", domain.CaseStatusNames(), "CASE_STATUS_"),
	"priority":                enumField("priority", domain.PriorityNames(), "CASE_PRIORITY_"),
	"assignee_id":             {Kind: aipfilter.String, Column: "assignee_id"},
	"team_id":                 {Kind: aipfilter.String, Column: "team_id"},
	"category":                {Kind: aipfilter.String, Column: "category"},
	"kind":                    enumField("kind", domain.KindNames(), "INTERACTION_KIND_"),
	"escalated_to":            {Kind: aipfilter.String, Column: "escalated_to"},
	"create_time":             {Kind: aipfilter.Timestamp, Column: "create_time"},
	"first_response_breached": boolField("first_response_breached"),
	"resolution_breached":     boolField("resolution_breached"),
}}

// boolField is a flag stored as INTEGER 0/1.
func boolField(column string) aipfilter.Field {
	return aipfilter.Field{Kind: aipfilter.Bool, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
		return aipfilter.Comparison(column, op, aipfilter.Value{Kind: aipfilter.Number, Arg: int64(flag(v.Arg == true))})
	}}
}

// ListCases returns cases newest first.
func (s *Store) ListCases(ctx context.Context, cq domain.CaseQuery) ([]domain.Case, error) {
	where, args, err := aipfilter.Compile(cq.Filter, caseSchema)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + caseColumns + ` FROM cases WHERE 1 = 1 `
	if where != "" {
		q += `AND (` + where + `) `
	}
	if cq.CustomerID != "" {
		q += `AND customer_id = ? `
		args = append(args, cq.CustomerID)
	}
	if cq.OpenOnly {
		q += `AND status <> ? `
		args = append(args, string(domain.StatusClosed))
	}
	if cq.After != nil {
		at := sqldb.Micros(cq.After.OccurTime)
		q += `AND (create_time < ? OR (create_time = ? AND id < ?)) `
		args = append(args, at, at, cq.After.ID)
	}
	q += `ORDER BY create_time DESC, id DESC LIMIT ?`
	args = append(args, cq.Limit)
	return s.queryCases(ctx, q, args...)
}

func (s *Store) queryCases(ctx context.Context, q string, args ...any) ([]domain.Case, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []domain.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// DueCases returns open, running cases with an unmarked target due.
func (s *Store) DueCases(ctx context.Context, now time.Time, limit int) ([]domain.Case, error) {
	at := sqldb.Micros(now)
	return s.queryCases(ctx, `SELECT `+caseColumns+` FROM cases
		WHERE status NOT IN (?, ?) AND paused_at IS NULL AND (
			(first_response_breached = 0 AND first_response_at IS NULL AND first_response_due <= ?)
			OR (resolution_breached = 0 AND resolution_due <= ?))
		ORDER BY create_time LIMIT ?`,
		string(domain.StatusResolved), string(domain.StatusClosed), at, at, limit)
}

// InsertComment stores a comment.
func (t *storeTx) InsertComment(ctx context.Context, c domain.Comment) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO case_comments (id, case_id, author_id, body, customer_visible, create_time)
		VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.CaseID, c.AuthorID, c.Body, flag(c.CustomerVisible), sqldb.Micros(c.CreateTime))
	if err != nil {
		return fmt.Errorf("insert comment: %w", err)
	}
	return nil
}

// ListComments returns a case's comments, oldest first.
func (s *Store) ListComments(ctx context.Context, caseID string) ([]domain.Comment, error) {
	rows, err := s.db.Query(ctx, `SELECT id, case_id, author_id, body, customer_visible, create_time
		FROM case_comments WHERE case_id = ? ORDER BY create_time, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	defer rows.Close()
	var out []domain.Comment
	for rows.Next() {
		var (
			c       domain.Comment
			visible int
			created int64
		)
		if err := rows.Scan(&c.ID, &c.CaseID, &c.AuthorID, &c.Body, &visible, &created); err != nil {
			return nil, fmt.Errorf("scan comment: %w", err)
		}
		c.CustomerVisible, c.CreateTime = visible == 1, sqldb.FromMicros(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return out, nil
}

type storedHours struct {
	Weekday int    `json:"weekday"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

// PutCalendar stores a calendar, replacing one with the same id.
func (t *storeTx) PutCalendar(ctx context.Context, c domain.BusinessCalendar) error {
	hours := make([]storedHours, len(c.Hours))
	for i, h := range c.Hours {
		hours[i] = storedHours{h.Weekday, h.Start, h.End}
	}
	hb, err := json.Marshal(hours)
	if err != nil {
		return fmt.Errorf("put calendar: %w", err)
	}
	holidays := c.Holidays
	if holidays == nil {
		holidays = []string{}
	}
	db, err := json.Marshal(holidays)
	if err != nil {
		return fmt.Errorf("put calendar: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO business_calendars (id, name, time_zone, hours, holidays) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
		hours = excluded.hours, holidays = excluded.holidays`, c.ID, c.Name, c.TimeZone, string(hb), string(db))
	if err != nil {
		return fmt.Errorf("put calendar: %w", err)
	}
	return nil
}

// GetCalendar returns a calendar, validated and ready for SLA arithmetic.
func (s *Store) GetCalendar(ctx context.Context, id string) (domain.BusinessCalendar, error) {
	var (
		c             domain.BusinessCalendar
		hours, holida string
	)
	err := s.db.QueryRow(ctx, `SELECT id, name, time_zone, hours, holidays FROM business_calendars WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.TimeZone, &hours, &holida)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("calendar: %w", domain.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get calendar: %w", err)
	}
	var hs []storedHours
	if err := json.Unmarshal([]byte(hours), &hs); err != nil {
		return c, fmt.Errorf("get calendar: %w", err)
	}
	for _, h := range hs {
		c.Hours = append(c.Hours, domain.BusinessHours{Weekday: h.Weekday, Start: h.Start, End: h.End})
	}
	if err := json.Unmarshal([]byte(holida), &c.Holidays); err != nil {
		return c, fmt.Errorf("get calendar: %w", err)
	}
	if v := c.Validate(); len(v) > 0 {
		return c, fmt.Errorf("get calendar %s: stored calendar is invalid: %w", id, v.Err())
	}
	return c, nil
}

const policyColumns = `id, name, priority, customer_class, first_response_target_us, resolution_target_us, calendar_id, create_time`

func scanPolicy(r scanner) (domain.SLAPolicy, error) {
	var (
		p           domain.SLAPolicy
		priority    string
		fr, res, cr int64
	)
	err := r.Scan(&p.ID, &p.Name, &priority, &p.CustomerClass, &fr, &res, &p.CalendarID, &cr)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sla policy: %w", domain.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("scan sla policy: %w", err)
	}
	p.Priority = domain.Priority(priority)
	p.FirstResponseTarget, p.ResolutionTarget = time.Duration(fr)*time.Microsecond, time.Duration(res)*time.Microsecond
	p.CreateTime = sqldb.FromMicros(cr)
	return p, nil
}

// InsertSLAPolicy stores a policy.
func (t *storeTx) InsertSLAPolicy(ctx context.Context, p domain.SLAPolicy) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO sla_policies (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, string(p.Priority), p.CustomerClass, p.FirstResponseTarget.Microseconds(),
		p.ResolutionTarget.Microseconds(), p.CalendarID, sqldb.Micros(p.CreateTime))
	if sqldb.IsUniqueViolation(err) {
		return fmt.Errorf("insert sla policy: %w", domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert sla policy: %w", err)
	}
	return nil
}

// FindSLAPolicy prefers the policy of the class over the one for any.
func (s *Store) FindSLAPolicy(ctx context.Context, p domain.Priority, class string) (domain.SLAPolicy, error) {
	return scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM sla_policies
		WHERE priority = ? AND customer_class IN (?, '') ORDER BY customer_class DESC LIMIT 1`, string(p), class))
}

// ListSLAPolicies returns every policy.
func (s *Store) ListSLAPolicies(ctx context.Context) ([]domain.SLAPolicy, error) {
	rows, err := s.db.Query(ctx, `SELECT `+policyColumns+` FROM sla_policies ORDER BY priority, customer_class`)
	if err != nil {
		return nil, fmt.Errorf("list sla policies: %w", err)
	}
	defer rows.Close()
	var out []domain.SLAPolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sla policies: %w", err)
	}
	return out, nil
}

// PutTeam stores a team.
func (t *storeTx) PutTeam(ctx context.Context, tm domain.Team) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO teams (id, name, manager_id) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, manager_id = excluded.manager_id`, tm.ID, tm.Name, tm.ManagerID)
	if err != nil {
		return fmt.Errorf("put team: %w", err)
	}
	return nil
}

// GetTeam returns a team.
func (s *Store) GetTeam(ctx context.Context, id string) (domain.Team, error) {
	var tm domain.Team
	err := s.db.QueryRow(ctx, `SELECT id, name, manager_id FROM teams WHERE id = ?`, id).Scan(&tm.ID, &tm.Name, &tm.ManagerID)
	if errors.Is(err, sql.ErrNoRows) {
		return tm, fmt.Errorf("team: %w", domain.ErrNotFound)
	}
	if err != nil {
		return tm, fmt.Errorf("get team: %w", err)
	}
	return tm, nil
}

// LinkInteraction puts an interaction on a case.
func (t *storeTx) LinkInteraction(ctx context.Context, interactionID, caseID string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE interactions SET case_id = ? WHERE id = ?`, caseID, interactionID); err != nil {
		return fmt.Errorf("link interaction: %w", err)
	}
	return nil
}

const surveyColumns = `id, kind, customer_id, case_id, interaction_id, agent_id, team_id, score, comment, create_time, answer_time`

// InsertSurvey stores a survey sent to a customer.
func (t *storeTx) InsertSurvey(ctx context.Context, sv domain.Survey) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO surveys (`+surveyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		surveyValues(sv)...)
	if err != nil {
		return fmt.Errorf("insert survey: %w", err)
	}
	return nil
}

func surveyValues(sv domain.Survey) []any {
	var score any
	if sv.Score != nil {
		score = *sv.Score
	}
	return []any{sv.ID, sv.Kind, sv.CustomerID, sv.CaseID, sv.InteractionID, sv.AgentID, sv.TeamID, score, sv.Comment,
		sqldb.Micros(sv.CreateTime), micros(sv.AnswerTime)}
}

func scanSurvey(r scanner) (domain.Survey, error) {
	var (
		sv      domain.Survey
		score   sql.NullInt64
		created int64
		answer  sql.NullInt64
	)
	err := r.Scan(&sv.ID, &sv.Kind, &sv.CustomerID, &sv.CaseID, &sv.InteractionID, &sv.AgentID, &sv.TeamID, &score,
		&sv.Comment, &created, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return sv, fmt.Errorf("survey: %w", domain.ErrNotFound)
	}
	if err != nil {
		return sv, fmt.Errorf("scan survey: %w", err)
	}
	if score.Valid {
		n := int(score.Int64)
		sv.Score = &n
	}
	sv.CreateTime, sv.AnswerTime = sqldb.FromMicros(created), fromNull(answer)
	return sv, nil
}

// GetSurvey returns a survey.
func (s *Store) GetSurvey(ctx context.Context, id string) (domain.Survey, error) {
	return scanSurvey(s.db.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys WHERE id = ?`, id))
}

// LockSurvey reads a survey for update.
func (t *storeTx) LockSurvey(ctx context.Context, id string) (domain.Survey, error) {
	q := `SELECT ` + surveyColumns + ` FROM surveys WHERE id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return scanSurvey(t.tx.QueryRow(ctx, q, id))
}

// UpdateSurvey records a survey's answer.
func (t *storeTx) UpdateSurvey(ctx context.Context, sv domain.Survey) error {
	var score any
	if sv.Score != nil {
		score = *sv.Score
	}
	if _, err := t.tx.Exec(ctx, `UPDATE surveys SET score = ?, comment = ?, answer_time = ? WHERE id = ?`,
		score, sv.Comment, micros(sv.AnswerTime), sv.ID); err != nil {
		return fmt.Errorf("update survey: %w", err)
	}
	return nil
}
