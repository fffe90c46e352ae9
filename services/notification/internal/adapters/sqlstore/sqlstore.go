// Package sqlstore keeps the notification service's messages, read models,
// templates and campaigns in SQLite or PostgreSQL through platform/sqldb.
// It is the one implementation of domain.Store; the same contract tests
// run against both databases.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Store is the SQL domain.Store.
type Store struct {
	db  *sqldb.DB
	txs platformevents.Transactor[domain.Event]
}

var _ domain.Store = (*Store)(nil)

// New returns a Store over db (migrated with the service's migrations)
// whose transactions write the events they publish, given their wire form
// by encoder, into outbox.
func New(db *sqldb.DB, outbox platformevents.Enqueuer, encoder platformevents.Encoder[domain.Event]) *Store {
	return &Store{db: db, txs: platformevents.NewTransactor(db, outbox, encoder)}
}

// DB is the store's database (the dev sink and the DB capper share it).
func (s *Store) DB() *sqldb.DB { return s.db }

const messageColumns = `id, customer_id, agent_id, campaign_id, channel, address, template, locale, subject, body, status,
	failure_reason, status_reason, create_time, send_time, not_before, time_zone, idempotency_key, attempts, dead_letter,
	html_body, unsubscribe_url`

var messageColumnList = strings.Fields(strings.ReplaceAll(messageColumns, ",", " "))

// InTx runs fn in one SQL transaction. The events fn publishes go to the
// outbox together when fn is done.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.txs.InTx(ctx, func(tx *sqldb.Tx, pending *platformevents.Pending[domain.Event]) error {
		return fn(&Tx{tx: tx, events: pending})
	})
}

// ListMessages returns the customer's messages newest first.
func (s *Store) ListMessages(ctx context.Context, customerID string, after *domain.Cursor, limit int) ([]domain.Message, error) {
	return s.listMessages(ctx, `customer_id = ? AND agent_id = ''`, []any{customerID}, after, limit)
}

// ListAgentMessages returns the agent's notices newest first.
func (s *Store) ListAgentMessages(ctx context.Context, agentID string, after *domain.Cursor, limit int) ([]domain.Message, error) {
	return s.listMessages(ctx, `agent_id = ?`, []any{agentID}, after, limit)
}

// ListDeadLetters returns dead-lettered messages newest first.
func (s *Store) ListDeadLetters(ctx context.Context, after *domain.Cursor, limit int) ([]domain.Message, error) {
	return s.listMessages(ctx, `dead_letter = 1`, nil, after, limit)
}

func (s *Store) listMessages(ctx context.Context, where string, args []any, after *domain.Cursor, limit int) ([]domain.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE ` + where
	if after != nil {
		at := sqldb.Micros(after.CreateTime)
		q += ` AND (create_time < ? OR (create_time = ? AND id < ?))`
		args = append(args, at, at, after.ID)
	}
	q += ` ORDER BY create_time DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return msgs, nil
}

// GetMessage returns a message and its attempts.
func (s *Store) GetMessage(ctx context.Context, id string) (domain.Message, []domain.Attempt, error) {
	rows, err := s.db.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id)
	if err != nil {
		return domain.Message{}, nil, fmt.Errorf("get message: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return domain.Message{}, nil, fmt.Errorf("get message: %w", err)
	}
	if len(msgs) == 0 {
		return domain.Message{}, nil, fmt.Errorf("get message %s: %w", id, domain.ErrNotFound)
	}
	attempts, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.Attempt, error) {
		a := domain.Attempt{MessageID: id}
		var at int64
		err := s.Scan(&a.Number, &at, &a.Outcome, &a.ProviderResponse)
		a.Time = sqldb.FromMicros(at)
		return a, err
	}, `SELECT attempt, attempt_time, outcome, provider_response FROM delivery_attempts
		WHERE message_id = ? ORDER BY attempt`, id)
	if err != nil {
		return domain.Message{}, nil, fmt.Errorf("get message attempts: %w", err)
	}
	return msgs[0], attempts, nil
}

