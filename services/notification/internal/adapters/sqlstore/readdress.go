package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// saveVars keeps the values m was rendered with, when it has any.
func (t *Tx) saveVars(ctx context.Context, m domain.Message) error {
	if len(m.Vars) == 0 {
		return nil
	}
	raw, err := json.Marshal(m.Vars)
	if err != nil {
		return fmt.Errorf("save message values: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO message_vars (message_id, vars) VALUES (?, ?) ON CONFLICT (message_id) DO NOTHING`,
		m.ID, string(raw)); err != nil {
		return fmt.Errorf("save message values: %w", err)
	}
	return nil
}

// LockQueued returns the customer's QUEUED messages with the values each
// was rendered with, held against the dispatcher (on PostgreSQL; SQLite
// transactions here already hold the one write lock) until the
// transaction ends.
func (t *Tx) LockQueued(ctx context.Context, customerID string) ([]domain.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE customer_id = ? AND status = ? ORDER BY create_time, id`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := t.tx.Query(ctx, q, customerID, string(domain.StatusQueued))
	if err != nil {
		return nil, fmt.Errorf("lock queued messages: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("lock queued messages: %w", err)
	}
	for i := range msgs {
		var raw string
		err := t.tx.QueryRow(ctx, `SELECT vars FROM message_vars WHERE message_id = ?`, msgs[i].ID).Scan(&raw)
		if err != nil {
			continue // none kept: the message had no values of its own
		}
		if err := json.Unmarshal([]byte(raw), &msgs[i].Vars); err != nil {
			return nil, fmt.Errorf("message %s values: %w", msgs[i].ID, err)
		}
	}
	return msgs, nil
}

// KeyTaken reports whether a message has the idempotency key.
func (t *Tx) KeyTaken(ctx context.Context, key string) (bool, error) {
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE idempotency_key = ?`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("find idempotency key: %w", err)
	}
	return n > 0, nil
}

// SaveReaddressed stores a QUEUED message rendered again for another
// recipient: its customer, channel, address, texts (the HTML part and the
// unsubscribe link too: both name the recipient), status, reasons, zone
// and idempotency key. Its claim, if any, is released.
func (t *Tx) SaveReaddressed(ctx context.Context, m domain.Message) error {
	var key any
	if m.IdempotencyKey != "" {
		key = m.IdempotencyKey
	}
	_, err := t.tx.Exec(ctx, `UPDATE messages SET customer_id = ?, channel = ?, address = ?, locale = ?, subject = ?, body = ?,
		html_body = ?, unsubscribe_url = ?, status = ?, failure_reason = ?, status_reason = ?, time_zone = ?, idempotency_key = ?, claimed_until = 0
		WHERE id = ? AND status = ?`,
		m.CustomerID, string(m.Channel), m.Address, m.Locale, m.Subject, m.Body, m.HTMLBody, m.UnsubscribeURL,
		string(m.Status), m.FailureReason, m.StatusReason, m.TimeZone, key, m.ID, string(domain.StatusQueued))
	if err != nil {
		return fmt.Errorf("save re-addressed message: %w", err)
	}
	return nil
}
