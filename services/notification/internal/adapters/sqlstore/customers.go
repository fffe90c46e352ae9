package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/mergesql"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// MergedInto returns whom the customer was merged into.
func (s *Store) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergesql.MergedInto(ctx, s.db, customerID)
}

// MergedInto returns whom the customer was merged into.
func (t *Tx) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergesql.MergedInto(ctx, t.tx, customerID)
}

// ConsentsOf returns each customer's answers.
func (s *Store) ConsentsOf(ctx context.Context, customerIDs []string) (map[string]domain.Consents, error) {
	out := make(map[string]domain.Consents, len(customerIDs))
	for chunk := range slices.Chunk(customerIDs, 5000) {
		rows, err := s.db.Query(ctx, `SELECT customer_id, channel, status FROM consents WHERE customer_id IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("load consents: %w", err)
		}
		for rows.Next() {
			var id, ch, status string
			if err := rows.Scan(&id, &ch, &status); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan consent: %w", err)
			}
			if out[id] == nil {
				out[id] = domain.Consents{}
			}
			out[id][domain.Channel(ch)] = domain.ConsentStatus(status)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load consents: %w", err)
		}
	}
	return out, nil
}

// MergeCustomer re-keys the merged customer's messages and records the
// merge.
func (t *Tx) MergeCustomer(ctx context.Context, m domain.Merge) error {
	if _, err := t.tx.Exec(ctx, `UPDATE messages SET customer_id = ? WHERE customer_id = ?`, m.SurvivorID, m.MergedID); err != nil {
		return fmt.Errorf("merge customer: move messages: %w", err)
	}
	// A membership of both keeps the survivor's.
	if _, err := t.tx.Exec(ctx, `UPDATE program_members SET customer_id = ? WHERE customer_id = ?
		AND program_id NOT IN (SELECT program_id FROM program_members WHERE customer_id = ?)`, m.SurvivorID, m.MergedID, m.SurvivorID); err != nil {
		return fmt.Errorf("merge customer: move memberships: %w", err)
	}
	if err := t.DeleteRecipient(ctx, m.MergedID); err != nil {
		return fmt.Errorf("merge customer: %w", err)
	}
	if err := mergesql.RecordMerge(ctx, t.tx, m); err != nil {
		return fmt.Errorf("merge customer: %w", err)
	}
	return nil
}

// Consents returns the customers' stored answers, by customer and
// channel, locked on PostgreSQL in that order: two consent events for one
// customer, handled at once by two replicas, must not both decide against
// the same old answer, and two batches lock their customers in one order.
func (t *Tx) Consents(ctx context.Context, customerIDs []string) ([]domain.Consent, error) {
	var out []domain.Consent
	for _, c := range t.tx.Dialect().OneOf("customer_id", slices.Sorted(slices.Values(customerIDs))) {
		q := `SELECT customer_id, channel, status, source, update_time FROM consents WHERE ` + c.SQL + ` ORDER BY customer_id, channel`
		if t.tx.Dialect() == sqldb.Postgres {
			q += ` FOR UPDATE`
		}
		cs, err := sqldb.QueryAll(ctx, t.tx, func(s sqldb.Scanner) (domain.Consent, error) {
			var (
				c               domain.Consent
				channel, status string
				at              int64
			)
			err := s.Scan(&c.CustomerID, &channel, &status, &c.Source, &at)
			c.Channel, c.Status, c.UpdateTime = domain.Channel(channel), domain.ConsentStatus(status), sqldb.FromMicros(at)
			return c, err
		}, q, c.Args...)
		if err != nil {
			return nil, fmt.Errorf("load consents: %w", err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// SaveConsents upserts cs, the last of each customer and channel, in one
// statement per few thousand, in key order.
func (t *Tx) SaveConsents(ctx context.Context, cs []domain.Consent) error {
	type key struct {
		customer string
		channel  domain.Channel
	}
	last := map[key]domain.Consent{}
	for _, c := range cs {
		last[key{c.CustomerID, c.Channel}] = c
	}
	keys := slices.SortedFunc(maps.Keys(last), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.customer, b.customer), cmp.Compare(a.channel, b.channel))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		c := last[k]
		rows[i] = []any{c.CustomerID, string(c.Channel), string(c.Status), c.Source, sqldb.Micros(c.UpdateTime)}
	}
	err := upsertRows(ctx, t.tx, `INSERT INTO consents (customer_id, channel, status, source, update_time) VALUES `, rows,
		` ON CONFLICT (customer_id, channel) DO UPDATE
		SET status = excluded.status, source = excluded.source, update_time = excluded.update_time`)
	if err != nil {
		return fmt.Errorf("save consents: %w", err)
	}
	return nil
}

// DeleteConsents removes the customer's answers.
func (t *Tx) DeleteConsents(ctx context.Context, customerID string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM consents WHERE customer_id = ?`, customerID); err != nil {
		return fmt.Errorf("delete consents: %w", err)
	}
	return nil
}

// MergedIntoMany returns whom each merged customer among ids was merged
// into.
func (t *Tx) MergedIntoMany(ctx context.Context, customerIDs []string) (map[string]string, error) {
	return mergesql.MergedIntoMany(ctx, t.tx, t.tx.Dialect(), customerIDs)
}

// ErasedAmong returns the erased customers among ids.
func (t *Tx) ErasedAmong(ctx context.Context, customerIDs []string) (map[string]bool, error) {
	return mergesql.ErasedAmong(ctx, t.tx, t.tx.Dialect(), customerIDs)
}

// Erased reports whether the customer was erased.
func (t *Tx) Erased(ctx context.Context, customerID string) (bool, error) {
	return mergesql.Erased(ctx, t.tx, customerID)
}

// RecordErasure stores the erasure unless it is recorded.
func (t *Tx) RecordErasure(ctx context.Context, e domain.Erasure, recordTime time.Time) error {
	return mergesql.RecordErasure(ctx, t.tx, e, recordTime)
}

// LockMessages returns the customer's messages, locked on PostgreSQL so a
// dispatcher cannot mark one sent between this read and the erasure's
// write (SQLite transactions here already hold the one write lock).
func (t *Tx) LockMessages(ctx context.Context, customerID string) ([]domain.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE customer_id = ? ORDER BY create_time, id`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := t.tx.Query(ctx, q, customerID)
	if err != nil {
		return nil, fmt.Errorf("lock messages: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("lock messages: %w", err)
	}
	return msgs, nil
}

// SaveErased writes what Message.Erase changed. Erase leaves no message
// queued, so none keeps a dispatcher's claim.
func (t *Tx) SaveErased(ctx context.Context, m domain.Message) error {
	_, err := t.tx.Exec(ctx, `UPDATE messages SET address = ?, subject = ?, body = ?, html_body = ?, unsubscribe_url = ?, status = ?,
		failure_reason = ?, status_reason = ?, claimed_until = 0 WHERE id = ?`,
		m.Address, m.Subject, m.Body, m.HTMLBody, m.UnsubscribeURL, string(m.Status), m.FailureReason, m.StatusReason, m.ID)
	if err != nil {
		return fmt.Errorf("save erased message: %w", err)
	}
	return nil
}

// ForgetDeliveries blanks what the default channel sink caught of the
// customer's messages: its table is this database's, so erasure reaches it
// like the messages themselves.
func (t *Tx) ForgetDeliveries(ctx context.Context, customerID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE sink_deliveries SET address = '', subject = '', body = ''
		WHERE message_id IN (SELECT id FROM messages WHERE customer_id = ?)`, customerID)
	if err != nil {
		return fmt.Errorf("forget deliveries: %w", err)
	}
	// The values a message was rendered with may name the customer (a
	// case's subject).
	_, err = t.tx.Exec(ctx, `DELETE FROM message_vars WHERE message_id IN (SELECT id FROM messages WHERE customer_id = ?)`, customerID)
	if err != nil {
		return fmt.Errorf("forget message values: %w", err)
	}
	// A provider's answer may quote the address.
	_, err = t.tx.Exec(ctx, `UPDATE delivery_attempts SET provider_response = ''
		WHERE message_id IN (SELECT id FROM messages WHERE customer_id = ?)`, customerID)
	if err != nil {
		return fmt.Errorf("forget provider responses: %w", err)
	}
	return nil
}
