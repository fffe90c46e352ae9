package events_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func tracedContext(t *testing.T) (context.Context, trace.TraceID) {
	t.Helper()
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), traceID
}

func TestNewEvent(t *testing.T) {
	t.Parallel()
	ctx, traceID := tracedContext(t)
	ev, err := events.NewEvent(ctx, "guanxi/test", "customer.customer.created", wrapperspb.String("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.ID) != 36 || ev.ID[14] != '7' {
		t.Errorf("ID %q is not a UUIDv7", ev.ID)
	}
	if ev.Type != "google.protobuf.StringValue" || ev.Source != "guanxi/test" || ev.Subject != "customer.customer.created" {
		t.Errorf("event = %+v", ev)
	}
	if ev.Time.Location() != time.UTC || time.Since(ev.Time) > time.Minute {
		t.Errorf("time = %v", ev.Time)
	}
	want := "00-" + traceID.String() + "-00f067aa0ba902b7-01"
	if ev.TraceParent != want {
		t.Errorf("traceparent = %q, want %q", ev.TraceParent, want)
	}
	var got wrapperspb.StringValue
	if err := proto.Unmarshal(ev.Payload, &got); err != nil || got.GetValue() != "hello" {
		t.Errorf("payload = %v, %v", &got, err)
	}
}

func enqueue(t *testing.T, db *sqldb.DB, o *events.Outbox, evs ...events.Event) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		for _, ev := range evs {
			if err := o.Enqueue(context.Background(), tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newEvent(t *testing.T, ctx context.Context, subject, value string) events.Event {
	t.Helper()
	ev, err := events.NewEvent(ctx, "guanxi/test", subject, wrapperspb.String(value))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestOutboxRelay(t *testing.T) {
	t.Parallel()
	for _, srv := range testinfra.NATSServers(t) {
		for _, d := range testinfra.Databases(t) {
			t.Run(srv.Name+"/"+d.Name, func(t *testing.T) {
				t.Parallel()
				b, db, o := newRelay(t, srv.URL, d.URL)
				runInBackground(t, o.Run)
				sub := b.subscribe(t, b.subject+".>")

				ctx, traceID := tracedContext(t)
				evs := []events.Event{
					newEvent(t, ctx, b.subject+".customer.created", "one"),
					newEvent(t, ctx, b.subject+".customer.updated", "two"),
					newEvent(t, ctx, b.subject+".customer.updated", "three"),
				}
				enqueue(t, db, o, evs...)

				for _, ev := range evs {
					m := next(t, sub)
					if m.Subject != ev.Subject || string(m.Data) != string(ev.Payload) {
						t.Fatalf("got %s %q, want %s (in order)", m.Subject, m.Data, ev.Subject)
					}
					wantHeaders := map[string]string{
						"Nats-Msg-Id":    ev.ID,
						"Ce-Id":          ev.ID,
						"Ce-Type":        "google.protobuf.StringValue",
						"Ce-Source":      "guanxi/test",
						"Ce-Time":        ev.Time.Format(time.RFC3339Nano),
						"Ce-Specversion": "1.0",
						"traceparent":    "00-" + traceID.String() + "-00f067aa0ba902b7-01",
					}
					for k, v := range wantHeaders {
						if got := m.Header.Get(k); got != v {
							t.Errorf("header %s = %q, want %q", k, got, v)
						}
					}
				}
			})
		}
	}
}

func TestOutboxRelayRound(t *testing.T) {
	t.Parallel()
	url := testinfra.EmbeddedNATS(t)
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			b, db, o := newRelay(t, url, d.URL)
			// The table holds what memory does not: events of another
			// process (or left by this one before a restart).
			other := events.NewOutbox(db, b.js, nil)
			ctx := context.Background()
			streamHolds := func(want uint64, why string) {
				t.Helper()
				info, err := b.js.Stream(ctx, b.stream)
				if err != nil {
					t.Fatal(err)
				}
				if msgs := info.CachedInfo().State.Msgs; msgs != want {
					t.Fatalf("stream holds %d messages, want %d (%s)", msgs, want, why)
				}
			}

			// An event already published (a relay that died before marking
			// it sent) is acknowledged as a duplicate and counts as sent.
			dup := newEvent(t, ctx, b.subject+".x.dup", "dup")
			if err := events.Publish(ctx, b.js, dup); err != nil {
				t.Fatal(err)
			}
			enqueue(t, db, other, dup)
			if n, err := o.RelayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay = %d, %v; want 1, nil", n, err)
			}
			streamHolds(1, "deduplicated")

			// An event committed here waits for the relay in memory: a
			// round over the table leaves it to that, so it is read and
			// published once.
			held := newEvent(t, ctx, b.subject+".x.held", "held")
			enqueue(t, db, o, held)
			if n, err := o.RelayOnce(ctx); err != nil || n != 0 {
				t.Fatalf("relay of an event held in memory = %d, %v; want 0, nil", n, err)
			}
			if err := o.RelayCommitted(ctx); err != nil {
				t.Fatal(err)
			}
			if depth, err := o.Depth(ctx); err != nil || depth != 0 {
				t.Fatalf("depth = %d, %v; want 0", depth, err)
			}
			streamHolds(2, "the held event once")

			// A failing publish stops the round: the failed event and the
			// ones after it stay in the outbox and go again on the next
			// round (a later one the stream already took is then dropped
			// as a duplicate).
			blocked := newEvent(t, ctx, "nostream"+b.subject+".x", "blocked")
			later := newEvent(t, ctx, b.subject+".x.later", "later")
			enqueue(t, db, other, blocked, later)
			if n, err := o.RelayOnce(ctx); err == nil || n != 0 {
				t.Fatalf("relay = %d, %v; want 0 and an error", n, err)
			}
			if depth, err := o.Depth(ctx); err != nil || depth != 2 {
				t.Fatalf("depth = %d, %v; want 2", depth, err)
			}
		})
	}
}

