// Package sqlstore keeps interactions in SQLite or PostgreSQL through
// platform/sqldb, and writes their events to the transactional outbox in
// the same transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	busevents "github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// Outbox takes events inside a transaction; *events.Outbox is one.
type Outbox interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...events.Event) error
}

// Store implements domain.Store.
type Store struct {
	db     *sqldb.DB
	outbox Outbox
}

// New returns a Store on a migrated db, publishing through outbox.
func New(db *sqldb.DB, outbox Outbox) *Store {
	return &Store{db: db, outbox: outbox}
}

// InTx runs fn in one database transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return fn(&storeTx{tx: tx, outbox: s.outbox})
	})
}

type storeTx struct {
	tx     *sqldb.Tx
	outbox Outbox
}

// Insert stores the interaction, its purchase and its lines.
func (t *storeTx) Insert(ctx context.Context, in domain.Interaction, key domain.IdempotencyKey) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO interactions
		(id, customer_id, kind, channel, occur_time, summary, source, source_id, request_id, create_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.CustomerID, string(in.Kind), string(in.Channel), sqldb.Micros(in.OccurTime), in.Summary,
		in.Source, nullable(in.SourceID), nullable(key.RequestID), sqldb.Micros(in.CreateTime))
	if sqldb.IsUniqueViolation(err) {
		return fmt.Errorf("insert interaction: %w", domain.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert interaction: %w", err)
	}
	p := in.Purchase
	if p == nil {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO purchases (interaction_id, currency_code, total_minor, order_id)
		VALUES (?, ?, ?, ?)`, in.ID, p.Total.CurrencyCode, p.Total.AmountMinor, p.OrderID); err != nil {
		return fmt.Errorf("insert purchase: %w", err)
	}
	for i, l := range p.Lines {
		if _, err := t.tx.Exec(ctx, `INSERT INTO purchase_lines
			(interaction_id, line_no, sku, product_name, category, quantity, unit_currency_code, unit_price_minor)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, i, l.SKU, l.ProductName, l.Category, l.Quantity, l.UnitPrice.CurrencyCode, l.UnitPrice.AmountMinor); err != nil {
			return fmt.Errorf("insert purchase line: %w", err)
		}
	}
	return nil
}

// Publish writes the event to the outbox in this transaction.
func (t *storeTx) Publish(ctx context.Context, e domain.Event) error {
	ev, err := busevents.Encode(ctx, e)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := t.outbox.Enqueue(ctx, t.tx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", ev.Subject, err)
	}
	return nil
}

// MarkHandled records eventID in the platform inbox.
func (t *storeTx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	return events.MarkHandled(ctx, t.tx, consumer, eventID)
}

// MergedInto returns whom the customer was merged into.
func (t *storeTx) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergedInto(ctx, t.tx, customerID)
}

// MergeCustomer re-keys the merged customer's timeline to the survivor and
// records the merge.
func (t *storeTx) MergeCustomer(ctx context.Context, m domain.Merge) error {
	if _, err := t.tx.Exec(ctx, `UPDATE interactions SET customer_id = ? WHERE customer_id = ?`, m.SurvivorID, m.MergedID); err != nil {
		return fmt.Errorf("merge customer: move timeline: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE customer_merges SET survivor_id = ? WHERE survivor_id = ?`, m.SurvivorID, m.MergedID); err != nil {
		return fmt.Errorf("merge customer: re-point merges: %w", err)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO customer_merges (merged_id, survivor_id, merge_time) VALUES (?, ?, ?)
		ON CONFLICT (merged_id) DO UPDATE SET survivor_id = excluded.survivor_id, merge_time = excluded.merge_time`,
		m.MergedID, m.SurvivorID, sqldb.Micros(m.At))
	if err != nil {
		return fmt.Errorf("merge customer: record merge: %w", err)
	}
	return nil
}

// EraseCustomer anonymizes the customer's interactions (see domain.Erasure)
// and records the erasure.
func (t *storeTx) EraseCustomer(ctx context.Context, e domain.Erasure, recordTime time.Time) (int64, error) {
	res, err := t.tx.Exec(ctx, `UPDATE interactions SET summary = '', source_id = NULL, request_id = NULL
		WHERE customer_id = ? AND (summary <> '' OR source_id IS NOT NULL OR request_id IS NOT NULL)`, e.CustomerID)
	if err != nil {
		return 0, fmt.Errorf("erase customer: anonymize interactions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("erase customer: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO customer_erasures (customer_id, erase_time, record_time) VALUES (?, ?, ?)
		ON CONFLICT (customer_id) DO NOTHING`,
		e.CustomerID, sqldb.Micros(e.EraseTime), sqldb.Micros(recordTime))
	if err != nil {
		return 0, fmt.Errorf("erase customer: record erasure: %w", err)
	}
	return n, nil
}

// MergedInto returns whom the customer was merged into.
func (s *Store) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergedInto(ctx, s.db, customerID)
}

