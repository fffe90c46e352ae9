// Package sqlstore is the customer repository on SQLite and PostgreSQL,
// through platform/sqldb. Events published in a transaction are written to
// the outbox in that same transaction (transactional outbox).
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Store implements domain.Store.
type Store struct {
	db  *sqldb.DB
	txs events.Transactor[domain.Event]
}

// New returns a Store on db (already migrated with migrations.FS) whose
// transactions write the events they publish, given their wire form by
// encoder, into outbox, so an event exists if and only if the change does.
func New(db *sqldb.DB, outbox events.Enqueuer, encoder events.Encoder[domain.Event]) *Store {
	return &Store{db: db, txs: events.NewTransactor(db, outbox, encoder)}
}

// querier is what reads need from a DB or a Tx.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Customer implements domain.Reader.
func (s *Store) Customer(ctx context.Context, id string) (domain.Customer, error) {
	return customerByID(ctx, s.db, id)
}

// Definitions implements domain.Reader.
func (s *Store) Definitions(ctx context.Context) (domain.Definitions, error) {
	return definitions(ctx, s.db)
}

// CustomerByRequestID implements domain.Store.
func (s *Store) CustomerByRequestID(ctx context.Context, requestID string) (domain.Customer, error) {
	cs, err := queryCustomers(ctx, s.db, `SELECT `+customerColumns+` FROM customers WHERE request_id = ?`, requestID)
	if err != nil {
		return domain.Customer{}, fmt.Errorf("customer by request id: %w", err)
	}
	if len(cs) == 0 {
		return domain.Customer{}, fmt.Errorf("customer by request id: %w", domain.ErrNotFound)
	}
	return cs[0], nil
}

// InTx implements domain.Store. The events fn publishes go to the outbox
// together when fn is done.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.txs.InTx(ctx, func(tx *sqldb.Tx, pending *events.Pending[domain.Event]) error {
		return fn(&storeTx{tx: tx, events: pending, dialect: s.db.Dialect})
	})
}

// storeTx implements domain.Tx.
type storeTx struct {
	tx *sqldb.Tx
	// events are published so far, for the outbox when fn of InTx is done.
	events  *events.Pending[domain.Event]
	dialect sqldb.Dialect
}

func (t *storeTx) Customer(ctx context.Context, id string) (domain.Customer, error) {
	return customerByID(ctx, t.tx, id)
}

func (t *storeTx) Definitions(ctx context.Context) (domain.Definitions, error) {
	return definitions(ctx, t.tx)
}

