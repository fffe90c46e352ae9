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
	"github.com/guanxi-crm/guanxi/platform/sqldb/mergesql"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Store implements domain.Store.
type Store struct {
	db  *sqldb.DB
	txs events.Transactor[domain.Event]
	reader
}

var _ domain.Store = (*Store)(nil)

// New returns a store over a migrated db whose transactions write the
// events they publish, given their wire form by encoder, into outbox.
// Amounts in segment filters are in major units of the reporting
// currency, 100 minor units each unless WithMinorPerMajor says otherwise.
func New(db *sqldb.DB, outbox events.Enqueuer, encoder events.Encoder[domain.Event]) *Store {
	return &Store{db: db, txs: events.NewTransactor(db, outbox, encoder), reader: reader{q: db, dialect: db.Dialect, scale: 100}}
}

// WithMinorPerMajor sets how many minor units make a major unit of the
// reporting currency (1 for JPY), for amounts in segment filters.
func (s *Store) WithMinorPerMajor(scale float64) *Store {
	s.scale = scale
	return s
}

// InTx runs fn in one database transaction. The events fn publishes go to
// the outbox together when fn is done.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.txs.InTx(ctx, func(tx *sqldb.Tx, pending *events.Pending[domain.Event]) error {
		return fn(&storeTx{tx: tx, events: pending, reader: reader{q: tx, dialect: tx.Dialect(), scale: s.scale}})
	})
}

// querier is what reads need from a *sqldb.DB or a *sqldb.Tx.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type reader struct {
	q       querier
	dialect sqldb.Dialect
	// scale is minor units per major unit of the reporting currency.
	scale float64
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

// dayMicros is one day in the unit of stored times; integer division by
// it gives the day number on both databases. It is written into the SQL
// as a literal, as PostgreSQL takes `occur_time / $1` and
// `occur_time / $2` for different expressions in GROUP BY.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// day is the SQL of the day number of occur_time.
const day = "occur_time / 86400000000"

// Facts sums up one customer's purchases and returns.
func (r reader) Facts(ctx context.Context, customerID string, w domain.Window) (domain.Facts, error) {
	f := domain.Facts{CustomerID: customerID}
	var first, last sql.NullInt64
	since, until := sqldb.Micros(w.Since), sqldb.Micros(w.Until)
	err := r.q.QueryRow(ctx, `
		SELECT COUNT(*), COUNT(DISTINCT `+day+`), MIN(occur_time), MAX(occur_time),
			CAST(COALESCE(SUM(CASE WHEN currency = ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN currency = ? AND occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN currency = ? AND `+day+` > (SELECT MIN(occur_time) FROM purchases WHERE customer_id = ?) / 86400000000
				THEN amount_minor ELSE 0 END), 0) AS BIGINT)
		FROM purchases WHERE customer_id = ?`,
		w.Currency, w.Currency, since, until, w.Currency, customerID, customerID,
	).Scan(&f.PurchaseCount, &f.PurchaseDays, &first, &last, &f.Lifetime, &f.Trailing, &f.RepeatSpend)
	if err != nil {
		return domain.Facts{}, fmt.Errorf("sum customer purchases: %w", err)
	}
	if first.Valid {
		f.First, f.Last = sqldb.FromMicros(first.Int64), sqldb.FromMicros(last.Int64)
	}
	var trailingRefunds int64
	err = r.q.QueryRow(ctx, `
		SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END), 0) AS BIGINT)
		FROM returns WHERE customer_id = ? AND currency = ?`,
		since, until, customerID, w.Currency,
	).Scan(&f.Refunds, &trailingRefunds)
	if err != nil {
		return domain.Facts{}, fmt.Errorf("sum customer returns: %w", err)
	}
	f.Lifetime -= f.Refunds
	f.Trailing -= trailingRefunds
	return f, nil
}

// trailingSpends is the per-customer spend net of refunds in a window: the
// population the ranking ranks. Refunds are looked up per customer (an
// index probe, and returns are few) so that purchases are still summed
// from the window index alone; a customer with refunds but no purchase in
// the window has nothing to rank.
const trailingSpends = `
	SELECT p.customer_id, SUM(p.amount_minor) - COALESCE((SELECT SUM(r.amount_minor) FROM returns r
		WHERE r.customer_id = p.customer_id AND r.currency = ? AND r.occur_time >= ? AND r.occur_time <= ?), 0) AS spend
	FROM purchases p
	WHERE p.currency = ? AND p.occur_time >= ? AND p.occur_time <= ?
	GROUP BY p.customer_id`

