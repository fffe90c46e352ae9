package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// AnsweredSurveys returns the answered surveys of a kind in a time range.
func (s *Store) AnsweredSurveys(ctx context.Context, q domain.SurveyQuery) ([]domain.Survey, error) {
	query := `SELECT ` + surveyColumns + ` FROM surveys WHERE kind = ? AND answer_time IS NOT NULL`
	args := []any{q.Kind}
	if !q.Start.IsZero() {
		query += ` AND answer_time >= ?`
		args = append(args, sqldb.Micros(q.Start))
	}
	if !q.End.IsZero() {
		query += ` AND answer_time < ?`
		args = append(args, sqldb.Micros(q.End))
	}
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("answered surveys: %w", err)
	}
	defer rows.Close()
	var out []domain.Survey
	for rows.Next() {
		sv, err := scanSurvey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("answered surveys: %w", err)
	}
	return out, nil
}

const ruleColumns = `id, name, trigger_kind, min_currency, min_amount_minor, offset_us, agent_id, note, channel, create_time`

// InsertFollowupRule stores a rule.
func (t *storeTx) InsertFollowupRule(ctx context.Context, r domain.FollowupRule) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO followup_rules (`+ruleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Trigger, r.MinAmount.CurrencyCode, r.MinAmount.AmountMinor, r.Offset.Microseconds(),
		r.AgentID, r.Note, string(r.Channel), sqldb.Micros(r.CreateTime))
	if err != nil {
		return fmt.Errorf("insert followup rule: %w", err)
	}
	return nil
}

// ListFollowupRules returns every rule, oldest first.
func (s *Store) ListFollowupRules(ctx context.Context) ([]domain.FollowupRule, error) {
	rows, err := s.db.Query(ctx, `SELECT `+ruleColumns+` FROM followup_rules ORDER BY create_time, id`)
	if err != nil {
		return nil, fmt.Errorf("list followup rules: %w", err)
	}
	defer rows.Close()
	var out []domain.FollowupRule
	for rows.Next() {
		var (
			r               domain.FollowupRule
			offset, created int64
			channel         string
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Trigger, &r.MinAmount.CurrencyCode, &r.MinAmount.AmountMinor, &offset,
			&r.AgentID, &r.Note, &channel, &created); err != nil {
			return nil, fmt.Errorf("scan followup rule: %w", err)
		}
		r.Offset, r.Channel, r.CreateTime = time.Duration(offset)*time.Microsecond, domain.Channel(channel), sqldb.FromMicros(created)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list followup rules: %w", err)
	}
	return out, nil
}

var followupColumnList = []string{"id", "customer_id", "agent_id", "reason", "due_time", "note", "channel", "status",
	"rule_id", "source_id", "interaction_id", "create_time", "complete_time"}

const followupColumns = `id, customer_id, agent_id, reason, due_time, note, channel, status, rule_id, source_id,
	interaction_id, create_time, complete_time`

func followupRow(f domain.Followup) []any {
	return []any{f.ID, f.CustomerID, f.AgentID, f.Reason, sqldb.Micros(f.DueTime), f.Note, string(f.Channel), f.Status,
		f.RuleID, f.SourceID, f.InteractionID, sqldb.Micros(f.CreateTime), micros(f.CompleteTime)}
}

func scanFollowup(r scanner) (domain.Followup, error) {
	var (
		f            domain.Followup
		due, created int64
		complete     sql.NullInt64
		channel      string
	)
	err := r.Scan(&f.ID, &f.CustomerID, &f.AgentID, &f.Reason, &due, &f.Note, &channel, &f.Status, &f.RuleID,
		&f.SourceID, &f.InteractionID, &created, &complete)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("followup: %w", domain.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("scan followup: %w", err)
	}
	f.DueTime, f.Channel, f.CreateTime, f.CompleteTime = sqldb.FromMicros(due), domain.Channel(channel), sqldb.FromMicros(created), fromNull(complete)
	return f, nil
}

// InsertFollowups stores follow-ups in bulk.
func (t *storeTx) InsertFollowups(ctx context.Context, fs []domain.Followup) error {
	rows := make([][]any, len(fs))
	for i, f := range fs {
		rows[i] = followupRow(f)
	}
	if err := t.tx.InsertRows(ctx, "followups", followupColumnList, rows); err != nil {
		return fmt.Errorf("insert followups: %w", err)
	}
	return nil
}

// LockFollowup reads a follow-up for update.
func (t *storeTx) LockFollowup(ctx context.Context, id string) (domain.Followup, error) {
	q := `SELECT ` + followupColumns + ` FROM followups WHERE id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return scanFollowup(t.tx.QueryRow(ctx, q, id))
}

