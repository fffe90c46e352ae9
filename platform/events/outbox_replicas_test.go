package events_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestOutboxRelaysOnReplicas runs the relays of two replicas on one
// database while both commit events, and leaves a third replica's events
// in the table (it died before relaying them). Every event is stored in
// the stream exactly once; the publishes JetStream had to drop as
// duplicates (Nats-Msg-Id) are counted from a core subscription, which
// sees every publish.
func TestOutboxRelaysOnReplicas(t *testing.T) {
	url := testinfra.EmbeddedNATS(t)
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			b, db, a := newRelay(t, url, d.URL)
			other := events.NewOutbox(openDB(t, d.URL), b.js, nil)
			dead := events.NewOutbox(db, b.js, nil) // never relays
			var (
				mu        sync.Mutex
				published = map[string]int{}
			)
			sub, err := b.nc.Subscribe(b.subject+".>", func(m *nats.Msg) {
				mu.Lock()
				published[m.Header.Get("Ce-Id")]++
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
			if err := b.nc.Flush(); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const perReplica, leftover, batch = 1500, 300, 10
			for i := 0; i < leftover; i += batch {
				enqueueN(t, db, dead, b.subject, "dead", i, batch)
			}
			runInBackground(t, a.Run)
			runInBackground(t, other.Run)
			var wg sync.WaitGroup
			for name, o := range map[string]*events.Outbox{"a": a, "b": other} {
				wg.Go(func() {
					for i := 0; i < perReplica; i += batch {
						enqueueN(t, db, o, b.subject, name, i, batch)
					}
				})
			}
			wg.Wait()
			want := 2*perReplica + leftover
			stream, err := b.js.Stream(ctx, b.stream)
			if err != nil {
				t.Fatal(err)
			}
			testinfra.Eventually(t, 30*time.Second, fmt.Sprintf("%d events stored", want), func() bool {
				info, err := stream.Info(ctx)
				depth, derr := a.Depth(ctx)
				return err == nil && derr == nil && info.State.Msgs >= uint64(want) && depth == 0
			})
			info, err := stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Read the stream back: each event once.
			seen := map[string]int{}
			cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			for len(seen) < want {
				msgs, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for m := range msgs.Messages() {
					seen[m.Headers().Get("Ce-Id")]++
					n++
				}
				if n == 0 {
					break
				}
			}
			stored, twice := 0, 0
			for _, n := range seen {
				stored++
				if n > 1 {
					twice++
				}
			}
			mu.Lock()
			dupes := 0
			for _, n := range published {
				dupes += n - 1
			}
			mu.Unlock()
			t.Logf("%d events from two live relays and a dead replica: %d in the stream (%d messages), %d stored twice; %d publishes dropped by JetStream's dedupe",
				want, stored, info.State.Msgs, twice, dupes)
			if stored != want || twice != 0 || info.State.Msgs != uint64(want) {
				t.Fatalf("stream holds %d distinct of %d events in %d messages, %d twice", stored, want, info.State.Msgs, twice)
			}
		})
	}
}

func enqueueN(t *testing.T, db *sqldb.DB, o *events.Outbox, subject, from string, start, n int) {
	t.Helper()
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = newEvent(t, context.Background(), subject+".x", fmt.Sprintf("%s-%d", from, start+i))
	}
	enqueue(t, db, o, evs...)
}
