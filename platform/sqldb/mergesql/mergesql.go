// Package mergesql keeps the bookkeeping tables of customer merges and
// erasures that services share, for their sqlstore adapters:
// customer_merges (merged_id TEXT PRIMARY KEY, survivor_id TEXT NOT NULL,
// merge_time BIGINT NOT NULL) where a service links merged customers in a
// table of their own, and customer_erasures (customer_id TEXT PRIMARY KEY,
// erase_time BIGINT NOT NULL, record_time BIGINT NOT NULL) everywhere.
// Each service creates the tables in its own migrations. Errors are
// wrapped with the step's name; callers add their operation's.
package mergesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// RowQuerier runs a query returning one row: a *sqldb.DB or a *sqldb.Tx.
type RowQuerier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// MergedInto returns whom the customer was merged into, "" for nobody.
func MergedInto(ctx context.Context, q RowQuerier, customerID string) (string, error) {
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

// RecordMerge links m's merged customer to its survivor, and re-points the
// customers merged into the merged one at the survivor, so every link is
// one hop.
func RecordMerge(ctx context.Context, x sqldb.Execer, m merges.Merge) error {
	if _, err := x.Exec(ctx, `UPDATE customer_merges SET survivor_id = ? WHERE survivor_id = ?`, m.SurvivorID, m.MergedID); err != nil {
		return fmt.Errorf("re-point merges: %w", err)
	}
	_, err := x.Exec(ctx, `INSERT INTO customer_merges (merged_id, survivor_id, merge_time) VALUES (?, ?, ?)
		ON CONFLICT (merged_id) DO UPDATE SET survivor_id = excluded.survivor_id, merge_time = excluded.merge_time`,
		m.MergedID, m.SurvivorID, sqldb.Micros(m.At))
	if err != nil {
		return fmt.Errorf("record merge: %w", err)
	}
	return nil
}

// Erased reports whether the customer's erasure was recorded.
func Erased(ctx context.Context, q RowQuerier, customerID string) (bool, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM customer_erasures WHERE customer_id = ?`, customerID).Scan(&n); err != nil {
		return false, fmt.Errorf("find erasure: %w", err)
	}
	return n > 0, nil
}

// RecordErasure records, once, that e reached the service at recordTime;
// a replay keeps the first record.
func RecordErasure(ctx context.Context, x sqldb.Execer, e merges.Erasure, recordTime time.Time) error {
	_, err := x.Exec(ctx, `INSERT INTO customer_erasures (customer_id, erase_time, record_time) VALUES (?, ?, ?)
		ON CONFLICT (customer_id) DO NOTHING`,
		e.CustomerID, sqldb.Micros(e.EraseTime), sqldb.Micros(recordTime))
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}

// Querier runs a query returning rows: a *sqldb.DB or a *sqldb.Tx.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// MergedIntoMany is MergedInto for many customers in as few statements as
// the dialect allows (see sqldb.Dialect.OneOf): it returns whom each merged
// customer among ids was merged into; the others are missing.
func MergedIntoMany(ctx context.Context, q Querier, d sqldb.Dialect, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range d.OneOf("merged_id", ids) {
		err := scanPairs(ctx, q, `SELECT merged_id, survivor_id FROM customer_merges WHERE `+c.SQL, c.Args, func(merged, survivor string) {
			out[merged] = survivor
		})
		if err != nil {
			return nil, fmt.Errorf("find merges: %w", err)
		}
	}
	return out, nil
}

// ErasedAmong is Erased for many customers: it returns the erased ones
// among ids.
func ErasedAmong(ctx context.Context, q Querier, d sqldb.Dialect, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range d.OneOf("customer_id", ids) {
		err := scanPairs(ctx, q, `SELECT customer_id, '' FROM customer_erasures WHERE `+c.SQL, c.Args, func(id, _ string) {
			out[id] = true
		})
		if err != nil {
			return nil, fmt.Errorf("find erasures: %w", err)
		}
	}
	return out, nil
}

func scanPairs(ctx context.Context, q Querier, query string, args []any, add func(a, b string)) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		add(a, b)
	}
	return rows.Err()
}
