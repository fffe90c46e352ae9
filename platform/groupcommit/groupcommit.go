// Package groupcommit runs the writes of concurrent callers in shared
// transactions (group commit).
package groupcommit

import (
	"context"
	"sync"
	"time"
)

// Bounds. maxGroupLeaders commits run at once, each of at most maxGroup
// writes: few enough that groups grow under load (with 4, RecordInteraction
// at 1,000/s on two cores kept its groups small and missed its latency
// target; with 2 it met it). groupTimeout bounds one commit, which no
// single caller's cancellation may abort as it carries the others' writes
// too.
const (
	maxGroupLeaders = 2
	maxGroup        = 64
	groupTimeout    = 10 * time.Second
)

// Group runs the writes of concurrent callers in shared transactions. A
// caller queues its write, and while fewer than maxGroupLeaders commits
// are in flight it leads one itself, taking every write queued so far. Alone, a caller commits its own write at once;
// under load, one transaction, one outbox write and one WAL flush serve
// many callers, where each paying for its own made the database the
// bottleneck long before the machine was busy with real work.
//
// When a shared write fails, each of its writes is run again on its own,
// so a caller gets its own outcome (a duplicate key fails only the write
// that repeats it).
type Group[T any] struct {
	// write stores items in one transaction.
	write func(ctx context.Context, items []T) error
	slots chan struct{}

	mu    sync.Mutex
	queue []*entry[T]
}

type entry[T any] struct {
	ctx   context.Context
	item  T
	taken bool // by a leader, under Group.mu
	done  chan error
}

// New returns a Group that stores items with write, which must store all
// of them in one transaction, or none and return an error.
func New[T any](write func(ctx context.Context, items []T) error) *Group[T] {
	return &Group[T]{write: write, slots: make(chan struct{}, maxGroupLeaders)}
}

// Do writes item, alone or with others, and returns the outcome of its
// write. Cancelling ctx before a leader takes the write abandons it.
func (g *Group[T]) Do(ctx context.Context, item T) error {
	e := &entry[T]{ctx: ctx, item: item, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, e)
	g.mu.Unlock()
	for {
		g.mu.Lock()
		taken := e.taken
		g.mu.Unlock()
		if taken {
			return <-e.done
		}
		select {
		case err := <-e.done:
			return err
		case g.slots <- struct{}{}:
			g.lead()
			<-g.slots
		}
	}
}

// lead commits the writes queued so far, up to maxGroup.
func (g *Group[T]) lead() {
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	for _, e := range batch {
		e.taken = true
	}
	g.mu.Unlock()
	live := make([]*entry[T], 0, len(batch))
	for _, e := range batch {
		if err := e.ctx.Err(); err != nil {
			e.done <- err
			continue
		}
		live = append(live, e)
	}
	if len(live) == 0 {
		return
	}
	items := make([]T, len(live))
	for i, e := range live {
		items[i] = e.item
	}
	err := g.run(live[0].ctx, items)
	if err == nil || len(live) == 1 {
		for _, e := range live {
			e.done <- err
		}
		return
	}
	for _, e := range live {
		e.done <- g.run(e.ctx, []T{e.item})
	}
}

func (g *Group[T]) run(ctx context.Context, items []T) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupTimeout)
	defer cancel()
	return g.write(ctx, items)
}
