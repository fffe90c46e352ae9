package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// recorder is a write function that keeps what it stored, one group per
// call, failing any group that holds a "bad" item.
type recorder struct {
	mu     sync.Mutex
	stored []string
	groups []int
	gate   chan struct{} // when set, writes wait on it
	held   int           // items in writes waiting on gate, under mu
}

func (r *recorder) write(_ context.Context, items []string) error {
	if r.gate != nil {
		r.mu.Lock()
		r.held += len(items)
		r.mu.Unlock()
		<-r.gate
	}
	if slices.Contains(items, "bad") {
		return errors.New("bad item")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored = append(r.stored, items...)
	r.groups = append(r.groups, len(items))
	return nil
}

// waitQueued waits until all n writes are queued or held by a leader.
func waitQueued(g *Group[string], r *recorder, n int) {
	for {
		g.mu.Lock()
		queued := len(g.queue)
		g.mu.Unlock()
		r.mu.Lock()
		held := r.held
		r.mu.Unlock()
		if queued+held >= n {
			return
		}
		runtime.Gosched()
	}
}

// Writes that queue while the leaders are busy are committed together, and
// each is stored exactly once.
func TestGroupCommitGroupsQueuedWrites(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	g := New(r.write)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- g.Do(context.Background(), fmt.Sprint(i)) })
	}
	// Let the writes queue behind the blocked leaders, then release them.
	waitQueued(g, r, n)
	close(r.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(r.stored)
	if len(r.stored) != n || len(slices.Compact(slices.Clone(r.stored))) != n {
		t.Fatalf("stored %d items (%d distinct), want %d once each", len(r.stored), len(slices.Compact(slices.Clone(r.stored))), n)
	}
	if len(r.groups) >= n/2 || slices.Max(r.groups) > maxGroup {
		t.Errorf("groups %v: want few, none over %d", r.groups, maxGroup)
	}
}

// A failing group is retried write by write: only the bad write fails.
func TestGroupCommitIsolatesAFailingWrite(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	g := New(r.write)
	items := []string{"a", "b", "bad", "c", "d", "e", "f", "g"}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = g.Do(context.Background(), it) })
	}
	waitQueued(g, r, len(items))
	close(r.gate)
	wg.Wait()
	for i, it := range items {
		if (errs[i] != nil) != (it == "bad") {
			t.Errorf("%s: err = %v", it, errs[i])
		}
	}
	if len(r.stored) != len(items)-1 {
		t.Errorf("stored %v, want every good item", r.stored)
	}
}

// A write whose caller gave up before a leader took it is not stored.
func TestGroupCommitDropsAbandonedWrites(t *testing.T) {
	r := &recorder{}
	g := New(r.write)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx, "late"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(r.stored) != 0 {
		t.Errorf("stored %v, want nothing", r.stored)
	}
}
