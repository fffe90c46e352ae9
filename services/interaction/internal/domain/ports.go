package domain

import (
	"context"
	"time"
)

// Customers asks the customer service, which owns customers, about one.
type Customers interface {
	// Resolve returns the id interactions with customer id are kept under:
	// id itself, or the survivor's id when id was merged into another
	// customer. It returns a *CustomerNotFoundError for an unknown customer,
	// a *CustomerErasedError for an erased one, and an error wrapping
	// ErrUnavailable when the customer service cannot be reached.
	Resolve(ctx context.Context, id string) (string, error)
}

// IdempotencyKey identifies a repeated report: by the caller's request id,
// or by the reporting system's (Source, SourceID). Empty parts are unused.
type IdempotencyKey struct {
	RequestID string
	Source    string
	SourceID  string
}

// Cursor is a position in a customer's timeline, which is ordered by
// (OccurTime desc, ID desc): a page after the cursor holds older entries.
type Cursor struct {
	OccurTime time.Time
	ID        string
}

// Store keeps interactions.
type Store interface {
	// InTx runs fn in one transaction: what fn writes and publishes is
	// committed together or not at all.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// FindByKey returns the interaction recorded under key's request id,
	// else under its (source, source_id); ErrNotFound when there is none.
	FindByKey(ctx context.Context, key IdempotencyKey) (Interaction, error)
	// ListByCustomer returns up to limit interactions of a customer, newest
	// first, after the cursor when it is not nil.
	ListByCustomer(ctx context.Context, customerID string, after *Cursor, limit int) ([]Interaction, error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// Erased reports whether the customer's personal data was erased.
	Erased(ctx context.Context, customerID string) (bool, error)
}

// Tx is the write side of Store inside one transaction.
type Tx interface {
	// Insert stores a new interaction under key; ErrDuplicate when key
	// (request id or source pair) is already taken.
	Insert(ctx context.Context, in Interaction, key IdempotencyKey) error
	// Publish emits an event that is delivered if and only if the
	// transaction commits (transactional outbox).
	Publish(ctx context.Context, e Event) error
	// MarkHandled records that consumer handled eventID and reports whether
	// this is the first time; on false the caller must change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// MergedInto is Store.MergedInto inside the transaction.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// MergeCustomer moves the timeline of m.MergedID to m.SurvivorID,
	// remembers the merge, and re-points the customers merged into the
	// merged one at the survivor.
	MergeCustomer(ctx context.Context, m Merge) error
	// EraseCustomer removes from every interaction of the customer what
	// Erasure says is personal, and remembers the customer as erased
	// (recording it again changes nothing). It returns how many
	// interactions it anonymized.
	EraseCustomer(ctx context.Context, e Erasure, recordTime time.Time) (int64, error)
}
