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
	"maps"
	"slices"
	"strings"
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
	return &Store{db: db, txs: events.NewTransactor(db, outbox, encoder), reader: reader{q: db, dialect: db.Dialect, scale: 100, zone: time.UTC}}
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
		return fn(&storeTx{tx: tx, events: pending, reader: reader{q: tx, dialect: tx.Dialect(), scale: s.scale, zone: s.zone}})
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
	// zone is the time zone whose calendar days and months bucket
	// purchases (see UseTimeZone).
	zone *time.Location
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

// day is the SQL of a purchase's calendar day in the store's zone, stored
// with it (the zone's offset changes with daylight saving, which SQL
// common to both databases cannot follow); its UTC day for a row the
// previous release wrote without one (see UseTimeZone).
const day = "COALESCE(local_day, occur_time / 86400000000)"

// Facts sums up one customer's purchases and returns.
func (r reader) Facts(ctx context.Context, customerID string, w domain.Window) (domain.Facts, error) {
	fs, err := r.FactsOf(ctx, []string{customerID}, w)
	if err != nil {
		return domain.Facts{}, err
	}
	return fs[customerID], nil
}

// FactsOf sums up the purchases and returns of each of customerIDs, in
// two aggregates whatever their number.
func (r reader) FactsOf(ctx context.Context, customerIDs []string, w domain.Window) (map[string]domain.Facts, error) {
	out := make(map[string]domain.Facts, len(customerIDs))
	for _, id := range customerIDs {
		out[id] = domain.Facts{CustomerID: id, Zone: r.zone}
	}
	since, until := sqldb.Micros(w.Since), sqldb.Micros(w.Until)
	for _, in := range r.dialect.OneOf("customer_id", customerIDs) {
		// The repeat spend is what was spent in the reporting currency
		// after the first day with such spend: the first day comes from
		// a window over the same rows, so the purchases are read once.
		args := append([]any{w.Currency, w.Currency, w.Currency, since, until, w.Currency, w.Currency}, in.Args...)
		facts, err := sqldb.QueryAll(ctx, r.q, func(sc sqldb.Scanner) (domain.Facts, error) {
			var (
				f           domain.Facts
				first, last sql.NullInt64
			)
			err := sc.Scan(&f.CustomerID, &f.PurchaseCount, &f.PurchaseDays, &f.SpendDays, &first, &last, &f.Lifetime, &f.Trailing, &f.RepeatSpend)
			f.Zone = r.zone
			if first.Valid {
				f.First, f.Last = sqldb.FromMicros(first.Int64), sqldb.FromMicros(last.Int64)
			}
			return f, err
		}, `
			SELECT customer_id, COUNT(*), COUNT(DISTINCT d), COUNT(DISTINCT CASE WHEN currency = ? THEN d END),
				MIN(occur_time), MAX(occur_time),
				CAST(COALESCE(SUM(CASE WHEN currency = ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
				CAST(COALESCE(SUM(CASE WHEN currency = ? AND occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END), 0) AS BIGINT),
				CAST(COALESCE(SUM(CASE WHEN currency = ? AND d > first_day THEN amount_minor ELSE 0 END), 0) AS BIGINT)
			FROM (SELECT customer_id, currency, amount_minor, occur_time, `+day+` AS d,
					MIN(CASE WHEN currency = ? THEN `+day+` END) OVER (PARTITION BY customer_id) AS first_day
				FROM purchases WHERE `+in.SQL+`) p
			GROUP BY customer_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("sum customer purchases: %w", err)
		}
		for _, f := range facts {
			out[f.CustomerID] = f
		}
		type refunds struct {
			id              string
			total, trailing int64
		}
		args = append([]any{since, until, w.Currency}, in.Args...)
		rs, err := sqldb.QueryAll(ctx, r.q, func(sc sqldb.Scanner) (refunds, error) {
			var rf refunds
			return rf, sc.Scan(&rf.id, &rf.total, &rf.trailing)
		}, `
			SELECT customer_id, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT),
				CAST(COALESCE(SUM(CASE WHEN occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END), 0) AS BIGINT)
			FROM returns WHERE currency = ? AND `+in.SQL+` GROUP BY customer_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("sum customer returns: %w", err)
		}
		for _, rf := range rs {
			f := out[rf.id]
			f.Refunds = rf.total
			f.Lifetime -= rf.total
			f.Trailing -= rf.trailing
			out[rf.id] = f
		}
	}
	return out, nil
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

