package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// consumerFixture runs Consume on a private stream with test-short timings.
type consumerFixture struct {
	*bus
	durable string
	got     chan delivery
	fail    atomic.Value // holds func(events.Message) error
}

type delivery struct {
	msg     events.Message
	traceID trace.TraceID
}

func startConsumer(t *testing.T, url string, maxDeliver int, fail func(events.Message) error) *consumerFixture {
	t.Helper()
	f := &consumerFixture{bus: newBus(t, url), durable: testinfra.UniqueName("d"), got: make(chan delivery, 64)}
	f.fail.Store(fail)
	t.Cleanup(func() {
		// The dead-letter stream is shared; remove this test's letters.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if s, err := f.js.Stream(ctx, events.DeadLetterStream); err == nil {
			_ = s.Purge(ctx, jetstream.WithPurgeSubject(events.DeadLetterSubjectPrefix+f.durable))
		}
	})
	cfg := events.ConsumerConfig{
		Stream:         f.stream,
		Durable:        f.durable,
		FilterSubjects: []string{f.subject + ".>"},
		AckWait:        5 * time.Second,
		MaxDeliver:     maxDeliver,
		Backoff:        []time.Duration{50 * time.Millisecond},
	}
	handler := func(ctx context.Context, m events.Message) error {
		f.got <- delivery{msg: m, traceID: trace.SpanContextFromContext(ctx).TraceID()}
		return f.fail.Load().(func(events.Message) error)(m)
	}
	runInBackground(t, func(ctx context.Context) error {
		return events.Consume(ctx, f.js, cfg, handler, nil)
	})
	return f
}

func (f *consumerFixture) publish(t *testing.T, name string) events.Event {
	t.Helper()
	ctx, _ := tracedContext(t)
	ev := newEvent(t, ctx, f.subject+"."+name, name)
	if err := events.Publish(context.Background(), f.js, ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func (f *consumerFixture) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-f.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
		return delivery{}
	}
}

func succeed(events.Message) error { return nil }

func TestConsumeAcks(t *testing.T) {
	t.Parallel()
	for _, srv := range testinfra.NATSServers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			t.Parallel()
			f := startConsumer(t, srv.URL, 5, succeed)
			ev := f.publish(t, "customer.created")
			d := f.next(t)
			m := d.msg
			if m.ID != ev.ID || m.Subject != ev.Subject || m.Type != ev.Type || m.Source != ev.Source ||
				!m.Time.Equal(ev.Time) || string(m.Payload) != string(ev.Payload) || m.NumDelivered != 1 {
				t.Fatalf("message = %+v, want event %+v", m, ev)
			}
			_, traceID := tracedContext(t)
			if d.traceID != traceID {
				t.Errorf("handler trace = %s, want %s from the traceparent header", d.traceID, traceID)
			}
			// Acked: the consumer has nothing outstanding.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cons, err := f.js.Consumer(ctx, f.stream, f.durable)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool {
				info, err := cons.Info(ctx)
				return err == nil && info.AckFloor.Stream == 1 && info.NumAckPending == 0
			})
		})
	}
}

// waitFor re-checks cond every 20ms until it holds, failing the test after
// 10s; it is for server state with no event to wait on (ack floors, stored
// messages).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}

func TestConsumeMessageIDFallbacks(t *testing.T) {
	t.Parallel()
	f := startConsumer(t, testinfra.EmbeddedNATS(t), 5, succeed)
	ctx := context.Background()

	withMsgID := nats.NewMsg(f.subject + ".raw.one")
	withMsgID.Header.Set("Nats-Msg-Id", "external-1")
	if _, err := f.js.PublishMsg(ctx, withMsgID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.js.Publish(ctx, f.subject+".raw.two", []byte("bare")); err != nil {
		t.Fatal(err)
	}
	want := []string{"external-1", f.stream + ":2"}
	for _, id := range want {
		if got := f.next(t).msg.ID; got != id {
			t.Errorf("ID = %q, want %q", got, id)
		}
	}
}

func TestConsumeRetriesThenDeadLetters(t *testing.T) {
	t.Parallel()
	for _, srv := range testinfra.NATSServers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			t.Parallel()
			f := startConsumer(t, srv.URL, 3, func(events.Message) error { return errors.New("store down") })
			dlq := f.subscribe(t, events.DeadLetterSubjectPrefix+f.durable)
			ev := f.publish(t, "purchase.recorded")

			for want := uint64(1); want <= 3; want++ {
				d := f.next(t)
				if d.msg.ID != ev.ID || d.msg.NumDelivered != want {
					t.Fatalf("delivery %d: got %s #%d", want, d.msg.ID, d.msg.NumDelivered)
				}
			}
			dl := next(t, dlq)
			wantHeaders := map[string]string{
				"Ce-Id":               ev.ID,
				"Ce-Type":             ev.Type,
				"Guanxi-Dlq-Subject":  ev.Subject,
				"Guanxi-Dlq-Consumer": f.durable,
				"Guanxi-Dlq-Reason":   "failed 3 deliveries: store down",
			}
			for k, v := range wantHeaders {
				if got := dl.Header.Get(k); got != v {
					t.Errorf("dead letter header %s = %q, want %q", k, got, v)
				}
			}
			if string(dl.Data) != string(ev.Payload) {
				t.Error("dead letter payload differs")
			}
			select {
			case d := <-f.got:
				t.Fatalf("delivered again after dead-lettering: #%d", d.msg.NumDelivered)
			default:
			}
		})
	}
}

