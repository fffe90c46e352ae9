package hotpath

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// sink is an audit writer that keeps what it is given, or fails while
// broken.
type sink struct {
	mu      sync.Mutex
	ids     []string
	broken  bool
	batches int
}

func (s *sink) write(_ context.Context, entries ...domain.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return errors.New("database down")
	}
	s.batches++
	for _, e := range entries {
		s.ids = append(s.ids, e.ID)
	}
	return nil
}

func (s *sink) set(broken bool) { s.mu.Lock(); s.broken = broken; s.mu.Unlock() }

func (s *sink) written() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// TestAuditTrailWritesEveryEntryOnceInOrder: entries handed over are
// written behind the reads, each once and in order, also across a broken
// spell; sync returns once those before it are written; reads fail once
// writes have failed for the grace, and close writes what is left.
func TestAuditTrailWritesEveryEntryOnceInOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out sink
	a := newAuditTrail(out.write)
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()

	var want []string
	add := func(n int) {
		t.Helper()
		for range n {
			id := string(rune('a'+len(want)%26)) + time.Now().Format("150405.000000000")
			if err := a.add(domain.AuditEntry{ID: id}); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
	}
	add(100)
	syncCtx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	if err := a.sync(syncCtx); err != nil {
		t.Fatal(err)
	}
	if got := out.written(); len(got) != 100 {
		t.Fatalf("after sync %d of 100 entries written", len(got))
	}

	// Broken: entries wait and reads go on, until the grace has passed.
	out.set(true)
	add(10)
	deadline := time.Now().Add(5 * time.Second)
	for a.add(domain.AuditEntry{ID: "refused"}) == nil {
		want = append(want, "refused")
		if time.Now().After(deadline) {
			t.Fatal("reads still accepted with writes failing past the grace")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// want holds the entries accepted, "refused" ones only when accepted.
	out.set(false)
	if err := a.sync(syncCtx); err != nil {
		t.Fatal(err)
	}
	add(5)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	got := out.written()
	if len(got) != len(want) {
		t.Fatalf("%d entries written, %d handed over", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d written is %q, want %q", i, got[i], want[i])
		}
	}
	if err := a.add(domain.AuditEntry{ID: "after"}); err != nil {
		t.Fatalf("a healthy trail refused an entry: %v", err)
	}
}