func (t *storeTx) Publish(ctx context.Context, evs ...domain.Event) error {
	if err := t.events.Add(ctx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

func (t *storeTx) ContactOwners(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, in := range t.tx.Dialect().OneOf("contact_key", keys) {
		pairs, err := sqldb.QueryAll(ctx, t.tx, scanPair, `SELECT contact_key, customer_id FROM customer_contacts
			WHERE claimed = 1 AND `+in.SQL, in.Args...)
		if err != nil {
			return nil, fmt.Errorf("contact owners: %w", err)
		}
		for _, p := range pairs {
			out[p[0]] = p[1]
		}
	}
	return out, nil
}

// CustomersByExternalID implements domain.Reader.
func (s *Store) CustomersByExternalID(ctx context.Context, ids []string) (map[string]domain.Customer, error) {
	return customersByExternalID(ctx, s.db, s.db.Dialect, ids)
}

func (t *storeTx) CustomersByExternalID(ctx context.Context, ids []string) (map[string]domain.Customer, error) {
	return customersByExternalID(ctx, t.tx, t.tx.Dialect(), ids)
}

func customersByExternalID(ctx context.Context, q querier, d sqldb.Dialect, ids []string) (map[string]domain.Customer, error) {
	out := map[string]domain.Customer{}
	for _, in := range d.OneOf("external_id", ids) {
		cs, err := queryCustomers(ctx, q, `SELECT `+customerColumns+` FROM customers WHERE `+in.SQL, in.Args...)
		if err != nil {
			return nil, fmt.Errorf("customers by external id: %w", err)
		}
		for _, c := range cs {
			out[c.ExternalID] = c
		}
	}
	return out, nil
}

func (t *storeTx) CreateCustomers(ctx context.Context, cs []domain.Customer, requestID string) error {
	rows := make([][]any, len(cs))
	for i, c := range cs {
		row, err := customerRow(c, t.dialect)
		if err != nil {
			return err
		}
		var rid any
		if i == 0 && requestID != "" {
			rid = requestID
		}
		rows[i] = append(row, rid)
	}
	err := t.tx.InsertRows(ctx, "customers", append(writtenColumns(t.dialect), "request_id"), rows)
	switch {
	case requestID != "" && isViolationOf(err, "request_id"):
		return fmt.Errorf("insert customers: %w", domain.ErrDuplicateRequest)
	case isViolationOf(err, "external_id"):
		return fmt.Errorf("insert customers: %w", &domain.ConflictError{Reason: "external_id is already held by another customer"})
	case err != nil:
		return fmt.Errorf("insert customers: %w", err)
	}
	return t.writeIndexes(ctx, cs, false)
}

func (t *storeTx) UpdateCustomer(ctx context.Context, c domain.Customer, prevVersion int64) error {
	return t.UpdateCustomers(ctx, []domain.CustomerUpdate{{Customer: c, PrevVersion: prevVersion}})
}

// bulkUpdateMin is the fewest customers UpdateCustomers stages on
// PostgreSQL: staging costs four statements, so a few customers go one
// UPDATE each.
const bulkUpdateMin = 16

// UpdateCustomers implements domain.Tx. On PostgreSQL a batch is copied
// into a staging table and written by one UPDATE joining it, where an
// import of changed customers paid a statement and a round trip per row;
// their contacts are then replaced in bulk (writeIndexes).
func (t *storeTx) UpdateCustomers(ctx context.Context, ups []domain.CustomerUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	var err error
	if t.dialect == sqldb.Postgres && len(ups) >= bulkUpdateMin {
		err = t.updateStaged(ctx, ups)
	} else {
		for _, u := range ups {
			if err = t.updateRow(ctx, u.Customer, u.PrevVersion); err != nil {
				break
			}
		}
	}
	if isViolationOf(err, "external_id") {
		return fmt.Errorf("update customer: %w", &domain.ConflictError{Reason: "external_id is already held by another customer"})
	}
	if err != nil {
		return err
	}
	cs := make([]domain.Customer, len(ups))
	for i, u := range ups {
		cs[i] = u.Customer
	}
	return t.writeIndexes(ctx, cs, true)
}

// updateRow overwrites one customer if its version is still prevVersion.
// The version condition makes a concurrent writer that read the same
// version lose instead of overwriting the other's change.
func (t *storeTx) updateRow(ctx context.Context, c domain.Customer, prevVersion int64) error {
	row, err := customerRow(c, t.dialect)
	if err != nil {
		return err
	}
	cols := writtenColumns(t.dialect)
	sets := make([]string, 0, len(cols)-1)
	for _, col := range cols[1:] {
		sets = append(sets, col+" = ?")
	}
	res, err := t.tx.Exec(ctx, `UPDATE customers SET `+strings.Join(sets, ", ")+` WHERE id = ? AND version = ?`,
		append(row[1:], c.ID, prevVersion)...)
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	if n == 0 {
		return t.staleOrGone(ctx, []string{c.ID})
	}
	return nil
}

// updateStaged overwrites many customers with one UPDATE from a staging
// table (temporary, so its rows skip the WAL), under the same version
// condition as updateRow: when one of them lost, none is written.
func (t *storeTx) updateStaged(ctx context.Context, ups []domain.CustomerUpdate) error {
	cols := writtenColumns(t.dialect)
	rows := make([][]any, len(ups))
	for i, u := range ups {
		row, err := customerRow(u.Customer, t.dialect)
		if err != nil {
			return err
		}
		rows[i] = append(row, u.PrevVersion)
	}
	// Dropped once used, so a second call in the same transaction starts
	// from an empty table; a failed statement rolls the transaction back,
	// the table with it.
	if _, err := t.tx.Exec(ctx, `CREATE TEMP TABLE customer_updates (LIKE customers INCLUDING DEFAULTS, prev_version BIGINT NOT NULL) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("stage updates: %w", err)
	}
	if err := t.tx.InsertRows(ctx, "customer_updates", append(cols[:len(cols):len(cols)], "prev_version"), rows); err != nil {
		return fmt.Errorf("stage updates: %w", err)
	}
	sets := make([]string, 0, len(cols)-1)
	for _, col := range cols[1:] {
		sets = append(sets, col+" = u."+col)
	}
	res, err := t.tx.Exec(ctx, `UPDATE customers AS c SET `+strings.Join(sets, ", ")+`
		FROM customer_updates AS u WHERE c.id = u.id AND c.version = u.prev_version`)
	if err != nil {
		return fmt.Errorf("update customers: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update customers: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `DROP TABLE customer_updates`); err != nil {
		return fmt.Errorf("stage updates: %w", err)
	}
	if n != int64(len(ups)) {
		ids := make([]string, len(ups))
		for i, u := range ups {
			ids[i] = u.Customer.ID
		}
		return t.staleOrGone(ctx, ids)
	}
	return nil
}

// staleOrGone is the error of an update that did not find all of ids at
// the versions it expected: a *NotFoundError for a customer that is gone,
// ErrStale otherwise.
func (t *storeTx) staleOrGone(ctx context.Context, ids []string) error {
	have := map[string]bool{}
	for _, in := range t.tx.Dialect().OneOf("id", ids) {
		found, err := sqldb.QueryAll(ctx, t.tx, scanString, `SELECT id FROM customers WHERE `+in.SQL, in.Args...)
		if err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		for _, id := range found {
			have[id] = true
		}
	}
	for _, id := range ids {
		if !have[id] {
			return fmt.Errorf("update customer: %w", &domain.NotFoundError{ID: id})
		}
	}
	return fmt.Errorf("update customer: %w", domain.ErrStale)
}

// writeIndexes writes the contacts side table of cs; with replace their
// old rows go first. Erased and merged customers keep none. A customer
// claims the contacts no one else holds. A contact another customer holds
// stays unclaimed if the customer is a possible duplicate or held it
// unclaimed before; otherwise another transaction claimed it after the use
// case checked, and the error is domain.ErrRetry.
func (t *storeTx) writeIndexes(ctx context.Context, cs []domain.Customer, replace bool) error {
	// Only customers that may hold contacts someone else claimed need to
	// know who; a new customer claims all of its contacts, and the claim
	// index refuses a contact claimed meanwhile. Holders are read before
	// the old rows go: when several customers are rewritten together, a
	// contact one of them held stays its own until the batch is written,
	// as it would if they were written one at a time, so another of them
	// cannot take it over by being rewritten alongside.
	var keys []string
	for _, c := range cs {
		if replace || c.PossibleDuplicate {
			for _, ct := range indexedContacts(c) {
				keys = append(keys, ct.Key())
			}
		}
	}
	owners, err := t.ContactOwners(ctx, keys)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	if replace {
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		for _, in := range t.tx.Dialect().OneOf("customer_id", ids) {
			pairs, err := sqldb.QueryAll(ctx, t.tx, scanPair, `DELETE FROM customer_contacts WHERE `+in.SQL+` RETURNING customer_id, contact_key`, in.Args...)
			if err != nil {
				return fmt.Errorf("clear contacts: %w", err)
			}
			for _, p := range pairs {
				held[p[0]+" "+p[1]] = true
			}
		}
	}
	var contacts [][]any
	for _, c := range cs {
		for _, ct := range indexedContacts(c) {
			claimed := 1
			if owner, taken := owners[ct.Key()]; taken && owner != c.ID {
				if !c.PossibleDuplicate && !held[c.ID+" "+ct.Key()] {
					return fmt.Errorf("index contacts: %s: %w", ct.Field, domain.ErrRetry)
				}
				claimed = 0
			} else {
				owners[ct.Key()] = c.ID
			}
			contacts = append(contacts, []any{c.ID, ct.Key(), claimed})
		}
	}
	err = t.tx.InsertRows(ctx, "customer_contacts", []string{"customer_id", "contact_key", "claimed"}, contacts)
	if isViolationOf(err, "customer_contacts") {
		// Another transaction claimed one of the contacts after our check;
		// the caller retries and then sees who holds it.
		return fmt.Errorf("index contacts: %w", domain.ErrRetry)
	}
	if err != nil {
		return fmt.Errorf("index contacts: %w", err)
	}
	return nil
}

// indexedContacts are the contacts a customer holds in the index: none once
// erased or merged away.
func indexedContacts(c domain.Customer) []domain.Contact {
	if c.State == domain.StateErased || c.State == domain.StateMerged {
		return nil
	}
	return c.Contacts()
}

func customerByID(ctx context.Context, q querier, id string) (domain.Customer, error) {
	cs, err := queryCustomers(ctx, q, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id)
	if err != nil {
		return domain.Customer{}, fmt.Errorf("read customer: %w", err)
	}
	if len(cs) == 0 {
		return domain.Customer{}, &domain.NotFoundError{ID: id}
	}
	return cs[0], nil
}

func queryCustomers(ctx context.Context, q querier, query string, args ...any) ([]domain.Customer, error) {
	return sqldb.QueryAll(ctx, q, scanCustomer, query, args...)
}

// scanString reads a row of one text column.
func scanString(s sqldb.Scanner) (string, error) {
	var v string
	return v, s.Scan(&v)
}

// scanPair reads a row of two text columns.
func scanPair(s sqldb.Scanner) ([2]string, error) {
	var p [2]string
	return p, s.Scan(&p[0], &p[1])
}

// isViolationOf reports whether err is a unique violation of a constraint
// or index whose name or message mentions column.
func isViolationOf(err error, column string) bool {
	return err != nil && sqldb.IsUniqueViolation(err) && strings.Contains(err.Error(), column)
}
