// Package sqlstore is the segmentation store on SQLite and PostgreSQL
// through platform/sqldb. Both dialects run the same SQL: times are BIGINT
// unix microseconds, sums are cast to BIGINT (PostgreSQL's SUM(bigint) is
// numeric).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	segevents "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Enqueuer writes an event into the transactional outbox; *events.Outbox
// is the production one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...events.Event) error
}

// Store implements domain.Store.
type Store struct {
	db     *sqldb.DB
	outbox Enqueuer
	reader
}

var _ domain.Store = (*Store)(nil)

// New returns a store over a migrated db, publishing through outbox.
func New(db *sqldb.DB, outbox Enqueuer) *Store {
	return &Store{db: db, outbox: outbox, reader: reader{q: db}}
}

// InTx runs fn in one database transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return fn(&storeTx{tx: tx, outbox: s.outbox, reader: reader{q: tx}})
	})
}

// querier is what reads need from a *sqldb.DB or a *sqldb.Tx.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

type reader struct {
	q querier
}

// CustomerExists reports whether the customer is registered.
func (r reader) CustomerExists(ctx context.Context, customerID string) (bool, error) {
	var n int
	err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM customers WHERE id = ?`, customerID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find customer: %w", err)
	}
	return n > 0, nil
}

// MergedInto returns whom the customer was merged into.
func (r reader) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergedInto(ctx, r.q, `SELECT merged_into FROM customers WHERE id = ?`, customerID)
}

func mergedInto(ctx context.Context, q querier, query, customerID string) (string, error) {
	var into sql.NullString
	err := q.QueryRow(ctx, query, customerID).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find merged customer: %w", err)
	}
	return into.String, nil
}

// Spend sums up one customer's purchases.
func (r reader) Spend(ctx context.Context, customerID string, w domain.Window) (domain.Spend, error) {
	var (
		s           domain.Spend
		first, last sql.NullInt64
	)
	err := r.q.QueryRow(ctx, `
		SELECT
			CAST(COALESCE(SUM(CASE WHEN currency = ? AND occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN currency = ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
			COUNT(*), MIN(occur_time), MAX(occur_time)
		FROM purchases WHERE customer_id = ?`,
		w.Currency, sqldb.Micros(w.Since), sqldb.Micros(w.Until), w.Currency, customerID,
	).Scan(&s.Trailing, &s.Lifetime, &s.Count, &first, &last)
	if err != nil {
		return domain.Spend{}, fmt.Errorf("sum customer spend: %w", err)
	}
	if first.Valid {
		s.First = sqldb.FromMicros(first.Int64)
	}
	if last.Valid {
		s.Last = sqldb.FromMicros(last.Int64)
	}
	return s, nil
}

// Ranking returns the spend of the customers who spent more than spend in
// w, and of everyone, in one aggregate over per-customer sums.
func (r reader) Ranking(ctx context.Context, w domain.Window, spend int64) (domain.Standing, error) {
	st := domain.Standing{Spend: spend}
	err := r.q.QueryRow(ctx, `
		SELECT
			CAST(COALESCE(SUM(CASE WHEN t.spend > ? THEN t.spend ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(t.spend), 0) AS BIGINT)
		FROM (
			SELECT SUM(amount_minor) AS spend FROM purchases
			WHERE currency = ? AND occur_time >= ? AND occur_time <= ?
			GROUP BY customer_id
		) t`,
		spend, w.Currency, sqldb.Micros(w.Since), sqldb.Micros(w.Until),
	).Scan(&st.Above, &st.Total)
	if err != nil {
		return domain.Standing{}, fmt.Errorf("rank spend: %w", err)
	}
	return st, nil
}

type storeTx struct {
	tx     *sqldb.Tx
	outbox Enqueuer
	reader
}

// MarkHandled records the event in the inbox.
func (t *storeTx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	return events.MarkHandled(ctx, t.tx, consumer, eventID)
}

// RegisterCustomer inserts the customer unless it is known.
func (t *storeTx) RegisterCustomer(ctx context.Context, customerID string, at time.Time) error {
	_, err := t.tx.Exec(ctx,
		`INSERT INTO customers (id, register_time) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		customerID, sqldb.Micros(at))
	if err != nil {
		return fmt.Errorf("register customer: %w", err)
	}
	return nil
}

// RecordPurchase inserts the purchase unless its interaction id is stored.
func (t *storeTx) RecordPurchase(ctx context.Context, p domain.Purchase) (bool, error) {
	res, err := t.tx.Exec(ctx, `
		INSERT INTO purchases (interaction_id, customer_id, currency, amount_minor, occur_time)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (interaction_id) DO NOTHING`,
		p.InteractionID, p.CustomerID, p.Amount.Currency, p.Amount.Minor, sqldb.Micros(p.OccurTime))
	if err != nil {
		return false, fmt.Errorf("record purchase: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record purchase: %w", err)
	}
	return n == 1, nil
}

// LockMergedInto reads whom the customer was merged into, locking its row
// on PostgreSQL. SQLite transactions here begin IMMEDIATE and already hold
// the one write lock; SQLite has no FOR UPDATE.
func (t *storeTx) LockMergedInto(ctx context.Context, customerID string) (string, error) {
	q := `SELECT merged_into FROM customers WHERE id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return mergedInto(ctx, t.tx, q, customerID)
}

// MergeCustomer moves from's purchases to to and links from to to.
func (t *storeTx) MergeCustomer(ctx context.Context, from, to string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE purchases SET customer_id = ? WHERE customer_id = ?`, to, from); err != nil {
		return fmt.Errorf("merge customer: move purchases: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE customers SET merged_into = ? WHERE id = ? OR merged_into = ?`, to, from, from); err != nil {
		return fmt.Errorf("merge customer: link: %w", err)
	}
	return nil
}

// RecordErasure stores the erasure unless it is already recorded.
func (t *storeTx) RecordErasure(ctx context.Context, e domain.Erasure, recordTime time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO customer_erasures (customer_id, erase_time, record_time) VALUES (?, ?, ?)
		ON CONFLICT (customer_id) DO NOTHING`,
		e.CustomerID, sqldb.Micros(e.EraseTime), sqldb.Micros(recordTime))
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}

// Erasure returns the recorded erasure of a customer, or ErrNotFound.
func (s *Store) Erasure(ctx context.Context, customerID string) (domain.Erasure, error) {
	var at int64
	err := s.db.QueryRow(ctx, `SELECT erase_time FROM customer_erasures WHERE customer_id = ?`, customerID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Erasure{}, fmt.Errorf("erasure of %s: %w", customerID, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Erasure{}, fmt.Errorf("load erasure: %w", err)
	}
	return domain.Erasure{CustomerID: customerID, EraseTime: sqldb.FromMicros(at)}, nil
}

// Publish writes the event into the outbox in this transaction.
func (t *storeTx) Publish(ctx context.Context, ev domain.ClassChanged) error {
	out, err := segevents.ClassChangedEvent(ctx, ev)
	if err != nil {
		return fmt.Errorf("publish class changed: %w", err)
	}
	if err := t.outbox.Enqueue(ctx, t.tx, out); err != nil {
		return fmt.Errorf("publish class changed: %w", err)
	}
	return nil
}
