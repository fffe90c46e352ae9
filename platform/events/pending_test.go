package events_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestTransactor checks that a transaction's events reach the outbox in one
// write, in order, encoded with their own trace, and only if it commits.
func TestTransactor(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, d.URL)
			outbox := &countingOutbox{outbox: events.NewOutbox(db, nil, nil)}
			txs := events.NewTransactor[string](db, outbox, stringEncoder{})
			ctx := context.Background()
			traced, traceID := tracedContext(t)
			err := txs.InTx(ctx, func(_ *sqldb.Tx, p *events.Pending[string]) error {
				if err := p.Add(ctx, "a", "b"); err != nil {
					return err
				}
				if err := p.Add(traced, "c"); err != nil {
					return err
				}
				if err := p.Add(ctx, ""); err == nil {
					t.Error("Add of an event that does not encode succeeded")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if outbox.calls != 1 || len(outbox.evs) != 3 {
				t.Fatalf("%d Enqueue calls with %d events, want 1 with 3", outbox.calls, len(outbox.evs))
			}
			for i, want := range []string{"test.thing.a", "test.thing.b", "test.thing.c"} {
				if got := outbox.evs[i].Subject; got != want {
					t.Errorf("event %d subject %s, want %s", i, got, want)
				}
			}
			if tp := outbox.evs[2].TraceParent; tp == "" || tp[3:35] != traceID.String() {
				t.Errorf("event c traceparent %q, want trace %s", tp, traceID)
			}
			if tp := outbox.evs[0].TraceParent; tp != "" {
				t.Errorf("event a traceparent %q, want none", tp)
			}

			_ = txs.InTx(ctx, func(_ *sqldb.Tx, p *events.Pending[string]) error {
				if err := p.Add(ctx, "d"); err != nil {
					t.Fatal(err)
				}
				return context.Canceled
			})
			if n, err := outbox.outbox.Depth(ctx); err != nil || n != 3 {
				t.Errorf("outbox depth %d (%v) after a rollback, want 3", n, err)
			}

			failing := events.NewTransactor[string](db, failingOutbox{}, stringEncoder{})
			err = failing.InTx(ctx, func(tx *sqldb.Tx, p *events.Pending[string]) error {
				if _, err := tx.Exec(ctx, "DELETE FROM outbox"); err != nil {
					t.Fatal(err)
				}
				return p.Add(ctx, "e")
			})
			if err == nil {
				t.Error("InTx succeeded though its events could not be written")
			}
			if n, err := outbox.outbox.Depth(ctx); err != nil || n != 3 {
				t.Errorf("outbox depth %d (%v) after a failed event write, want 3 (the change rolled back)", n, err)
			}
		})
	}
}

// stringEncoder encodes a string as the event test.thing.<s>; the empty
// string does not encode.
type stringEncoder struct{}

func (stringEncoder) Encode(ctx context.Context, s string) (events.Event, error) {
	if s == "" {
		return events.Event{}, errors.New("empty")
	}
	return events.NewEvent(ctx, "guanxi/test", "test.thing."+s, wrapperspb.String(s))
}

// failingOutbox refuses every write.
type failingOutbox struct{}

func (failingOutbox) Enqueue(context.Context, *sqldb.Tx, ...events.Event) error {
	return errors.New("outbox down")
}

// countingOutbox counts Enqueue calls and keeps what they wrote.
type countingOutbox struct {
	outbox *events.Outbox
	calls  int
	evs    []events.Event
}

func (o *countingOutbox) Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...events.Event) error {
	o.calls++
	o.evs = append(o.evs, evs...)
	return o.outbox.Enqueue(ctx, tx, evs...)
}
