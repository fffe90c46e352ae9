package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Enqueuer writes events into the outbox inside a transaction; *Outbox is
// the one in production.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...Event) error
}

// Encoder gives a service's domain events (E) their wire form, stamped
// with the trace in ctx. ProtoEncoder is the one in production.
type Encoder[E any] interface {
	Encode(ctx context.Context, ev E) (Event, error)
}

// Transactor runs a service store's transactions: the domain events a
// transaction publishes are encoded as they are published and written to
// the outbox inside that same transaction when its work is done, so an
// event exists if and only if the change does (transactional outbox).
// Every service's sqlstore keeps one.
type Transactor[E any] struct {
	db      *sqldb.DB
	outbox  Enqueuer
	encoder Encoder[E]
}

// NewTransactor returns a Transactor on db whose events, given their wire
// form by encoder, go to outbox.
func NewTransactor[E any](db *sqldb.DB, outbox Enqueuer, encoder Encoder[E]) Transactor[E] {
	return Transactor[E]{db: db, outbox: outbox, encoder: encoder}
}

// InTx runs fn in one database transaction with the Pending it publishes
// into, and writes what fn published to the outbox, in one bulk write,
// when fn succeeds. An error of fn or of that write rolls it all back.
func (t Transactor[E]) InTx(ctx context.Context, fn func(tx *sqldb.Tx, pending *Pending[E]) error) error {
	return t.db.InTx(ctx, func(tx *sqldb.Tx) error {
		pending := &Pending[E]{encoder: t.encoder}
		if err := fn(tx, pending); err != nil {
			return err
		}
		if err := pending.flush(ctx, tx, t.outbox); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	})
}

// Pending holds the events one transaction publishes until its work is
// done, then writes them to the outbox in one bulk load: a purchase
// publishes two events and an import thousands, one write each.
type Pending[E any] struct {
	encoder Encoder[E]
	evs     []Event
}

// Add encodes evs at once, so that each carries the trace of the context
// it was published in (a batch of ingested records has one per record),
// and keeps them for the outbox.
func (p *Pending[E]) Add(ctx context.Context, evs ...E) error {
	for _, ev := range evs {
		out, err := p.encoder.Encode(ctx, ev)
		if err != nil {
			return err
		}
		p.evs = append(p.evs, out)
	}
	return nil
}

// flush writes the events added so far into outbox inside tx, in the order
// they were added.
func (p *Pending[E]) flush(ctx context.Context, tx *sqldb.Tx, outbox Enqueuer) error {
	evs := p.evs
	p.evs = nil
	return outbox.Enqueue(ctx, tx, evs...)
}

// ProtoEncoder gives a service's domain events (E) their wire form: ToProto
// names each event's subject and proto payload, and Encode stamps it with
// the service's Source and the trace in ctx. A service's adapters/events
// builds the one its store is given.
type ProtoEncoder[E any] struct {
	Source  string
	ToProto func(ev E) (subject string, payload proto.Message, err error)
}

// Encode returns the wire event of ev.
func (e ProtoEncoder[E]) Encode(ctx context.Context, ev E) (Event, error) {
	subject, msg, err := e.ToProto(ev)
	if err != nil {
		return Event{}, err
	}
	return NewEvent(ctx, e.Source, subject, msg)
}