// TestOutboxLateCommit: an event whose transaction commits after a later
// event was published (so its id is below the relay's cursor) is not
// lost. Committed in this process, it goes from memory on the relay's next
// round; written by another process, on the next full read of the table.
func TestOutboxLateCommit(t *testing.T) {
	t.Parallel()
	url := testinfra.EmbeddedNATS(t)
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			b, db, o := newRelay(t, url, d.URL)
			other := events.NewOutbox(db, b.js, nil) // another process's, never relaying
			ctx := context.Background()

			earlyHere := newEvent(t, ctx, b.subject+".x.early", "early here") // smaller ids
			earlyThere := newEvent(t, ctx, b.subject+".x.early", "early there")
			later := newEvent(t, ctx, b.subject+".x.later", "later")
			// Ids made in one millisecond are not ordered: order them.
			ids := []string{earlyHere.ID, earlyThere.ID, later.ID}
			slices.Sort(ids)
			earlyThere.ID, earlyHere.ID, later.ID = ids[0], ids[1], ids[2]
			enqueue(t, db, other, later)
			if n, err := o.RelayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay = %d, %v; want 1, nil", n, err)
			}
			enqueue(t, db, other, earlyThere)
			enqueue(t, db, o, earlyHere)
			if err := o.RelayCommitted(ctx); err != nil {
				t.Fatal(err)
			}
			if depth, err := o.Depth(ctx); err != nil || depth != 1 {
				t.Fatalf("depth after relaying what committed here = %d, %v; want 1 (the other process's)", depth, err)
			}
			o.ReadsFromCursor()
			if n, err := o.RelayOnce(ctx); err != nil || n != 0 {
				t.Fatalf("relay from the cursor = %d, %v; want 0 (the other process's event is below it)", n, err)
			}
			o.FullScanDue()
			if n, err := o.RelayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay after a full scan came due = %d, %v; want 1, nil", n, err)
			}
			if depth, err := o.Depth(ctx); err != nil || depth != 0 {
				t.Fatalf("depth = %d, %v; want 0", depth, err)
			}
		})
	}
}

