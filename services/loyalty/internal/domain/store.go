package domain

import (
	"context"
	"time"
)

// Store is the loyalty service's persistence.
type Store interface {
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Account returns a customer's account, or ErrNotFound.
	Account(ctx context.Context, customerID string) (Account, error)
}

// Tx is the work that can happen inside one Store transaction.
type Tx interface {
	// MarkHandled records that consumer handled the event with eventID and
	// reports whether this is the first time; when it is not, the caller
	// must change nothing, which makes redelivered and replayed events
	// harmless.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// OpenAccount stores a new account unless the customer already has one,
	// and reports whether it was stored.
	OpenAccount(ctx context.Context, a Account) (opened bool, err error)
	// LockAccount returns a customer's account and holds it against
	// concurrent changes until the transaction ends, or returns ErrNotFound.
	LockAccount(ctx context.Context, customerID string) (Account, error)
	// SaveAccount updates an existing account's points, tier, times and
	// merged-into link.
	SaveAccount(ctx context.Context, a Account) error
	// RepointMerged makes the accounts merged into from point at to, so
	// that after from is merged into to every merged account is one hop
	// from its survivor.
	RepointMerged(ctx context.Context, from, to string) error
	// RecordErasure records that the customer's erasure reached this
	// service; recording it again changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
	// AddLedgerEntry appends to the points ledger.
	AddLedgerEntry(ctx context.Context, e LedgerEntry) error
	// Publish queues an event to be published once the transaction commits.
	Publish(ctx context.Context, e Event) error
}