// Erased reports whether the customer was erased.
func (s *Store) Erased(ctx context.Context, customerID string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM customer_erasures WHERE customer_id = ?`, customerID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find erasure: %w", err)
	}
	return n > 0, nil
}

// rowQuerier is what a lookup needs of a *sqldb.DB or a *sqldb.Tx.
type rowQuerier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

func mergedInto(ctx context.Context, q rowQuerier, customerID string) (string, error) {
	var survivor string
	err := q.QueryRow(ctx, `SELECT survivor_id FROM customer_merges WHERE merged_id = ?`, customerID).Scan(&survivor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find merge: %w", err)
	}
	return survivor, nil
}

const selectInteractions = `SELECT i.id, i.customer_id, i.kind, i.channel, i.occur_time, i.summary,
	i.source, i.source_id, i.create_time, p.currency_code, p.total_minor, p.order_id
	FROM interactions i LEFT JOIN purchases p ON p.interaction_id = i.id `

// FindByKey returns the interaction recorded under the request id, else
// under the source pair.
func (s *Store) FindByKey(ctx context.Context, key domain.IdempotencyKey) (domain.Interaction, error) {
	if key.RequestID != "" {
		in, err := s.findOne(ctx, `WHERE i.request_id = ?`, key.RequestID)
		if !errors.Is(err, domain.ErrNotFound) {
			return in, err
		}
	}
	if key.SourceID != "" {
		return s.findOne(ctx, `WHERE i.source = ? AND i.source_id = ?`, key.Source, key.SourceID)
	}
	return domain.Interaction{}, fmt.Errorf("find interaction: %w", domain.ErrNotFound)
}

func (s *Store) findOne(ctx context.Context, where string, args ...any) (domain.Interaction, error) {
	list, err := s.query(ctx, selectInteractions+where, args...)
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("find interaction: %w", err)
	}
	if len(list) == 0 {
		return domain.Interaction{}, fmt.Errorf("find interaction: %w", domain.ErrNotFound)
	}
	return list[0], nil
}

// ListByCustomer returns a customer's interactions newest first, by
// (occur_time desc, id desc), strictly after the cursor.
func (s *Store) ListByCustomer(ctx context.Context, customerID string, after *domain.Cursor, limit int) ([]domain.Interaction, error) {
	q := selectInteractions + `WHERE i.customer_id = ? `
	args := []any{customerID}
	if after != nil {
		at := sqldb.Micros(after.OccurTime)
		q += `AND (i.occur_time < ? OR (i.occur_time = ? AND i.id < ?)) `
		args = append(args, at, at, after.ID)
	}
	q += `ORDER BY i.occur_time DESC, i.id DESC LIMIT ?`
	args = append(args, limit)
	list, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list interactions: %w", err)
	}
	return list, nil
}

// query runs a selectInteractions query and fills in the purchase lines.
func (s *Store) query(ctx context.Context, q string, args ...any) ([]domain.Interaction, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		list      []domain.Interaction
		purchases = map[string]*domain.Purchase{}
	)
	for rows.Next() {
		var (
			in                domain.Interaction
			kind, channel     string
			occur, created    int64
			sourceID          sql.NullString
			currency, orderID sql.NullString
			totalMinor        sql.NullInt64
		)
		if err := rows.Scan(&in.ID, &in.CustomerID, &kind, &channel, &occur, &in.Summary,
			&in.Source, &sourceID, &created, &currency, &totalMinor, &orderID); err != nil {
			return nil, fmt.Errorf("scan interaction: %w", err)
		}
		in.Kind = domain.Kind(kind)
		in.Channel = domain.Channel(channel)
		in.OccurTime = sqldb.FromMicros(occur)
		in.CreateTime = sqldb.FromMicros(created)
		in.SourceID = sourceID.String
		if currency.Valid {
			in.Purchase = &domain.Purchase{
				Total:   domain.Money{CurrencyCode: currency.String, AmountMinor: totalMinor.Int64},
				OrderID: orderID.String,
			}
			purchases[in.ID] = in.Purchase
		}
		list = append(list, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read interactions: %w", err)
	}
	if err := s.loadLines(ctx, purchases); err != nil {
		return nil, err
	}
	return list, nil
}

// loadLines fills the lines of the given purchases (by interaction id) with
// one query.
func (s *Store) loadLines(ctx context.Context, purchases map[string]*domain.Purchase) error {
	if len(purchases) == 0 {
		return nil
	}
	ids := make([]any, 0, len(purchases))
	for id := range purchases {
		ids = append(ids, id)
	}
	q := `SELECT interaction_id, sku, product_name, category, quantity, unit_currency_code, unit_price_minor
		FROM purchase_lines WHERE interaction_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)
		ORDER BY interaction_id, line_no`
	rows, err := s.db.Query(ctx, q, ids...)
	if err != nil {
		return fmt.Errorf("load purchase lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			l  domain.PurchaseLine
		)
		if err := rows.Scan(&id, &l.SKU, &l.ProductName, &l.Category, &l.Quantity,
			&l.UnitPrice.CurrencyCode, &l.UnitPrice.AmountMinor); err != nil {
			return fmt.Errorf("scan purchase line: %w", err)
		}
		p := purchases[id]
		p.Lines = append(p.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read purchase lines: %w", err)
	}
	return nil
}

// nullable stores an absent key as NULL, which never collides in a unique
// index.
func nullable(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