// Rankings returns, for each of spends, the spend in w of the customers
// who spent strictly more, and of everyone (net spends above zero): one
// pass over the per-customer sums answers them all.
func (r reader) Rankings(ctx context.Context, w domain.Window, spends []int64) (map[int64]domain.Standing, error) {
	out := make(map[int64]domain.Standing, len(spends))
	var marks []string
	var args []any
	for _, spend := range spends {
		if _, ok := out[spend]; ok {
			continue
		}
		out[spend] = domain.Standing{Spend: spend}
		marks = append(marks, `SELECT CAST(? AS BIGINT) AS s`)
		args = append(args, spend)
	}
	if len(marks) == 0 {
		return out, nil
	}
	since, until := sqldb.Micros(w.Since), sqldb.Micros(w.Until)
	args = append(args, w.Currency, since, until, w.Currency, since, until)
	standings, err := sqldb.QueryAll(ctx, r.q, func(sc sqldb.Scanner) (domain.Standing, error) {
		var st domain.Standing
		return st, sc.Scan(&st.Spend, &st.Above, &st.Total)
	}, `
		SELECT q.s,
			CAST(COALESCE(SUM(CASE WHEN t.spend > q.s AND t.spend > 0 THEN t.spend ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN t.spend > 0 THEN t.spend ELSE 0 END), 0) AS BIGINT)
		FROM (`+strings.Join(marks, " UNION ALL ")+`) q CROSS JOIN (`+trailingSpends+`) t
		GROUP BY q.s`, args...)
	if err != nil {
		return nil, fmt.Errorf("rank spends: %w", err)
	}
	for _, st := range standings {
		out[st.Spend] = st
	}
	return out, nil
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

// MarkHandledMany records the events in the inbox.
func (t *storeTx) MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (map[string]bool, error) {
	return events.MarkHandledMany(ctx, t.tx, consumer, eventIDs)
}

// RegisterCustomer inserts the customer unless it is known.
func (t *storeTx) RegisterCustomer(ctx context.Context, customerID string, at time.Time) error {
	return t.RegisterCustomers(ctx, map[string]time.Time{customerID: at})
}

// RegisterCustomers inserts the customers not known yet, in id order: two
// transactions registering some of the same customers take their locks in
// the same order and never wait on each other in a cycle.
func (t *storeTx) RegisterCustomers(ctx context.Context, at map[string]time.Time) error {
	if len(at) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(at))
	for _, id := range slices.Sorted(maps.Keys(at)) {
		rows = append(rows, []any{id, sqldb.Micros(at[id])})
	}
	values, args := sqldb.ValuesList(rows)
	_, err := t.tx.Exec(ctx, `INSERT INTO customers (id, register_time) VALUES `+values+` ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("register customers: %w", err)
	}
	return nil
}

// LockCustomers reads whom each registered customer was merged into ("" for
// none), locking their rows in id order on PostgreSQL (see LockMergedInto
// for SQLite).
func (t *storeTx) LockCustomers(ctx context.Context, customerIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(customerIDs))
	lock := ""
	if t.tx.Dialect() == sqldb.Postgres {
		lock = ` FOR UPDATE`
	}
	type link struct{ id, into string }
	for _, in := range t.tx.Dialect().OneOf("id", customerIDs) {
		links, err := sqldb.QueryAll(ctx, t.tx, func(sc sqldb.Scanner) (link, error) {
			var (
				l    link
				into sql.NullString
			)
			err := sc.Scan(&l.id, &into)
			l.into = into.String
			return l, err
		}, `SELECT id, merged_into FROM customers WHERE `+in.SQL+` ORDER BY id`+lock, in.Args...)
		if err != nil {
			return nil, fmt.Errorf("lock customers: %w", err)
		}
		for _, l := range links {
			out[l.id] = l.into
		}
	}
	return out, nil
}

// RecordPurchase inserts the purchase unless its interaction id is stored.
func (t *storeTx) RecordPurchase(ctx context.Context, p domain.Purchase) (bool, error) {
	recorded, err := t.RecordHistory(ctx, []domain.Purchase{p}, nil)
	return recorded[p.InteractionID], err
}

// RecordReturn inserts the return unless its interaction id is stored.
func (t *storeTx) RecordReturn(ctx context.Context, r domain.Return) (bool, error) {
	recorded, err := t.RecordHistory(ctx, nil, []domain.Return{r})
	return recorded[r.InteractionID], err
}

// RecordHistory inserts the purchases and returns whose interaction ids
// are not stored yet, with their lines, in one statement per table.
func (t *storeTx) RecordHistory(ctx context.Context, ps []domain.Purchase, rs []domain.Return) (map[string]bool, error) {
	recorded := map[string]bool{}
	// An interaction named twice (a replay under another event id) is
	// taken once.
	seen := map[string]bool{}
	ps = slices.DeleteFunc(slices.Clone(ps), func(p domain.Purchase) bool {
		dup := seen[p.InteractionID]
		seen[p.InteractionID] = true
		return dup
	})
	rs = slices.DeleteFunc(slices.Clone(rs), func(r domain.Return) bool {
		dup := seen[r.InteractionID]
		seen[r.InteractionID] = true
		return dup
	})
	var purchases, returns, lines [][]any
	for _, p := range ps {
		purchases = append(purchases, []any{p.InteractionID, p.CustomerID, p.Amount.Currency, p.Amount.Minor, sqldb.Micros(p.OccurTime), domain.Day(p.OccurTime, t.zone)})
	}
	for _, r := range rs {
		returns = append(returns, []any{r.InteractionID, r.CustomerID, r.PurchaseInteractionID, r.Refund.Currency, r.Refund.Minor, sqldb.Micros(r.OccurTime)})
	}
	if err := t.insertNew(ctx, "purchases", "interaction_id, customer_id, currency, amount_minor, occur_time, local_day", purchases, recorded); err != nil {
		return nil, fmt.Errorf("record purchases: %w", err)
	}
	if err := t.insertNew(ctx, "returns", "interaction_id, customer_id, purchase_interaction_id, currency, amount_minor, occur_time", returns, recorded); err != nil {
		return nil, fmt.Errorf("record returns: %w", err)
	}
	for _, p := range ps {
		if recorded[p.InteractionID] {
			lines = appendLines(lines, p.InteractionID, p.CustomerID, p.Amount.Currency, domain.MonthIndex(p.OccurTime, t.zone), p.Lines, 1)
		}
	}
	for _, r := range rs {
		if recorded[r.InteractionID] {
			lines = appendLines(lines, r.InteractionID, r.CustomerID, r.Refund.Currency, domain.MonthIndex(r.OccurTime, t.zone), r.Lines, -1)
		}
	}
	err := t.tx.InsertRows(ctx, "purchase_lines",
		[]string{"interaction_id", "line_no", "customer_id", "category", "quantity", "currency", "amount_minor", "month"}, lines)
	if err != nil {
		return nil, fmt.Errorf("record purchase lines: %w", err)
	}
	return recorded, nil
}

// insertNew inserts rows keyed by interaction id, skipping the ids already
// stored, and adds the ids it inserted to recorded.
func (t *storeTx) insertNew(ctx context.Context, table, columns string, rows [][]any, recorded map[string]bool) error {
	if len(rows) == 0 {
		return nil
	}
	values, args := sqldb.ValuesList(rows)
	ids, err := t.ids(ctx, `INSERT INTO `+table+` (`+columns+`) VALUES `+values+`
		ON CONFLICT (interaction_id) DO NOTHING RETURNING interaction_id`, args...)
	for _, id := range ids {
		recorded[id] = true
	}
	return err
}

// appendLines adds the rows of lines with their month; sign -1 makes a
// return's lines subtract.
func appendLines(rows [][]any, interactionID, customerID, currency string, month int, lines []domain.Line, sign int64) [][]any {
	for i, l := range lines {
		rows = append(rows, []any{interactionID, i, customerID, l.Category, sign * l.Quantity, currency, sign * l.Amount, month})
	}
	return rows
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