// UpdateFollowup writes a follow-up's state.
func (t *storeTx) UpdateFollowup(ctx context.Context, f domain.Followup) error {
	_, err := t.tx.Exec(ctx, `UPDATE followups SET status = ?, interaction_id = ?, complete_time = ? WHERE id = ?`,
		f.Status, f.InteractionID, micros(f.CompleteTime), f.ID)
	if err != nil {
		return fmt.Errorf("update followup: %w", err)
	}
	return nil
}

// GetFollowup returns a follow-up.
func (s *Store) GetFollowup(ctx context.Context, id string) (domain.Followup, error) {
	return scanFollowup(s.db.QueryRow(ctx, `SELECT `+followupColumns+` FROM followups WHERE id = ?`, id))
}

var followupSchema = aipfilter.Schema{Fields: map[string]aipfilter.Field{
	"agent_id":    {Kind: aipfilter.String, Column: "agent_id"},
	"customer_id": {Kind: aipfilter.String, Column: "customer_id"},
	"status":      enumField("status", []string{domain.FollowupScheduled, domain.FollowupDue, domain.FollowupDone}, "FOLLOWUP_STATUS_"),
	"reason":      {Kind: aipfilter.String, Column: "reason"},
	"due_time":    {Kind: aipfilter.Timestamp, Column: "due_time"},
}}

// ListFollowups returns follow-ups soonest due first.
func (s *Store) ListFollowups(ctx context.Context, fq domain.FollowupQuery) ([]domain.Followup, error) {
	where, args, err := aipfilter.Compile(fq.Filter, followupSchema)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + followupColumns + ` FROM followups WHERE 1 = 1 `
	if where != "" {
		q += `AND (` + where + `) `
	}
	if fq.CustomerID != "" {
		q += `AND customer_id = ? `
		args = append(args, fq.CustomerID)
	}
	if fq.PendingOnly {
		q += `AND status <> ? `
		args = append(args, domain.FollowupDone)
	}
	if fq.After != nil {
		at := sqldb.Micros(fq.After.OccurTime)
		q += `AND (due_time > ? OR (due_time = ? AND id > ?)) `
		args = append(args, at, at, fq.After.ID)
	}
	q += `ORDER BY due_time, id LIMIT ?`
	args = append(args, fq.Limit)
	return s.queryFollowups(ctx, q, args...)
}

func (s *Store) queryFollowups(ctx context.Context, q string, args ...any) ([]domain.Followup, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list followups: %w", err)
	}
	defer rows.Close()
	var out []domain.Followup
	for rows.Next() {
		f, err := scanFollowup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list followups: %w", err)
	}
	return out, nil
}

// DueFollowups returns scheduled follow-ups due by now.
func (s *Store) DueFollowups(ctx context.Context, now time.Time, limit int) ([]domain.Followup, error) {
	return s.queryFollowups(ctx, `SELECT `+followupColumns+` FROM followups WHERE status = ? AND due_time <= ?
		ORDER BY due_time, id LIMIT ?`, domain.FollowupScheduled, sqldb.Micros(now), limit)
}
