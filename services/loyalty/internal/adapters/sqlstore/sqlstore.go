// Package sqlstore is the loyalty service's one database/sql store, used on
// SQLite and PostgreSQL alike through platform/sqldb.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Enqueuer writes an event to the transactional outbox inside tx;
// *platformevents.Outbox is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...platformevents.Event) error
}

// Store implements domain.Store.
type Store struct {
	db     *sqldb.DB
	outbox Enqueuer
	source string
}

// New returns a store over a migrated db. Events published in its
// transactions go to outbox, tagged with source (the Ce-Source header).
func New(db *sqldb.DB, outbox Enqueuer, source string) *Store {
	return &Store{db: db, outbox: outbox, source: source}
}

// InTx runs fn in one database transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return fn(&Tx{tx: tx, outbox: s.outbox, source: s.source})
	})
}

const accountColumns = `customer_id, points_balance, lifetime_points, tier, create_time, update_time, merged_into`

// Account returns a customer's account.
func (s *Store) Account(ctx context.Context, customerID string) (domain.Account, error) {
	return scanAccount(customerID, s.db.QueryRow(ctx,
		`SELECT `+accountColumns+` FROM loyalty_accounts WHERE customer_id = ?`, customerID))
}

// Ledger returns a customer's ledger entries, oldest first.
func (s *Store) Ledger(ctx context.Context, customerID string) ([]domain.LedgerEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, customer_id, points, lifetime_points, reason, interaction_id,
		counterpart_id, event_id, credit_time
		FROM points_ledger WHERE customer_id = ? ORDER BY id`, customerID)
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	defer rows.Close()
	var out []domain.LedgerEntry
	for rows.Next() {
		var (
			e  domain.LedgerEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &e.CustomerID, &e.Points, &e.LifetimePoints, &e.Reason, &e.InteractionID,
			&e.CounterpartID, &e.EventID, &at); err != nil {
			return nil, fmt.Errorf("scan ledger entry: %w", err)
		}
		e.Time = sqldb.FromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	return out, nil
}

// Tx implements domain.Tx on one database transaction.
type Tx struct {
	tx     *sqldb.Tx
	outbox Enqueuer
	source string
}

// MarkHandled records eventID in the platform inbox.
func (t *Tx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	return platformevents.MarkHandled(ctx, t.tx, consumer, eventID)
}

// OpenAccount inserts a unless the customer already has an account.
func (t *Tx) OpenAccount(ctx context.Context, a domain.Account) (bool, error) {
	res, err := t.tx.Exec(ctx, `INSERT INTO loyalty_accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer_id) DO NOTHING`,
		a.CustomerID, a.PointsBalance, a.LifetimePoints, a.Tier.String(), sqldb.Micros(a.CreateTime), sqldb.Micros(a.UpdateTime),
		nullable(a.MergedInto))
	if err != nil {
		return false, fmt.Errorf("open account: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("open account: %w", err)
	}
	return n == 1, nil
}

// LockAccount reads an account for update. PostgreSQL needs the row lock
// so two concurrent credits cannot both add to the same old balance;
// SQLite transactions here begin IMMEDIATE and already hold the one write
// lock, and SQLite has no FOR UPDATE.
func (t *Tx) LockAccount(ctx context.Context, customerID string) (domain.Account, error) {
	q := `SELECT ` + accountColumns + ` FROM loyalty_accounts WHERE customer_id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return scanAccount(customerID, t.tx.QueryRow(ctx, q, customerID))
}

// SaveAccount updates an account's points, tier, update time and
// merged-into link.
func (t *Tx) SaveAccount(ctx context.Context, a domain.Account) error {
	res, err := t.tx.Exec(ctx, `UPDATE loyalty_accounts
		SET points_balance = ?, lifetime_points = ?, tier = ?, update_time = ?, merged_into = ? WHERE customer_id = ?`,
		a.PointsBalance, a.LifetimePoints, a.Tier.String(), sqldb.Micros(a.UpdateTime), nullable(a.MergedInto), a.CustomerID)
	if err != nil {
		return fmt.Errorf("save account: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save account: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("save account: %w", &domain.AccountNotFoundError{CustomerID: a.CustomerID})
	}
	return nil
}

// AddLedgerEntry appends e to the ledger.
func (t *Tx) AddLedgerEntry(ctx context.Context, e domain.LedgerEntry) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO points_ledger
		(id, customer_id, points, lifetime_points, reason, interaction_id, counterpart_id, event_id, credit_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.CustomerID, e.Points, e.LifetimePoints, e.Reason, e.InteractionID, e.CounterpartID, e.EventID, sqldb.Micros(e.Time))
	if err != nil {
		return fmt.Errorf("add ledger entry: %w", err)
	}
	return nil
}

// RepointMerged re-points the accounts merged into from at to.
func (t *Tx) RepointMerged(ctx context.Context, from, to string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE loyalty_accounts SET merged_into = ? WHERE merged_into = ?`, to, from); err != nil {
		return fmt.Errorf("re-point merged accounts: %w", err)
	}
	return nil
}

// RecordErasure stores the erasure unless it is already recorded.
func (t *Tx) RecordErasure(ctx context.Context, e domain.Erasure, recordTime time.Time) error {
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

// Publish converts e to its proto payload and writes it to the outbox.
func (t *Tx) Publish(ctx context.Context, e domain.Event) error {
	subject, msg, err := events.Encode(e)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	ev, err := platformevents.NewEvent(ctx, t.source, subject, msg)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := t.outbox.Enqueue(ctx, t.tx, ev); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

func scanAccount(customerID string, row *sql.Row) (domain.Account, error) {
	var (
		a                  domain.Account
		tier               string
		created, updatedAt int64
		mergedInto         sql.NullString
	)
	err := row.Scan(&a.CustomerID, &a.PointsBalance, &a.LifetimePoints, &tier, &created, &updatedAt, &mergedInto)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Account{}, &domain.AccountNotFoundError{CustomerID: customerID}
	}
	if err != nil {
		return domain.Account{}, fmt.Errorf("load account: %w", err)
	}
	if a.Tier, err = domain.ParseTier(tier); err != nil {
		return domain.Account{}, fmt.Errorf("load account: %w", err)
	}
	a.CreateTime = sqldb.FromMicros(created)
	a.UpdateTime = sqldb.FromMicros(updatedAt)
	a.MergedInto = mergedInto.String
	return a, nil
}

// nullable stores an empty link as NULL.
func nullable(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