// ExistingKeys returns which of keys are taken.
func (s *Store) ExistingKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	for chunk := range slices.Chunk(keys, 5000) {
		rows, err := s.db.Query(ctx, `SELECT idempotency_key FROM messages WHERE idempotency_key IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("find idempotency keys: %w", err)
		}
		found, err := scanIDs(rows)
		if err != nil {
			return nil, err
		}
		for _, k := range found {
			out[k] = true
		}
	}
	return out, nil
}

// ClaimDue reserves up to limit due, unclaimed queued messages in one
// statement: on PostgreSQL the rows are locked with SKIP LOCKED so two
// dispatchers never claim the same one; SQLite has one writer at a time.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]domain.Message, error) {
	at := sqldb.Micros(now)
	lock := ""
	if s.db.Dialect == sqldb.Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := s.db.Query(ctx, `UPDATE messages SET claimed_until = ? WHERE id IN (
		SELECT id FROM messages WHERE status = 'QUEUED' AND not_before <= ? AND claimed_until <= ?
		ORDER BY not_before, create_time, id LIMIT ?`+lock+`) RETURNING `+messageColumns,
		sqldb.Micros(now.Add(lease)), at, at, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	slices.SortFunc(msgs, func(a, b domain.Message) int {
		if c := a.NotBefore.Compare(b.NotBefore); c != 0 {
			return c
		}
		if c := a.CreateTime.Compare(b.CreateTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return msgs, nil
}

// Tx is the SQL domain.Tx.
type Tx struct {
	tx *sqldb.Tx
	// events are published so far, for the outbox when fn of InTx is done.
	events *platformevents.Pending[domain.Event]
}

// MarkHandled records eventID in the platform inbox.
func (t *Tx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	first, err := platformevents.MarkHandled(ctx, t.tx, consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("mark event handled: %w", err)
	}
	return first, nil
}

// MarkHandledMany records eventIDs in the platform inbox at once.
func (t *Tx) MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (map[string]bool, error) {
	first, err := platformevents.MarkHandledMany(ctx, t.tx, consumer, eventIDs)
	if err != nil {
		return nil, fmt.Errorf("mark events handled: %w", err)
	}
	return first, nil
}

func messageRow(m domain.Message) []any {
	var sendTime, key any
	if !m.SendTime.IsZero() {
		sendTime = sqldb.Micros(m.SendTime)
	}
	if m.IdempotencyKey != "" {
		key = m.IdempotencyKey
	}
	dead := 0
	if m.DeadLetter {
		dead = 1
	}
	return []any{m.ID, m.CustomerID, m.AgentID, m.CampaignID, string(m.Channel), m.Address, m.Template, m.Locale,
		m.Subject, m.Body, string(m.Status), m.FailureReason, m.StatusReason, sqldb.Micros(m.CreateTime), sendTime,
		sqldb.Micros(m.NotBefore), m.TimeZone, key, m.Attempts, dead, m.HTMLBody, m.UnsubscribeURL}
}

// CreateMessage inserts m unless its idempotency key is taken.
func (t *Tx) CreateMessage(ctx context.Context, m domain.Message) (bool, error) {
	created, err := t.CreateMessages(ctx, []domain.Message{m})
	return len(created) == 1, err
}

// CreateMessages inserts ms, each unless its idempotency key is taken (or
// an earlier one of ms has it), a few thousand rows per statement.
func (t *Tx) CreateMessages(ctx context.Context, ms []domain.Message) ([]domain.Message, error) {
	keys := map[string]bool{}
	var kept []domain.Message
	for _, m := range ms {
		if m.IdempotencyKey != "" {
			if keys[m.IdempotencyKey] {
				continue
			}
			keys[m.IdempotencyKey] = true
		}
		kept = append(kept, m)
	}
	// In key order: two transactions inserting the same keys wait for
	// each other in one order instead of deadlocking.
	slices.SortStableFunc(kept, func(a, b domain.Message) int { return cmp.Compare(a.IdempotencyKey, b.IdempotencyKey) })
	rows := make([][]any, len(kept))
	for i, m := range kept {
		rows[i] = messageRow(m)
	}
	stored := map[string]bool{}
	for chunk := range slices.Chunk(rows, maxRowParams/len(messageColumnList)) {
		values, args := sqldb.ValuesList(chunk)
		res, err := t.tx.Query(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES `+values+`
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("create messages: %w", err)
		}
		ids, err := scanIDs(res)
		if err != nil {
			return nil, fmt.Errorf("create messages: %w", err)
		}
		for _, id := range ids {
			stored[id] = true
		}
	}
	var created []domain.Message
	for _, m := range ms {
		if stored[m.ID] {
			delete(stored, m.ID)
			created = append(created, m)
			if err := t.saveVars(ctx, m); err != nil {
				return nil, err
			}
		}
	}
	return created, nil
}

// maxRowParams keeps a multi-row statement under SQLite's limit of 32766
// bound parameters (PostgreSQL's is 65535).
const maxRowParams = 30000

// upsertRows runs insert+VALUES list+onConflict for rows, as few
// statements as the parameter limit allows.
func upsertRows(ctx context.Context, tx *sqldb.Tx, insert string, rows [][]any, onConflict string) error {
	if len(rows) == 0 {
		return nil
	}
	for chunk := range slices.Chunk(rows, maxRowParams/len(rows[0])) {
		values, args := sqldb.ValuesList(chunk)
		if _, err := tx.Exec(ctx, insert+values+onConflict, args...); err != nil {
			return err
		}
	}
	return nil
}

// InsertMessages bulk-inserts ms (COPY on PostgreSQL).
func (t *Tx) InsertMessages(ctx context.Context, ms []domain.Message) error {
	rows := make([][]any, len(ms))
	for i, m := range ms {
		rows[i] = messageRow(m)
	}
	if err := t.tx.InsertRows(ctx, "messages", messageColumnList, rows); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	return nil
}

// MarkSent moves QUEUED messages to SENT.
func (t *Tx) MarkSent(ctx context.Context, ids []string, sendTime time.Time, attempts int) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{sqldb.Micros(sendTime), attempts}
	args = append(args, anySlice(ids)...)
	rows, err := t.tx.Query(ctx, `UPDATE messages SET status = 'SENT', send_time = ?, attempts = attempts + ?, status_reason = '', claimed_until = 0
		WHERE status = 'QUEUED' AND id IN (`+placeholders(len(ids))+`) RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("mark messages sent: %w", err)
	}
	return scanIDs(rows)
}