func TestPermanentDeadLettersAndReplay(t *testing.T) {
	t.Parallel()
	for _, srv := range testinfra.NATSServers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			t.Parallel()
			f := startConsumer(t, srv.URL, 5, func(events.Message) error {
				return events.Permanent(errors.New("cannot decode payload"))
			})
			dlq := f.subscribe(t, events.DeadLetterSubjectPrefix+f.durable)
			ev := f.publish(t, "survey.answered")

			if d := f.next(t); d.msg.NumDelivered != 1 {
				t.Fatalf("first delivery #%d", d.msg.NumDelivered)
			}
			dl := next(t, dlq)
			if got := dl.Header.Get("Guanxi-Dlq-Reason"); got != "permanent: cannot decode payload" {
				t.Errorf("reason = %q", got)
			}

			// Core subscribers can see the dead letter a moment before the
			// stream has stored it; replay needs it stored.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			waitFor(t, func() bool {
				s, err := f.js.Stream(ctx, events.DeadLetterStream)
				if err != nil {
					return false
				}
				_, err = s.GetLastMsgForSubject(ctx, events.DeadLetterSubjectPrefix+f.durable)
				return err == nil
			})

			// The fix is deployed; replaying hands the event back.
			f.fail.Store(succeed)
			n, err := events.ReplayDeadLetters(ctx, f.js, f.durable)
			if err != nil || n != 1 {
				t.Fatalf("ReplayDeadLetters = %d, %v; want 1", n, err)
			}
			d := f.next(t)
			if d.msg.ID != ev.ID || d.msg.Subject != ev.Subject || d.msg.NumDelivered != 1 {
				t.Fatalf("replayed message = %+v, want event %s", d.msg, ev.ID)
			}
			if n, err := events.ReplayDeadLetters(ctx, f.js, f.durable); err != nil || n != 0 {
				t.Fatalf("second replay = %d, %v; want 0 (dead letters removed)", n, err)
			}
			info, err := f.js.Stream(ctx, f.stream)
			if err != nil {
				t.Fatal(err)
			}
			if msgs := info.CachedInfo().State.Msgs; msgs != 2 {
				t.Errorf("stream holds %d messages, want original + replay = 2", msgs)
			}
		})
	}
}

func TestConsumeStopsOnCancel(t *testing.T) {
	t.Parallel()
	b := newBus(t, testinfra.EmbeddedNATS(t))
	handled := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, b.js, events.ConsumerConfig{Stream: b.stream, Durable: "stopper"},
			func(context.Context, events.Message) error { handled <- struct{}{}; return nil }, nil)
	}()
	if err := events.Publish(context.Background(), b.js, newEvent(t, context.Background(), b.subject+".a", "a")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handled: // consuming for sure
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
	}
	cancel()
	waitReturned(t, done, "after cancel")
}

func TestConsumeRequiresNames(t *testing.T) {
	t.Parallel()
	err := events.Consume(context.Background(), nil, events.ConsumerConfig{}, nil, nil)
	if err == nil {
		t.Fatal("want error for empty config")
	}
}

// Services start in any order: a consumer started before its stream exists
// waits for the owner to create it, and one stopped while waiting returns nil.
func TestConsumeWaitsForStream(t *testing.T) {
	t.Parallel()
	url := testinfra.EmbeddedNATS(t)
	nc, js, err := events.Connect(url, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stream, subject := testinfra.UniqueName("T"), testinfra.UniqueName("t")

	handled := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, js, events.ConsumerConfig{Stream: stream, Durable: "late"},
			func(_ context.Context, m events.Message) error { handled <- m.Subject; return nil }, nil)
	}()

	// Consume is now waiting; create the stream and publish.
	if err := events.EnsureStream(context.Background(), js, stream, subject+".>"); err != nil {
		t.Fatal(err)
	}
	if err := events.Publish(context.Background(), js, newEvent(t, context.Background(), subject+".a", "a")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-handled:
		if got != subject+".a" {
			t.Fatalf("handled %s", got)
		}
	case err := <-done:
		t.Fatalf("Consume returned %v before the stream appeared", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s of creating the stream")
	}

	// Stopped while waiting for a stream that never comes: nil, promptly.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() {
		done2 <- events.Consume(ctx2, js, events.ConsumerConfig{Stream: testinfra.UniqueName("NEVER"), Durable: "waiter"},
			func(context.Context, events.Message) error { return nil }, nil)
	}()
	cancel2()
	waitReturned(t, done2, "when stopped while waiting")
}

// waitReturned waits up to 10s for a cancelled Consume to return nil.
func waitReturned(t *testing.T, done <-chan error, when string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Consume = %v %s, want nil", err, when)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Consume did not return %s", when)
	}
}

// With Concurrency n, n messages are handled at once and never more, and
// Consume returns only after the ones in hand are done.
func TestConsumeConcurrency(t *testing.T) {
	t.Parallel()
	const n = 4
	b := newBus(t, testinfra.EmbeddedNATS(t))
	var inHand, finished atomic.Int32
	started, release := make(chan struct{}, 2*n), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, b.js, events.ConsumerConfig{Stream: b.stream, Durable: "parallel", Concurrency: n},
			func(context.Context, events.Message) error {
				inHand.Add(1)
				started <- struct{}{}
				<-release
				inHand.Add(-1)
				finished.Add(1)
				return nil
			}, nil)
	}()
	for i := range 2 * n {
		if err := events.Publish(context.Background(), b.js, newEvent(t, context.Background(), fmt.Sprintf("%s.m%d", b.subject, i), "m")); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d messages in hand after 10s, want %d at once", inHand.Load(), n)
		}
	}
	select {
	case <-started:
		t.Fatalf("a message beyond the %d in hand was started", n)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Consume returned %v with %d messages in hand", err, inHand.Load())
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	waitReturned(t, done, "after its messages were done")
	if finished.Load() < n {
		t.Fatalf("%d messages finished, want the %d in hand", finished.Load(), n)
	}
}
