// Package sqlstore keeps interactions in SQLite or PostgreSQL through
// platform/sqldb, and writes their events to the transactional outbox in
// the same transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/mergesql"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// Store implements domain.Store.
type Store struct {
	db  *sqldb.DB
	txs events.Transactor[domain.Event]
}

// New returns a Store on a migrated db whose transactions write the events
// they publish, given their wire form by encoder, into outbox.
func New(db *sqldb.DB, outbox events.Enqueuer, encoder events.Encoder[domain.Event]) *Store {
	return &Store{db: db, txs: events.NewTransactor(db, outbox, encoder)}
}

// InTx runs fn in one database transaction. The events fn publishes go to
// the outbox together when fn is done: one bulk write per transaction (a
// purchase publishes two events) instead of one per event.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.txs.InTx(ctx, func(tx *sqldb.Tx, pending *events.Pending[domain.Event]) error {
		return fn(&storeTx{tx: tx, events: pending})
	})
}

type storeTx struct {
	tx *sqldb.Tx
	// events are published so far, for the outbox when fn of InTx is done.
	events *events.Pending[domain.Event]
}

// Publish queues the events for the outbox, written in this transaction.
func (t *storeTx) Publish(ctx context.Context, evs ...domain.Event) error {
	if err := t.events.Add(ctx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// MarkHandled records eventID in the platform inbox.
func (t *storeTx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	return events.MarkHandled(ctx, t.tx, consumer, eventID)
}

// MergedInto returns whom the customer was merged into.
func (t *storeTx) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergesql.MergedInto(ctx, t.tx, customerID)
}

// MergeCustomer re-keys the merged customer's timeline to the survivor and
// records the merge.
func (t *storeTx) MergeCustomer(ctx context.Context, m domain.Merge) error {
	if _, err := t.tx.Exec(ctx, `UPDATE interactions SET customer_id = ? WHERE customer_id = ?`, m.SurvivorID, m.MergedID); err != nil {
		return fmt.Errorf("merge customer: move timeline: %w", err)
	}
	// Cases, follow-ups and surveys belong to the timeline and move with it.
	for _, table := range []string{"cases", "followups", "surveys"} {
		if _, err := t.tx.Exec(ctx, `UPDATE `+table+` SET customer_id = ? WHERE customer_id = ?`, m.SurvivorID, m.MergedID); err != nil {
			return fmt.Errorf("merge customer: move %s: %w", table, err)
		}
	}
	if err := mergesql.RecordMerge(ctx, t.tx, m); err != nil {
		return fmt.Errorf("merge customer: %w", err)
	}
	return nil
}

// EraseCustomer anonymizes the customer's interactions (see domain.Erasure)
// and records the erasure.
func (t *storeTx) EraseCustomer(ctx context.Context, e domain.Erasure, recordTime time.Time) (int64, error) {
	res, err := t.tx.Exec(ctx, `UPDATE interactions SET summary = '', source_id = NULL, request_id = NULL, details = ''
		WHERE customer_id = ? AND (summary <> '' OR source_id IS NOT NULL OR request_id IS NOT NULL OR details <> '')`, e.CustomerID)
	if err != nil {
		return 0, fmt.Errorf("erase customer: anonymize interactions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("erase customer: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE returns SET reason = '' WHERE reason <> ''
		AND interaction_id IN (SELECT id FROM interactions WHERE customer_id = ?)`, e.CustomerID); err != nil {
		return 0, fmt.Errorf("erase customer: anonymize returns: %w", err)
	}
	// Like its request and source ids, an erased customer's order ids no
	// longer answer repeats: a report naming the customer is refused as
	// erased, not answered with what is left of the purchase.
	if _, err := t.tx.Exec(ctx, `UPDATE purchases SET order_source = NULL WHERE order_source IS NOT NULL
		AND interaction_id IN (SELECT id FROM interactions WHERE customer_id = ?)`, e.CustomerID); err != nil {
		return 0, fmt.Errorf("erase customer: release order ids: %w", err)
	}
	// The free text of cases, their comments, survey answers and
	// follow-up notes is what the customer or agents said about the
	// person; what happened and when stays.
	for _, q := range []string{
		`UPDATE case_comments SET body = '' WHERE case_id IN (SELECT id FROM cases WHERE customer_id = ?)`,
		`UPDATE cases SET subject = '', description = '', resolution = '' WHERE customer_id = ?`,
		`UPDATE surveys SET comment = '' WHERE customer_id = ?`,
		`UPDATE followups SET note = '' WHERE customer_id = ?`,
	} {
		if _, err := t.tx.Exec(ctx, q, e.CustomerID); err != nil {
			return 0, fmt.Errorf("erase customer: %w", err)
		}
	}
	if err := mergesql.RecordErasure(ctx, t.tx, e, recordTime); err != nil {
		return 0, fmt.Errorf("erase customer: %w", err)
	}
	return n, nil
}

// MergedInto returns whom the customer was merged into.
func (s *Store) MergedInto(ctx context.Context, customerID string) (string, error) {
	return mergesql.MergedInto(ctx, s.db, customerID)
}

// Erased reports whether the customer was erased.
func (s *Store) Erased(ctx context.Context, customerID string) (bool, error) {
	return mergesql.Erased(ctx, s.db, customerID)
}

// nullable stores an absent key as NULL, which never collides in a unique
// index.
func nullable(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
