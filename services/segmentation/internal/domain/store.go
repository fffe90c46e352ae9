package domain

import (
	"context"
	"time"
)

// Reader answers the questions the value rules ask of stored data.
type Reader interface {
	// CustomerExists reports whether the customer is registered.
	CustomerExists(ctx context.Context, customerID string) (bool, error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not (or is unknown).
	MergedInto(ctx context.Context, customerID string) (string, error)
	// Spend sums up a customer's purchases; Trailing covers w, Lifetime
	// all purchases in w.Currency.
	Spend(ctx context.Context, customerID string, w Window) (Spend, error)
	// Ranking returns the standing of a customer who spent spend in w: the
	// sum of the spend in w of the customers who spent strictly more, and
	// the spend in w of all customers.
	Ranking(ctx context.Context, w Window, spend int64) (Standing, error)
}

// Tx is one storage transaction: every change made through it, the inbox
// mark and the published events commit or roll back together.
type Tx interface {
	Reader
	// MarkHandled records that consumer handled eventID and reports whether
	// this is the first time; on false the caller must change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// RegisterCustomer makes the customer known; registering a known
	// customer changes nothing.
	RegisterCustomer(ctx context.Context, customerID string, at time.Time) error
	// RecordPurchase stores a purchase and reports false, changing
	// nothing, when its interaction id is already stored.
	RecordPurchase(ctx context.Context, p Purchase) (recorded bool, err error)
	// Publish emits ev when the transaction commits.
	Publish(ctx context.Context, ev ClassChanged) error
	// LockMergedInto is MergedInto, holding the registered customer's row
	// against concurrent merges until the transaction ends.
	LockMergedInto(ctx context.Context, customerID string) (string, error)
	// MergeCustomer moves the purchases of from to to, marks from as merged
	// into to, and re-points the customers merged into from at to.
	MergeCustomer(ctx context.Context, from, to string) error
	// RecordErasure records that the customer's erasure reached this
	// service; recording it again changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
}

// Store is the service's storage.
type Store interface {
	Reader
	// InTx runs fn in one transaction, committing when it returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
}
