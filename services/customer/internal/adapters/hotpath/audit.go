package hotpath

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Bounds of the audit trail of reads.
const (
	// maxPendingAudits is the most entries waiting to be written; a read
	// finding it full fails rather than go unaudited.
	maxPendingAudits = 50_000
	// auditFailGrace is how long writes may fail before reads do: a
	// database that cannot take the entries stops the reads within it.
	auditFailGrace = time.Second
	// auditBatch is the most entries one statement writes.
	auditBatch = 1000
	// auditRetry is the pause after a failed write.
	auditRetry = 100 * time.Millisecond
)

// auditTrail writes the audit entries of reads behind the answers: a read
// hands its entry over and answers; a writer writes what has gathered in
// one statement as soon as the last one is done. Waiting for the write
// (one database round trip per group of reads, whatever the cache saved)
// held GetCustomer to a quarter of a bare gRPC call. Entries are never
// dropped while the process runs: a failed write is retried, and once
// writes have failed for auditFailGrace, or maxPendingAudits entries wait,
// reads fail instead of going unaudited. What a crash of the process takes
// with it is what waited then: the entries of the last write's duration.
// Run writes what is left when it stops.
type auditTrail struct {
	write func(ctx context.Context, entries ...domain.AuditEntry) error
	wake  chan struct{}
	now   func() time.Time

	mu      sync.Mutex
	pending []domain.AuditEntry
	failed  time.Time // since when writes fail; zero while they succeed
	lastErr error
	// added and written count the entries handed over and written, for
	// sync.
	added, written int64
}

func newAuditTrail(write func(ctx context.Context, entries ...domain.AuditEntry) error) *auditTrail {
	return &auditTrail{write: write, wake: make(chan struct{}, 1), now: time.Now}
}

// add hands entries to the writer, or fails when it cannot keep up or
// cannot write.
func (a *auditTrail) add(entries ...domain.AuditEntry) error {
	a.mu.Lock()
	switch {
	case !a.failed.IsZero() && a.now().Sub(a.failed) >= auditFailGrace:
		err := a.lastErr
		a.mu.Unlock()
		return fmt.Errorf("audit trail: writes failing since %s: %w", a.failed.Format(time.RFC3339), err)
	case len(a.pending)+len(entries) > maxPendingAudits:
		a.mu.Unlock()
		return fmt.Errorf("audit trail: %d entries waiting to be written", len(a.pending))
	}
	a.pending = append(a.pending, entries...)
	a.added += int64(len(entries))
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// run writes the entries as they come until ctx ends.
func (a *auditTrail) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			// Calls still being answered may add entries: close writes
			// them once the server has stopped.
			return nil
		case <-a.wake:
		}
		// A write begun is finished even when the service stops: its
		// entries are not lost to a cancelled statement.
		for a.flush(context.WithoutCancel(ctx)) {
		}
	}
}

// flush writes up to auditBatch waiting entries and reports whether it
// wrote any and more may wait. A failed write keeps them, in order.
func (a *auditTrail) flush(ctx context.Context) bool {
	a.mu.Lock()
	n := min(len(a.pending), auditBatch)
	batch := a.pending[:n:n]
	a.mu.Unlock()
	if n == 0 {
		return false
	}
	err := a.write(ctx, batch...)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if a.failed.IsZero() {
			a.failed = a.now()
		}
		a.lastErr = err
		a.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(auditRetry):
		}
		a.mu.Lock()
		return ctx.Err() == nil
	}
	a.failed, a.lastErr = time.Time{}, nil
	a.written += int64(n)
	// Entries added meanwhile were appended behind the batch.
	a.pending = append(a.pending[:0:0], a.pending[n:]...)
	return true
}

// close writes the entries left, within a bound.
func (a *auditTrail) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for a.flush(ctx) {
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) > 0 {
		return fmt.Errorf("audit trail: %d entries of reads not written: %w", len(a.pending), a.lastErr)
	}
	return nil
}

// sync waits until the entries handed over before it are written, so that
// a listing of the audit trail shows the reads that came before it.
func (a *auditTrail) sync(ctx context.Context) error {
	a.mu.Lock()
	target := a.added
	a.mu.Unlock()
	for {
		a.mu.Lock()
		done, err := a.written >= target, a.lastErr
		a.mu.Unlock()
		if done {
			return nil
		}
		select {
		case a.wake <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit trail: entries not written yet: %w", errors.Join(ctx.Err(), err))
		case <-time.After(time.Millisecond):
		}
	}
}
