package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// ErrBatchFailed wraps the error of a transaction that failed inside a
// batch (see InBatch): the batch was rolled back as a whole.
var ErrBatchFailed = errors.New("batch failed")

// batchKey is the context key of the open batch.
type batchKey struct{}

// batch is one transaction shared by the InTx calls of a context.
type batch struct {
	db *DB
	tx *Tx

	mu    sync.Mutex
	err   error // the first failure inside, under mu
	holds map[any]func()
}

// release runs the releases of what HoldForBatch acquired for the batch.
func (b *batch) release() {
	b.mu.Lock()
	holds := b.holds
	b.holds = nil
	b.mu.Unlock()
	for _, release := range holds {
		release()
	}
}

// HoldForBatch acquires something (a lock) for the work of ctx, and
// returns what its caller defers: in a batch (see DB.InBatch) acquire runs
// once, at the first call with key, and its release when the batch has
// ended, so what the batch's transaction holds and what the work holds
// are given up together; outside a batch acquire runs every time and the
// returned function releases it. An in-process lock that the work of a
// transaction takes (the caller's RLock) would otherwise be let go and
// taken again within one transaction, and a writer waiting for it between
// two of them could wait for that transaction's locks in turn.
func HoldForBatch(ctx context.Context, key any, acquire func() (release func())) (release func()) {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil {
		return acquire()
	}
	b.mu.Lock()
	_, held := b.holds[key]
	b.mu.Unlock()
	if held {
		return func() {}
	}
	r := acquire()
	b.mu.Lock()
	if b.holds == nil {
		b.holds = map[any]func(){}
	}
	b.holds[key] = r
	b.mu.Unlock()
	return func() {}
}

func (b *batch) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

func (b *batch) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// batchOf returns the batch of db that ctx carries, or nil.
func (db *DB) batchOf(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil || b.db != db {
		return nil
	}
	return b
}

// InBatch reports whether ctx carries an open batch of any database (see
// DB.InBatch): work that would share a transaction with other callers
// (a group commit) must run on its own in it instead.
func InBatch(ctx context.Context) bool {
	b, _ := ctx.Value(batchKey{}).(*batch)
	return b != nil
}

// PlanPerCall makes PostgreSQL plan every statement of the batch ctx
// carries for the arguments of its call, and look rows up by their keys
// through an index, from now until the batch ends (a no-op elsewhere).
// Set-based batch handlers call it: their statements take lists of
// hundreds of keys (col = ANY($1), often after an equality on the key's
// leading column), and PostgreSQL kept planning them to read the whole
// table, or all of the leading column's rows, for every batch. The generic
// plan it keeps for a prepared statement after a few runs was made while
// the table was small; and without statistics (a table filled faster than
// autovacuum analyzes it, as a catch-up after an import does, or
// autovacuum off) it takes each key to match 0.5 % of the rows, so 256
// keys "match" the whole table and a sequential scan, or a bitmap scan of
// the leading column alone with the keys as a filter, looks cheapest: 45
// to 78 ms a statement at 300,000 rows against 0.5 to 1 ms through the
// index, and catch-up times that grew with the square of the backlog. A
// batch reads rows by their keys only, so it forbids sequential and bitmap
// scans where an index scan serves (a table without a usable index is still
// scanned).
// Handlers of one event at a time keep the generic plans, which spare them
// planning each of their many small statements.
func PlanPerCall(ctx context.Context) error {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil || b.tx.Dialect() != Postgres {
		return nil
	}
	_, err := b.exec(ctx, `SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
		set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`)
	return err
}

// BatchFailure returns the first failure inside the batch ctx carries (see
// DB.InBatch), nil when there is none or no batch: once it is set the
// batch can only roll back, whatever its callers made of the error.
func BatchFailure(ctx context.Context) error {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil {
		return nil
	}
	return b.failure()
}

// InBatch runs fn with a context carrying one open transaction, the batch:
// every InTx on db called with that context (or one derived from it) runs
// fn inside the batch instead of a transaction of its own, the DB's Exec,
// Query and QueryRow in it go through the batch too (so a read sees what
// the batch wrote so far, and SQLite's single connection is not waited
// for twice), and the AfterCommit hooks of them all run once the batch
// has committed. It commits when fn returns nil and nothing inside failed.
//
// A batch is all or nothing: when an InTx inside fails (even if its caller
// went on) or a statement through the batch fails, the rest of its InTx
// calls fail at once with the same error, and InBatch rolls the batch back
// and returns an error wrapping ErrBatchFailed and that first failure. Its
// caller then reruns the work in smaller pieces (platform/events does it
// per message). Savepoints per unit of work would let a batch keep going
// past a failure, but on PostgreSQL every savepoint that writes takes a
// subtransaction id, and past 64 of them in one transaction every other
// session's snapshot must look them up in pg_subtrans (the "subtransaction
// overflow" slowdown): batches of hundreds would slow the whole database.
func (db *DB) InBatch(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.batchOf(ctx) != nil {
		return fn(ctx) // already in one: it is this batch's work
	}
	var b *batch
	defer func() {
		if b != nil {
			b.release()
		}
	}()
	err := db.InTx(ctx, func(tx *Tx) error {
		b = &batch{db: db, tx: tx}
		if err := fn(context.WithValue(ctx, batchKey{}, b)); err != nil {
			if ferr := b.failure(); ferr != nil && !errors.Is(err, ferr) {
				return errors.Join(err, fmt.Errorf("%w: %w", ErrBatchFailed, ferr))
			}
			return err
		}
		if ferr := b.failure(); ferr != nil {
			return fmt.Errorf("%w: %w", ErrBatchFailed, ferr)
		}
		return nil
	})
	if err != nil && b != nil && !errors.Is(err, ErrBatchFailed) {
		if ferr := b.failure(); ferr != nil {
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrBatchFailed, ferr))
		}
	}
	return err
}

// inBatch runs fn of an InTx inside batch b.
func (b *batch) inTx(fn func(tx *Tx) error) (err error) {
	if err := b.failure(); err != nil {
		return fmt.Errorf("%w: %w", ErrBatchFailed, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tx panic: %v", r)
		}
		if err != nil {
			b.fail(err)
		}
	}()
	return fn(b.tx)
}

func (b *batch) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := b.failure(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBatchFailed, err)
	}
	res, err := b.tx.Exec(ctx, query, args...)
	if err != nil {
		b.fail(err)
	}
	return res, err
}

func (b *batch) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := b.failure(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBatchFailed, err)
	}
	rows, err := b.tx.Query(ctx, query, args...)
	if err != nil {
		b.fail(err)
	}
	return rows, err
}