// Ranking returns the spend of the customers who spent more than spend in
// w, and of everyone (net spends above zero), in one aggregate over
// per-customer sums.
func (r reader) Ranking(ctx context.Context, w domain.Window, spend int64) (domain.Standing, error) {
	st := domain.Standing{Spend: spend}
	since, until := sqldb.Micros(w.Since), sqldb.Micros(w.Until)
	err := r.q.QueryRow(ctx, `
		SELECT
			CAST(COALESCE(SUM(CASE WHEN t.spend > ? THEN t.spend ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN t.spend > 0 THEN t.spend ELSE 0 END), 0) AS BIGINT)
		FROM (`+trailingSpends+`) t`,
		max(spend, 0), w.Currency, since, until, w.Currency, since, until,
	).Scan(&st.Above, &st.Total)
	if err != nil {
		return domain.Standing{}, fmt.Errorf("rank spend: %w", err)
	}
	return st, nil
}

type storeTx struct {
	tx *sqldb.Tx
	// events are published so far, for the outbox when fn of InTx is done.
	events *events.Pending[domain.Event]
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
	if n != 1 {
		return false, nil
	}
	if err := t.insertLines(ctx, p.InteractionID, p.CustomerID, p.Amount.Currency, p.OccurTime, p.Lines, 1); err != nil {
		return false, fmt.Errorf("record purchase: %w", err)
	}
	return true, nil
}

// RecordReturn inserts the return unless its interaction id is stored.
func (t *storeTx) RecordReturn(ctx context.Context, r domain.Return) (bool, error) {
	res, err := t.tx.Exec(ctx, `
		INSERT INTO returns (interaction_id, customer_id, purchase_interaction_id, currency, amount_minor, occur_time)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (interaction_id) DO NOTHING`,
		r.InteractionID, r.CustomerID, r.PurchaseInteractionID, r.Refund.Currency, r.Refund.Minor, sqldb.Micros(r.OccurTime))
	if err != nil {
		return false, fmt.Errorf("record return: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record return: %w", err)
	}
	if n != 1 {
		return false, nil
	}
	if err := t.insertLines(ctx, r.InteractionID, r.CustomerID, r.Refund.Currency, r.OccurTime, r.Lines, -1); err != nil {
		return false, fmt.Errorf("record return: %w", err)
	}
	return true, nil
}

// insertLines stores lines with their month; sign -1 makes a return's
// lines subtract.
func (t *storeTx) insertLines(ctx context.Context, interactionID, customerID, currency string, at time.Time, lines []domain.Line, sign int64) error {
	if len(lines) == 0 {
		return nil
	}
	month := MonthIndex(at)
	rows := make([][]any, len(lines))
	for i, l := range lines {
		rows[i] = []any{interactionID, i, customerID, l.Category, sign * l.Quantity, currency, sign * l.Amount, month}
	}
	return t.tx.InsertRows(ctx, "purchase_lines",
		[]string{"interaction_id", "line_no", "customer_id", "category", "quantity", "currency", "amount_minor", "month"}, rows)
}

// MonthIndex is year*12 + month-1 of t in UTC.
func MonthIndex(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
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
	for _, table := range []string{"purchases", "returns", "purchase_lines"} {
		if _, err := t.tx.Exec(ctx, `UPDATE `+table+` SET customer_id = ? WHERE customer_id = ?`, to, from); err != nil {
			return fmt.Errorf("merge customer: move %s: %w", table, err)
		}
	}
	for _, table := range []string{"customer_values", "customer_profiles", "customer_tags", "customer_attributes"} {
		if _, err := t.tx.Exec(ctx, `DELETE FROM `+table+` WHERE customer_id = ?`, from); err != nil {
			return fmt.Errorf("merge customer: drop %s: %w", table, err)
		}
	}
	if _, err := t.tx.Exec(ctx, `UPDATE customers SET merged_into = ? WHERE id = ? OR merged_into = ?`, to, from, from); err != nil {
		return fmt.Errorf("merge customer: link: %w", err)
	}
	return nil
}

// RecordErasure stores the erasure unless it is already recorded.
func (t *storeTx) RecordErasure(ctx context.Context, e domain.Erasure, recordTime time.Time) error {
	if err := mergesql.RecordErasure(ctx, t.tx, e, recordTime); err != nil {
		return err
	}
	// Attributes and tags may say something about the person; the
	// profile's enums and owner do not, and segments keep using them.
	for _, table := range []string{"customer_tags", "customer_attributes"} {
		if _, err := t.tx.Exec(ctx, `DELETE FROM `+table+` WHERE customer_id = ?`, e.CustomerID); err != nil {
			return fmt.Errorf("record erasure: %w", err)
		}
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

// Publish encodes evs for the outbox, written in this transaction.
func (t *storeTx) Publish(ctx context.Context, evs ...domain.Event) error {
	if err := t.events.Add(ctx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}
