package events_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestConsumeBatchesExactlyOnce runs two consumers ("replicas", each with
// its own connection pool) on one durable and one database, handling in
// batches, while events are replayed under new stream message ids (the
// same event id again) and one event in eight fails its first delivery
// after writing its effect: every event's effect is in the database exactly
// once, every message is acked, and batches did happen. With a batch
// handler ("set"), a batch holding a failing event fails as a whole and is
// handled again message by message.
func TestConsumeBatchesExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, srv := range testinfra.NATSServers(t) {
		for _, set := range []bool{false, true} {
			for _, d := range testinfra.Databases(t) {
				name := srv.Name + "/" + d.Name
				if set {
					name += "/set"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					testBatchesExactlyOnce(t, srv.URL, d.URL, set)
				})
			}
		}
	}
}

func testBatchesExactlyOnce(t *testing.T, natsURL, dbURL string, set bool) {
	const n = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBus(t, natsURL)
	durable := testinfra.UniqueName("d")
	replicas := []*sqldb.DB{openDB(t, dbURL), openDB(t, dbURL)}
	if _, err := replicas[0].Exec(ctx, `CREATE TABLE effects (event_id TEXT NOT NULL, replica BIGINT NOT NULL, batched BIGINT NOT NULL, failing BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		failedAt = map[string]bool{} // events that failed their first try
		batched  atomic.Int64
	)
	// failsFirst reports whether m is to fail its first try (and notes it).
	failsFirst := func(m events.Message) bool {
		i, _ := strconv.Atoi(string(m.Payload))
		mu.Lock()
		defer mu.Unlock()
		fail := i%8 == 0 && !failedAt[m.ID]
		if fail {
			failedAt[m.ID] = true
		}
		return fail
	}
	handler := func(replica int, db *sqldb.DB) events.Handler {
		return func(ctx context.Context, m events.Message) error {
			inBatch := 0
			if sqldb.InBatch(ctx) {
				inBatch = 1
				batched.Add(1)
			}
			return db.InTx(ctx, func(tx *sqldb.Tx) error {
				first, err := events.MarkHandled(ctx, tx, "test", m.ID)
				if err != nil || !first {
					return err
				}
				fail := failsFirst(m)
				failing := 0
				if fail {
					failing = 1
				}
				if _, err := tx.Exec(ctx, `INSERT INTO effects (event_id, replica, batched, failing) VALUES (?, ?, ?, ?)`,
					m.ID, replica, inBatch, failing); err != nil {
					return err
				}
				if fail {
					return errors.New("first try fails after writing")
				}
				return nil
			})
		}
	}
	// setHandler applies a batch with one inbox statement; the effects of
	// the events before a failing one are written when it fails.
	setHandler := func(replica int, db *sqldb.DB) events.BatchHandler {
		return func(ctx context.Context, ms []events.Message) error {
			return db.InTx(ctx, func(tx *sqldb.Tx) error {
				ids := make([]string, len(ms))
				for i, m := range ms {
					ids[i] = m.ID
				}
				first, err := events.MarkHandledMany(ctx, tx, "test", ids)
				if err != nil {
					return err
				}
				for _, m := range ms {
					if !first[m.ID] {
						continue
					}
					delete(first, m.ID) // a replay within the batch
					fail := failsFirst(m)
					failing := 0
					if fail {
						failing = 1
					}
					if _, err := tx.Exec(ctx, `INSERT INTO effects (event_id, replica, batched, failing) VALUES (?, ?, 2, ?)`,
						m.ID, replica, failing); err != nil {
						return err
					}
					if fail {
						return errors.New("a batch fails with one of its events")
					}
				}
				batched.Add(int64(len(ms)))
				return nil
			})
		}
	}
	for i, db := range replicas {
		cfg := events.ConsumerConfig{
			Stream: b.stream, Durable: durable, FilterSubjects: []string{b.subject + ".>"},
			AckWait: 10 * time.Second, MaxDeliver: 5, Backoff: []time.Duration{20 * time.Millisecond},
			DB: db, BatchSize: 64,
		}
		if set {
			cfg.HandleBatch = setHandler(i, db)
		}
		runInBackground(t, func(ctx context.Context) error {
			return events.Consume(ctx, b.js, cfg, handler(i, db), nil)
		})
	}

	for i := range n {
		ev := newEvent(t, ctx, b.subject+".thing.happened", "")
		ev.Payload = []byte(strconv.Itoa(i))
		if _, err := b.js.PublishMsgAsync(ev.NATSMsg(), jetstream.WithMsgID(ev.ID)); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 { // replayed: the same event under a new stream message id
			if _, err := b.js.PublishMsgAsync(ev.NATSMsg(), jetstream.WithMsgID(uuid.NewString())); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-b.js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing did not complete")
	}

	var (
		cons jetstream.Consumer
		last string
	)
	testinfra.Eventually(t, time.Minute, "the durable consumer", func() bool {
		var err error
		cons, err = b.js.Consumer(ctx, b.stream, durable)
		return err == nil
	})
	testinfra.Eventually(t, time.Minute, "every message acked", func() bool {
		info, err := cons.Info(ctx)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("pending %d, ack pending %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
		return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
	t.Log(last)

	var total, distinct, inBatches, leaked, bySet int64
	var perReplica [2]int64
	if err := replicas[0].QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT event_id), COALESCE(SUM(CASE WHEN batched > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(failing), 0), COALESCE(SUM(CASE WHEN batched = 2 THEN 1 ELSE 0 END), 0) FROM effects`).Scan(&total, &distinct, &inBatches, &leaked, &bySet); err != nil {
		t.Fatal(err)
	}
	for r := range perReplica {
		if err := replicas[0].QueryRow(ctx, `SELECT COUNT(*) FROM effects WHERE replica = ?`, r).Scan(&perReplica[r]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events (%d replays, %d failed once): %d effects, %d distinct, %d applied in batches (%d by the batch handler), per replica %v",
		n, n/5, len(failedAt), total, distinct, inBatches, bySet, perReplica)
	if total != n || distinct != n {
		t.Fatalf("effects = %d (%d distinct), want each of the %d events exactly once", total, distinct, n)
	}
	if leaked != 0 {
		t.Errorf("%d effects of failed tries were committed", leaked)
	}
	if inBatches == 0 {
		t.Error("no event was handled in a batch")
	}
	if set != (bySet > 0) {
		t.Errorf("%d events applied by the batch handler, with one: %v", bySet, set)
	}
	if len(failedAt) != n/8 {
		t.Errorf("%d events failed their first try, want %d", len(failedAt), n/8)
	}
}