// TestOutboxFallsBackToTable: an event committed here that fails to
// publish from memory is read back from the table, even below the relay's
// cursor, once it can be published.
func TestOutboxFallsBackToTable(t *testing.T) {
	t.Parallel()
	url := testinfra.EmbeddedNATS(t)
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			b, db, o := newRelay(t, url, d.URL)
			other := events.NewOutbox(db, b.js, nil) // another process's, never relaying
			ctx := context.Background()

			blocked := newEvent(t, ctx, "later"+b.subject+".x", "blocked") // no stream takes it yet
			later := newEvent(t, ctx, b.subject+".x.later", "later")
			enqueue(t, db, other, later) // read from the table: it moves the cursor
			if n, err := o.RelayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay = %d, %v; want 1, nil", n, err)
			}
			enqueue(t, db, o, blocked)
			if err := o.RelayCommitted(ctx); err == nil {
				t.Fatal("publishing to a subject no stream takes succeeded")
			}
			if err := events.EnsureStream(ctx, b.js, "L"+b.stream, "later"+b.subject+".>"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.js.DeleteStream(context.Background(), "L"+b.stream) })
			o.ReadsFromCursor()
			if n, err := o.RelayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay after the failure = %d, %v; want 1, nil", n, err)
			}
			if depth, err := o.Depth(ctx); err != nil || depth != 0 {
				t.Fatalf("depth = %d, %v; want 0", depth, err)
			}
		})
	}
}

// TestOutboxSurvivesCrash simulates a process dying between commit and
// publish: the event must go out from the reopened database.
func TestOutboxSurvivesCrash(t *testing.T) {
	t.Parallel()
	b := newBus(t, testinfra.EmbeddedNATS(t))
	url := testinfra.SQLiteURL(t)
	ctx := context.Background()

	db := openDB(t, url)
	ev := newEvent(t, ctx, b.subject+".order.placed", "survivor")
	enqueue(t, db, events.NewOutbox(db, b.js, nil), ev) // no relay running
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	sub := b.subscribe(t, b.subject+".>")
	db = openDB(t, url)
	o := events.NewOutbox(db, b.js, nil)
	if depth, err := o.Depth(ctx); err != nil || depth != 1 {
		t.Fatalf("depth after restart = %d, %v; want 1", depth, err)
	}
	runInBackground(t, o.Run)
	m := next(t, sub)
	if m.Header.Get("Ce-Id") != ev.ID {
		t.Fatalf("got event %s, want %s", m.Header.Get("Ce-Id"), ev.ID)
	}
}

func TestMarkHandled(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, d.URL)
			ctx := context.Background()
			mark := func(consumer, id string) bool {
				t.Helper()
				var first bool
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					var err error
					first, err = events.MarkHandled(ctx, tx, consumer, id)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return first
			}
			steps := []struct {
				consumer, id string
				want         bool
			}{
				{"loyalty-purchases", "e1", true},
				{"loyalty-purchases", "e1", false},
				{"segmentation-purchases", "e1", true},
				{"loyalty-purchases", "e2", true},
			}
			for _, s := range steps {
				if got := mark(s.consumer, s.id); got != s.want {
					t.Errorf("MarkHandled(%s, %s) = %v, want %v", s.consumer, s.id, got, s.want)
				}
			}

			// A rolled-back effect leaves the event unhandled.
			_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
				if _, err := events.MarkHandled(ctx, tx, "c", "e3"); err != nil {
					t.Fatal(err)
				}
				return context.Canceled
			})
			if !mark("c", "e3") {
				t.Error("event of a rolled-back transaction counted as handled")
			}
		})
	}
}

// TestPruneInbox: entries handled before the horizon go, in chunks, the
// others stay, and a pruned event would count as new again.
func TestPruneInbox(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, d.URL)
			ctx := context.Background()
			now := time.Now()
			rows := make([][]any, 0, 25000)
			for i := range 25000 {
				at := now.Add(-100 * time.Hour) // old: past the horizon
				if i%5 == 0 {
					at = now.Add(-time.Hour)
				}
				rows = append(rows, []any{"c", fmt.Sprintf("e%d", i), sqldb.Micros(at)})
			}
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				return tx.InsertRows(ctx, "inbox", []string{"consumer", "event_id", "handled_at"}, rows)
			}); err != nil {
				t.Fatal(err)
			}
			n, err := events.PruneInbox(ctx, db, now.Add(-72*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if n != 20000 {
				t.Errorf("pruned %d entries, want the 20000 older than 72h", n)
			}
			var left int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox WHERE handled_at >= ?`, sqldb.Micros(now.Add(-2*time.Hour))).Scan(&left); err != nil {
				t.Fatal(err)
			}
			var all int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox`).Scan(&all); err != nil {
				t.Fatal(err)
			}
			if left != 5000 || all != 5000 {
				t.Errorf("%d entries left (%d recent), want the 5000 recent ones", all, left)
			}
		})
	}
}
