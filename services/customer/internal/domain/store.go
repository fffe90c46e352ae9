package domain

import (
	"context"
	"time"
)

// Paging limits of list queries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	// MaxRequestIDLength bounds the idempotency keys clients send.
	MaxRequestIDLength = 200
)

// Cursor is the position after the last customer of a page: customers are
// listed by creation time, then id, so a page boundary is stable under
// concurrent inserts.
type Cursor struct {
	CreateTime time.Time
	ID         string
}

// ListQuery selects one page of customers, oldest first.
type ListQuery struct {
	// Limit is the most customers returned, > 0.
	Limit int
	// After, when set, starts the page after that position.
	After *Cursor
}

// Reader reads customers; both the store and a transaction can.
type Reader interface {
	// Customer returns the customer with id, or a *NotFoundError.
	Customer(ctx context.Context, id string) (Customer, error)
}

// Store is the customer repository.
type Store interface {
	Reader
	// CustomerByRequestID returns the customer created under requestID, or
	// an error wrapping ErrNotFound.
	CustomerByRequestID(ctx context.Context, requestID string) (Customer, error)
	// ListCustomers returns customers ordered by (CreateTime, ID).
	ListCustomers(ctx context.Context, q ListQuery) ([]Customer, error)
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise; events published in it are sent only if it
	// commits.
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is a unit of work: writes and the events they produce commit together.
type Tx interface {
	Reader
	// CreateCustomer stores a new customer. A non-empty requestID is
	// recorded with it; when another customer already holds it, the error
	// wraps ErrDuplicateRequest and the transaction is unusable.
	CreateCustomer(ctx context.Context, c Customer, requestID string) error
	// UpdateCustomer overwrites the stored customer c.ID provided its
	// version is still prevVersion, and returns ErrStale otherwise.
	UpdateCustomer(ctx context.Context, c Customer, prevVersion int64) error
	// Publish records ev for delivery after commit.
	Publish(ctx context.Context, ev Event) error
}
