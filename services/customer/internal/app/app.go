// Package app holds the customer service's use cases: one method per command
// or query, each running its writes, the events they produce and their audit
// entry in one transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Service is the customer service's use cases, by area. Each port holds the
// areas it calls; all of them share one store and one clock.
type Service struct {
	// Customers creates, reads, lists, changes, deletes and erases
	// customers and records their consents.
	Customers *Customers
	// Definitions keeps the definitions of custom attributes.
	Definitions *Definitions
	// Relationships links customers to each other.
	Relationships *Relationships
	// Ownership transfers accounts between owners and lists the transfers.
	Ownership *Ownership
	// Merges finds duplicates and merges customers.
	Merges *Merges
	// Imports imports and exports customers in bulk.
	Imports *Imports
	// AuditLog reads the audit log.
	AuditLog *AuditLog
}

// core is what every area of the use cases shares: the store, the clock
// and the audit entry every call writes.
type core struct {
	store         domain.Store
	now           func() time.Time
	importWriters int
	countLimit    int
}

// Option changes how a Service is built.
type Option func(*core)

// WithClock makes the Service read the time from now, for tests.
func WithClock(now func() time.Time) Option {
	return func(a *core) { a.now = now }
}

// WithImportWriters lets an import store up to n batches at once; a store
// with one writer at a time (SQLite) gains nothing from more than one.
func WithImportWriters(n int) Option {
	return func(a *core) { a.importWriters = max(n, 1) }
}

// DefaultCountLimit is how many matches ListCustomers counts for its total
// before it stops and reports a lower bound.
const DefaultCountLimit = 10_000

// WithCountLimit makes ListCustomers count at most n matches for its
// total (0: DefaultCountLimit).
func WithCountLimit(n int) Option {
	return func(a *core) {
		if n > 0 {
			a.countLimit = n
		}
	}
}

// New returns a Service on store.
func New(store domain.Store, opts ...Option) *Service {
	a := &core{store: store, now: time.Now, importWriters: 1, countLimit: DefaultCountLimit}
	for _, o := range opts {
		o(a)
	}
	return &Service{
		Customers:     &Customers{a},
		Definitions:   &Definitions{a},
		Relationships: &Relationships{a},
		Ownership:     &Ownership{a},
		Merges:        &Merges{a},
		Imports:       &Imports{a},
		AuditLog:      &AuditLog{a},
	}
}

// Caller is who makes a call and why, as the audit log records it, and
// which customers they may see.
type Caller struct {
	// Actor is the person the call is made for; "" when a service calls
	// for nobody (a consumer, a scheduled job).
	Actor string
	// Via is the service the call came through ("svc:interaction"), ""
	// for a direct caller.
	Via    string
	Reason string
	Scope  domain.Scope
}

// Anonymous is the actor of calls that name no one and come through no
// service; the transport always names one of them, so only a use case run
// without a caller records it.
const Anonymous = "anonymous"

// Name is who the audit log and the ownership history say acted: the
// person, or the service itself when it acts for nobody.
func (c Caller) Name() string {
	switch {
	case c.Actor != "":
		return c.Actor
	case c.Via != "":
		return c.Via
	}
	return Anonymous
}

type callerKey struct{}

// WithCaller returns ctx carrying c; the transport sets it per call.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// inScope returns c, or for a customer outside the caller's scope the same
// NotFoundError as for one that does not exist, so that ids cannot be
// probed. id is the id the caller asked for.
func inScope(ctx context.Context, id string, c domain.Customer, err error) (domain.Customer, error) {
	if err == nil && !callerOf(ctx).Scope.Sees(c) {
		return domain.Customer{}, &domain.NotFoundError{ID: id}
	}
	return c, err
}

// scopedCustomer reads customer id for a change, as inScope sees it.
func scopedCustomer(ctx context.Context, r domain.Reader, id string) (domain.Customer, error) {
	c, err := r.Customer(ctx, id)
	return inScope(ctx, id, c, err)
}

// clock returns the current time at the precision the store keeps, so what
// a command returns equals what a later read returns.
func (a *core) clock() time.Time {
	return a.now().UTC().Truncate(time.Microsecond)
}

func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// auditEntry is the entry for action on customerID by the caller of ctx.
// reason, when set, is the request's own reason and wins over the caller's.
func (a *core) auditEntry(ctx context.Context, action, customerID, reason, detail string) domain.AuditEntry {
	c := callerOf(ctx)
	if reason == "" {
		reason = c.Reason
	}
	return domain.AuditEntry{ID: newID(), Time: a.clock(), Actor: c.Name(), Via: c.Via, Action: action,
		CustomerID: customerID, Reason: reason, Detail: detail}
}

// redactFilter keeps a filter's fields and operators for the audit log and
// drops its values, which may be a person's name or phone: the log must
// not keep what erasure removes.
func redactFilter(filter string) string {
	return aipfilter.Redact(filter)
}

// inTx runs fn in a transaction and runs it once more when a concurrent
// transaction claimed a contact it was writing: the second run sees the
// claim and reports the duplicate.
func (a *core) inTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	err := a.store.InTx(ctx, fn)
	if errors.Is(err, domain.ErrRetry) {
		err = a.store.InTx(ctx, fn)
	}
	return err
}

// pageSize applies the default and the maximum to a requested page size.
func pageSize(n, def, max int) (int, error) {
	switch {
	case n < 0:
		return 0, validation.Violations{{Field: "page_size", Description: "must not be negative"}}.Err()
	case n == 0:
		return def, nil
	case n > max:
		return max, nil
	}
	return n, nil
}

// checkDuplicates returns a *DuplicateError when one of contacts belongs to
// a customer other than self.
func checkDuplicates(ctx context.Context, tx domain.Tx, self string, contacts []domain.Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	keys := make([]string, len(contacts))
	for i, c := range contacts {
		keys[i] = c.Key()
	}
	owners, err := tx.ContactOwners(ctx, keys)
	if err != nil {
		return err
	}
	scope := callerOf(ctx).Scope
	for _, c := range contacts {
		if owner, ok := owners[c.Key()]; ok && owner != self {
			dup := &domain.DuplicateError{Field: c.Field, ExistingID: owner}
			if scope.Limited {
				existing, err := tx.Customer(ctx, owner)
				if err != nil {
					return err
				}
				dup.OutOfScope = !scope.Sees(existing)
			}
			return dup
		}
	}
	return nil
}

// auditRefusedDuplicate records, outside the refused write's transaction,
// that the caller of ctx tried to write a contact of a customer they may
// not see (err, the write's error, says so): the answer does not name that
// customer, and the log tells its auditors who asked about it. It returns
// err, or the failure to audit, since a probe must not go unrecorded.
func (a *core) auditRefusedDuplicate(ctx context.Context, action string, err error) error {
	var dup *domain.DuplicateError
	if !errors.As(err, &dup) || !dup.OutOfScope {
		return err
	}
	if aerr := a.store.Audit(ctx, a.auditEntry(ctx, action, dup.ExistingID, "",
		"refused: "+dup.Field+" belongs to this customer, outside the caller's teams")); aerr != nil {
		return fmt.Errorf("audit a refused duplicate: %w", aerr)
	}
	return err
}

// addedContacts are the contacts of next that cur does not have.
func addedContacts(cur, next domain.Profile) []domain.Contact {
	had := map[string]bool{}
	for _, c := range cur.Contacts() {
		had[c.Key()] = true
	}
	var out []domain.Contact
	for _, c := range next.Contacts() {
		if !had[c.Key()] {
			out = append(out, c)
		}
	}
	return out
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
