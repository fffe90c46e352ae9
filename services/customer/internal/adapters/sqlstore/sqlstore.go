// Package sqlstore is the customer repository on SQLite and PostgreSQL,
// through platform/sqldb. Events published in a transaction are handed to an
// EventWriter in that same transaction (transactional outbox).
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// EventWriter stores a domain event inside the transaction that produced it,
// so the event exists if and only if the change does.
type EventWriter interface {
	WriteEvent(ctx context.Context, tx *sqldb.Tx, ev domain.Event) error
}

// Store implements domain.Store.
type Store struct {
	db     *sqldb.DB
	events EventWriter
}

// New returns a Store on db (already migrated with migrations.FS) whose
// transactions write events through events.
func New(db *sqldb.DB, events EventWriter) *Store {
	return &Store{db: db, events: events}
}

// querier is what reads need from a DB or a Tx.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

const customerColumns = `id, type, display_name, email, phone, locale, time_zone, tags, version, create_time, update_time`

// Customer implements domain.Reader.
func (s *Store) Customer(ctx context.Context, id string) (domain.Customer, error) {
	return customerByID(ctx, s.db, id)
}

// CustomerByRequestID implements domain.Store.
func (s *Store) CustomerByRequestID(ctx context.Context, requestID string) (domain.Customer, error) {
	row := s.db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE request_id = ?`, requestID)
	c, err := scanCustomer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Customer{}, fmt.Errorf("customer by request id: %w", domain.ErrNotFound)
	}
	if err != nil {
		return domain.Customer{}, fmt.Errorf("customer by request id: %w", err)
	}
	return c, nil
}

// ListCustomers implements domain.Store.
func (s *Store) ListCustomers(ctx context.Context, q domain.ListQuery) ([]domain.Customer, error) {
	query := `SELECT ` + customerColumns + ` FROM customers`
	var args []any
	if q.After != nil {
		t := sqldb.Micros(q.After.CreateTime)
		query += ` WHERE create_time > ? OR (create_time = ? AND id > ?)`
		args = append(args, t, t, q.After.ID)
	}
	query += ` ORDER BY create_time, id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	var out []domain.Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("list customers: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	return out, nil
}

// InTx implements domain.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return fn(&storeTx{tx: tx, events: s.events})
	})
}

// storeTx implements domain.Tx.
type storeTx struct {
	tx     *sqldb.Tx
	events EventWriter
}

func (t *storeTx) Customer(ctx context.Context, id string) (domain.Customer, error) {
	return customerByID(ctx, t.tx, id)
}

func (t *storeTx) CreateCustomer(ctx context.Context, c domain.Customer, requestID string) error {
	tags, err := encodeTags(c.Tags)
	if err != nil {
		return fmt.Errorf("insert customer: %w", err)
	}
	typ, err := encodeType(c.Type)
	if err != nil {
		return fmt.Errorf("insert customer: %w", err)
	}
	var rid sql.NullString
	if requestID != "" {
		rid = sql.NullString{String: requestID, Valid: true}
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO customers (`+customerColumns+`, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, typ, c.DisplayName, c.Email, c.Phone, c.Locale, c.TimeZone, tags, c.Version,
		sqldb.Micros(c.CreateTime), sqldb.Micros(c.UpdateTime), rid)
	if requestID != "" && sqldb.IsUniqueViolation(err) {
		return fmt.Errorf("insert customer: %w", domain.ErrDuplicateRequest)
	}
	if err != nil {
		return fmt.Errorf("insert customer: %w", err)
	}
	return nil
}

func (t *storeTx) UpdateCustomer(ctx context.Context, c domain.Customer, prevVersion int64) error {
	tags, err := encodeTags(c.Tags)
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	typ, err := encodeType(c.Type)
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	// The version condition makes a concurrent writer that read the same
	// version lose instead of overwriting the other's change.
	res, err := t.tx.Exec(ctx, `UPDATE customers SET type = ?, display_name = ?, email = ?, phone = ?,
		locale = ?, time_zone = ?, tags = ?, version = ?, update_time = ?
		WHERE id = ? AND version = ?`,
		typ, c.DisplayName, c.Email, c.Phone, c.Locale, c.TimeZone, tags, c.Version,
		sqldb.Micros(c.UpdateTime), c.ID, prevVersion)
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	if n == 0 {
		if _, err := t.Customer(ctx, c.ID); err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		return fmt.Errorf("update customer: %w", domain.ErrStale)
	}
	return nil
}

func (t *storeTx) Publish(ctx context.Context, ev domain.Event) error {
	if err := t.events.WriteEvent(ctx, t.tx, ev); err != nil {
		return fmt.Errorf("publish %T: %w", ev, err)
	}
	return nil
}

func customerByID(ctx context.Context, q querier, id string) (domain.Customer, error) {
	row := q.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id)
	c, err := scanCustomer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Customer{}, &domain.NotFoundError{ID: id}
	}
	if err != nil {
		return domain.Customer{}, fmt.Errorf("read customer: %w", err)
	}
	return c, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanCustomer(s scanner) (domain.Customer, error) {
	var (
		c                domain.Customer
		typ, tags        string
		created, updated int64
	)
	if err := s.Scan(&c.ID, &typ, &c.DisplayName, &c.Email, &c.Phone, &c.Locale, &c.TimeZone,
		&tags, &c.Version, &created, &updated); err != nil {
		return domain.Customer{}, err
	}
	var err error
	if c.Type, err = decodeType(typ); err != nil {
		return domain.Customer{}, err
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return domain.Customer{}, fmt.Errorf("decode tags of customer %s: %w", c.ID, err)
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	c.CreateTime = sqldb.FromMicros(created)
	c.UpdateTime = sqldb.FromMicros(updated)
	return c, nil
}

func encodeTags(tags []string) (string, error) {
	if tags == nil {
		tags = []string{}
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

// Types are stored by name, not by number, so the column reads on its own
// and survives reordering of the enum.
func encodeType(t domain.CustomerType) (string, error) {
	switch t {
	case domain.TypePerson, domain.TypeOrganization:
		return t.String(), nil
	}
	return "", fmt.Errorf("cannot store customer type %v", t)
}

func decodeType(s string) (domain.CustomerType, error) {
	switch s {
	case domain.TypePerson.String():
		return domain.TypePerson, nil
	case domain.TypeOrganization.String():
		return domain.TypeOrganization, nil
	}
	return 0, fmt.Errorf("unknown stored customer type %q", s)
}