// MarkFailed moves a QUEUED message to FAILED.
func (t *Tx) MarkFailed(ctx context.Context, id, reason string, attempts int, deadLetter bool) (bool, error) {
	dead := 0
	if deadLetter {
		dead = 1
	}
	res, err := t.tx.Exec(ctx, `UPDATE messages SET status = 'FAILED', failure_reason = ?, status_reason = '', attempts = ?, dead_letter = ?, claimed_until = 0
		WHERE id = ? AND status = 'QUEUED'`, reason, attempts, dead, id)
	if err != nil {
		return false, fmt.Errorf("mark message failed: %w", err)
	}
	return affectedOne(res, "mark message failed")
}

// MarkSuppressed moves QUEUED messages to SUPPRESSED.
func (t *Tx) MarkSuppressed(ctx context.Context, ids []string, reason string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := append([]any{reason}, anySlice(ids)...)
	rows, err := t.tx.Query(ctx, `UPDATE messages SET status = 'SUPPRESSED', status_reason = ?, claimed_until = 0
		WHERE status = 'QUEUED' AND id IN (`+placeholders(len(ids))+`) RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("mark messages suppressed: %w", err)
	}
	return scanIDs(rows)
}

// Reschedule keeps a QUEUED message waiting until notBefore.
func (t *Tx) Reschedule(ctx context.Context, id string, notBefore time.Time, reason string, attempts int) (bool, error) {
	res, err := t.tx.Exec(ctx, `UPDATE messages SET not_before = ?, status_reason = ?, attempts = ?, claimed_until = 0
		WHERE id = ? AND status = 'QUEUED'`, sqldb.Micros(notBefore), reason, attempts, id)
	if err != nil {
		return false, fmt.Errorf("reschedule message: %w", err)
	}
	return affectedOne(res, "reschedule message")
}

// AddAttempts records delivery attempts.
func (t *Tx) AddAttempts(ctx context.Context, as []domain.Attempt) error {
	rows := make([][]any, len(as))
	for i, a := range as {
		rows[i] = []any{a.MessageID, a.Number, sqldb.Micros(a.Time), a.Outcome, a.ProviderResponse}
	}
	if err := t.tx.InsertRows(ctx, "delivery_attempts", []string{"message_id", "attempt", "attempt_time", "outcome", "provider_response"}, rows); err != nil {
		return fmt.Errorf("add delivery attempts: %w", err)
	}
	return nil
}

// MarkDelivered records a provider's receipt for a SENT message.
func (t *Tx) MarkDelivered(ctx context.Context, id string, delivered bool, reason string) (domain.Message, error) {
	q := `UPDATE messages SET status = 'DELIVERED', status_reason = ? WHERE id = ? AND status = 'SENT' RETURNING ` + messageColumns
	if !delivered {
		q = `UPDATE messages SET status = 'FAILED', failure_reason = ?, dead_letter = 1 WHERE id = ? AND status = 'SENT' RETURNING ` + messageColumns
	}
	rows, err := t.tx.Query(ctx, q, reason, id)
	if err != nil {
		return domain.Message{}, fmt.Errorf("mark message delivered: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return domain.Message{}, fmt.Errorf("mark message delivered: %w", err)
	}
	if len(msgs) == 0 {
		return domain.Message{}, fmt.Errorf("mark message %s delivered: no sent message: %w", id, domain.ErrNotFound)
	}
	return msgs[0], nil
}

// Requeue queues a dead letter again. Its earlier attempts stay on record;
// the new ones continue their numbering.
func (t *Tx) Requeue(ctx context.Context, id string, now time.Time) error {
	res, err := t.tx.Exec(ctx, `UPDATE messages SET status = 'QUEUED', dead_letter = 0, failure_reason = '', status_reason = 'retried from the dead-letter list',
		not_before = ?, claimed_until = 0 WHERE id = ? AND dead_letter = 1`, sqldb.Micros(now), id)
	if err != nil {
		return fmt.Errorf("requeue message: %w", err)
	}
	ok, err := affectedOne(res, "requeue message")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("requeue message %s: not on the dead-letter list: %w", id, domain.ErrNotFound)
	}
	return nil
}

// Publish encodes evs for the outbox, written in this transaction.
func (t *Tx) Publish(ctx context.Context, evs ...domain.Event) error {
	if err := t.events.Add(ctx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// AfterCommit runs fn after the commit.
func (t *Tx) AfterCommit(fn func()) { t.tx.AfterCommit(fn) }

func affectedOne(res sql.Result, op string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return n == 1, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func scanIDs(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan id: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan ids: %w", err)
	}
	return out, nil
}

func scanMessages(rows *sql.Rows) ([]domain.Message, error) {
	defer rows.Close()
	var out []domain.Message
	for rows.Next() {
		var (
			m                     domain.Message
			channel, status       string
			createTime, notBefore int64
			sendTime              sql.NullInt64
			key                   sql.NullString
			dead                  int
		)
		if err := rows.Scan(&m.ID, &m.CustomerID, &m.AgentID, &m.CampaignID, &channel, &m.Address, &m.Template, &m.Locale,
			&m.Subject, &m.Body, &status, &m.FailureReason, &m.StatusReason, &createTime, &sendTime, &notBefore,
			&m.TimeZone, &key, &m.Attempts, &dead, &m.HTMLBody, &m.UnsubscribeURL); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		m.Channel = domain.Channel(channel)
		m.Status = domain.Status(status)
		m.CreateTime = sqldb.FromMicros(createTime)
		m.NotBefore = sqldb.FromMicros(notBefore)
		if sendTime.Valid {
			m.SendTime = sqldb.FromMicros(sendTime.Int64)
		}
		m.IdempotencyKey = key.String
		m.DeadLetter = dead == 1
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan messages: %w", err)
	}
	return out, nil
}
