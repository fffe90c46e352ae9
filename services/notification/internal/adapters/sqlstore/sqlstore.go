// Package sqlstore keeps the notification service's messages in SQLite or
// PostgreSQL through platform/sqldb. It is the one implementation of
// domain.Store; the same contract tests run against both databases.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Publisher writes a domain event into the transaction's outbox.
type Publisher interface {
	Publish(ctx context.Context, tx *sqldb.Tx, ev domain.Event) error
}

// Store is the SQL domain.Store.
type Store struct {
	db        *sqldb.DB
	publisher Publisher
}

var _ domain.Store = (*Store)(nil)

// New returns a Store over db (migrated with the service's migrations)
// that publishes events through publisher.
func New(db *sqldb.DB, publisher Publisher) *Store {
	return &Store{db: db, publisher: publisher}
}

const messageColumns = `id, customer_id, channel, address, template, subject, body, status, failure_reason, create_time, send_time`

// InTx runs fn in one SQL transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return fn(&Tx{tx: tx, publisher: s.publisher})
	})
}

// ListMessages returns the customer's messages newest first.
func (s *Store) ListMessages(ctx context.Context, customerID string, after *domain.Cursor, limit int) ([]domain.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE customer_id = ?`
	args := []any{customerID}
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

// ClaimQueued reserves up to limit queued, unclaimed messages. Each claim
// is one conditional UPDATE, so of two dispatchers racing for a message
// exactly one wins, on SQLite and PostgreSQL alike.
func (s *Store) ClaimQueued(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]domain.Message, error) {
	at := sqldb.Micros(now)
	rows, err := s.db.Query(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE status = ? AND claimed_until <= ? ORDER BY create_time, id LIMIT ?`,
		string(domain.StatusQueued), at, limit)
	if err != nil {
		return nil, fmt.Errorf("claim queued messages: %w", err)
	}
	candidates, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim queued messages: %w", err)
	}
	until := sqldb.Micros(now.Add(lease))
	claimed := candidates[:0]
	for _, m := range candidates {
		res, err := s.db.Exec(ctx, `UPDATE messages SET claimed_until = ?
			WHERE id = ? AND status = ? AND claimed_until <= ?`,
			until, m.ID, string(domain.StatusQueued), at)
		if err != nil {
			return nil, fmt.Errorf("claim message %s: %w", m.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("claim message %s: %w", m.ID, err)
		} else if n == 1 {
			claimed = append(claimed, m)
		}
	}
	return claimed, nil
}

// Tx is the SQL domain.Tx.
type Tx struct {
	tx        *sqldb.Tx
	publisher Publisher
}

// MarkHandled records eventID in the platform inbox.
func (t *Tx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	first, err := platformevents.MarkHandled(ctx, t.tx, consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("mark event handled: %w", err)
	}
	return first, nil
}

// CreateMessage inserts m.
func (t *Tx) CreateMessage(ctx context.Context, m domain.Message) error {
	var sendTime sql.NullInt64
	if !m.SendTime.IsZero() {
		sendTime = sql.NullInt64{Int64: sqldb.Micros(m.SendTime), Valid: true}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.CustomerID, string(m.Channel), m.Address, m.Template, m.Subject, m.Body,
		string(m.Status), m.FailureReason, sqldb.Micros(m.CreateTime), sendTime)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	return nil
}

// MarkSent moves a QUEUED message to SENT.
func (t *Tx) MarkSent(ctx context.Context, id string, sendTime time.Time) (bool, error) {
	res, err := t.tx.Exec(ctx, `UPDATE messages SET status = ?, send_time = ?, claimed_until = 0 WHERE id = ? AND status = ?`,
		string(domain.StatusSent), sqldb.Micros(sendTime), id, string(domain.StatusQueued))
	if err != nil {
		return false, fmt.Errorf("mark message sent: %w", err)
	}
	return affectedOne(res, "mark message sent")
}

// MarkFailed moves a QUEUED message to FAILED.
func (t *Tx) MarkFailed(ctx context.Context, id, reason string) (bool, error) {
	res, err := t.tx.Exec(ctx, `UPDATE messages SET status = ?, failure_reason = ?, claimed_until = 0 WHERE id = ? AND status = ?`,
		string(domain.StatusFailed), reason, id, string(domain.StatusQueued))
	if err != nil {
		return false, fmt.Errorf("mark message failed: %w", err)
	}
	return affectedOne(res, "mark message failed")
}

// Publish writes ev to the outbox in this transaction.
func (t *Tx) Publish(ctx context.Context, ev domain.Event) error {
	return t.publisher.Publish(ctx, t.tx, ev)
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

func scanMessages(rows *sql.Rows) ([]domain.Message, error) {
	defer rows.Close()
	var out []domain.Message
	for rows.Next() {
		var (
			m               domain.Message
			channel, status string
			createTime      int64
			sendTime        sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.CustomerID, &channel, &m.Address, &m.Template, &m.Subject, &m.Body,
			&status, &m.FailureReason, &createTime, &sendTime); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		m.Channel = domain.Channel(channel)
		m.Status = domain.Status(status)
		m.CreateTime = sqldb.FromMicros(createTime)
		if sendTime.Valid {
			m.SendTime = sqldb.FromMicros(sendTime.Int64)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan messages: %w", err)
	}
	return out, nil
}
