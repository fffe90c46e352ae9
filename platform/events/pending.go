package events

import (
	"context"

	"google.golang.org/protobuf/proto"

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

// Encoder gives a service's domain events (E) their wire form: ToProto
// names each event's subject and proto payload, and Encode stamps it with
// the service's Source and the trace in ctx. A service's adapters/events
// builds the one its store is given.
type Encoder[E any] struct {
	Source  string
	ToProto func(ev E) (subject string, payload proto.Message, err error)
}

// Encode returns the wire event of ev.
func (e Encoder[E]) Encode(ctx context.Context, ev E) (Event, error) {
	subject, msg, err := e.ToProto(ev)
	if err != nil {
		return Event{}, err
	}
	return NewEvent(ctx, e.Source, subject, msg)
}
