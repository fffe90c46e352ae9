package domain

import (
	"context"
	"time"
)

// Customers answers whether a customer exists; the customer service owns
// customers, so this is a call to it. Exists returns an error wrapping
// ErrUnavailable when the customer service cannot be reached.
type Customers interface {
	Exists(ctx context.Context, id string) (bool, error)
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
}

// Tx is the write side of Store inside one transaction.
type Tx interface {
	// Insert stores a new interaction under key; ErrDuplicate when key
	// (request id or source pair) is already taken.
	Insert(ctx context.Context, in Interaction, key IdempotencyKey) error
	// Publish emits an event that is delivered if and only if the
	// transaction commits (transactional outbox).
	Publish(ctx context.Context, e Event) error
}
