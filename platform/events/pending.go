package events

import (
	"context"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Enqueuer writes events into the outbox inside a transaction; *Outbox is
// the one in production.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...Event) error
}

// Pending holds the events one transaction publishes until its work is
// done, then writes them to the outbox in one bulk load: a purchase
// publishes two events and an import thousands, one write each. A service's
// store keeps one per transaction, over the domain events (E) it publishes.
type Pending[E any] struct {
	encode func(context.Context, E) (Event, error)
	evs    []Event
}

// NewPending returns an empty Pending whose events are given their wire
// form by encode.
func NewPending[E any](encode func(context.Context, E) (Event, error)) *Pending[E] {
	return &Pending[E]{encode: encode}
}

// Add encodes evs at once, so that each carries the trace of the context
// it was published in (a batch of ingested records has one per record),
// and keeps them for Flush.
func (p *Pending[E]) Add(ctx context.Context, evs ...E) error {
	for _, ev := range evs {
		out, err := p.encode(ctx, ev)
		if err != nil {
			return err
		}
		p.evs = append(p.evs, out)
	}
	return nil
}

// Flush writes the events added so far into outbox inside tx, in the order
// they were added.
func (p *Pending[E]) Flush(ctx context.Context, tx *sqldb.Tx, outbox Enqueuer) error {
	evs := p.evs
	p.evs = nil
	return outbox.Enqueue(ctx, tx, evs...)
}
