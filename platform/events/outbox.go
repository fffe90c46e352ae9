package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Relay timing. Tick bounds how late an event whose wake-up was missed (or
// that another process wrote) goes out.
const (
	relayTick      = time.Second
	relayBatch     = 500
	publishTimeout = 5 * time.Second
	// fullScanEvery bounds how long the relay reads on from where it
	// stopped (see Outbox.after) before it reads the outbox from the start.
	fullScanEvery = 5 * time.Second
)

// Outbox writes events in the caller's transaction and relays them to
// JetStream after commit. One Outbox (one relay) per process and database.
type Outbox struct {
	db     *sqldb.DB
	js     jetstream.JetStream
	logger *slog.Logger
	wake   chan struct{}

	// after is the id of the last event the relay published, and lastFull
	// when it last read the outbox from the start. Reading on after the
	// last id spares the database walking the index entries of rows it
	// just deleted: until vacuum removes them, each is a heap visit, and a
	// backlog of a few hundred thousand events made every read take
	// seconds. Ids grow with time (UUIDv7), but a transaction that commits
	// late can add a row below after, so the relay reads from the start
	// at least every fullScanEvery. Only the relay goroutine uses them.
	after    string
	lastFull time.Time
}

// NewOutbox returns an outbox over db's outbox table publishing to js. Run
// must be started for events to leave the database.
func NewOutbox(db *sqldb.DB, js jetstream.JetStream, logger *slog.Logger) *Outbox {
	if logger == nil {
		logger = slog.Default()
	}
	return &Outbox{db: db, js: js, logger: logger, wake: make(chan struct{}, 1)}
}

// Enqueue writes evs into the outbox inside tx, so the events exist exactly
// when the change they describe does, and wakes the relay after commit.
// Many events go in one bulk load, which writers such as imports need.
func (o *Outbox) Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows := make([][]any, len(evs))
	for i, ev := range evs {
		rows[i] = []any{ev.ID, ev.Subject, ev.Type, ev.Source, sqldb.Micros(ev.Time), ev.Payload, ev.TraceParent}
	}
	if err := tx.InsertRows(ctx, "outbox", outboxColumns, rows); err != nil {
		return fmt.Errorf("enqueue %d events (first %s): %w", len(evs), evs[0].Subject, err)
	}
	tx.AfterCommit(o.notify)
	return nil
}

var outboxColumns = []string{"id", "subject", "type", "source", "occurred_at", "payload", "traceparent"}

// notify wakes the relay without blocking; one pending wake-up is enough.
func (o *Outbox) notify() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Depth returns the number of events not yet published.
func (o *Outbox) Depth(ctx context.Context) (int64, error) {
	var n int64
	if err := o.db.QueryRow(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}

// Run relays unsent events to JetStream until ctx is done, then returns nil.
// It publishes after every commit that enqueued an event and at least every
// second, in id order; a failed publish stops the round and is retried on
// the next, so events are never skipped.
func (o *Outbox) Run(ctx context.Context) error {
	ticker := time.NewTicker(relayTick)
	defer ticker.Stop()
	for {
		for {
			sent, err := o.relayBatch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					o.logger.WarnContext(ctx, "outbox relay failed, retrying", slog.Any("error", err))
				}
				break
			}
			if sent < relayBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
		case <-ticker.C:
		}
	}
}

// relayBatch publishes up to relayBatch unsent events and returns how many
// it published.
func (o *Outbox) relayBatch(ctx context.Context) (int, error) {
	if o.db.Dialect == sqldb.Postgres {
		// Claim rows with SKIP LOCKED so several replicas' relays never
		// publish the same rows at the same time.
		// The transaction ignores ctx cancellation so that rows already
		// published are still deleted when the relay is stopped.
		var (
			sent     int
			relayErr error
		)
		err := o.db.InTx(context.WithoutCancel(ctx), func(tx *sqldb.Tx) error {
			// Always commit: rows deleted before a failure did go out.
			sent, relayErr = o.publishRows(ctx, tx, `FOR UPDATE SKIP LOCKED`)
			return nil
		})
		return sent, errors.Join(relayErr, err)
	}
	// SQLite has one writer; holding its write lock while publishing
	// would stall the service's own writes, so read, publish, then mark
	// delete. A single relay per database file is assumed.
	return o.publishRows(ctx, o.db, "")
}

// querier is what the relay needs from a *sqldb.DB or *sqldb.Tx.
type querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (o *Outbox) publishRows(ctx context.Context, q querier, lock string) (int, error) {
	after := o.after
	if time.Since(o.lastFull) >= fullScanEvery {
		after, o.lastFull = "", time.Now()
	}
	rows, err := loadUnsent(ctx, q, after, lock)
	if err != nil {
		return 0, err
	}
	sent, pubErr := o.publishBatch(ctx, rows)
	// Published rows are deleted, in one statement for the batch: the
	// stream holds the events from here on, and a delete costs the database
	// far less than marking (an UPDATE writes a new row version and its
	// index entries, as much work as the event's own insert), and removes
	// the personal data an event may carry as soon as it is out. Deleting
	// must not be cancelled: the events are out, and rows left behind
	// would be published again (harmless, as streams and inboxes drop
	// repeats, but wasteful).
	if len(sent) > 0 {
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		marks := strings.Repeat("?, ", len(sent)-1) + "?"
		if _, err := q.Exec(delCtx, `DELETE FROM outbox WHERE id IN (`+marks+`)`, sent...); err != nil {
			return 0, errors.Join(pubErr, fmt.Errorf("delete %d published events: %w", len(sent), err))
		}
		o.after = sent[len(sent)-1].(string)
	}
	return len(sent), pubErr
}

// publishBatch publishes evs without waiting for each acknowledgement in
// turn (a round trip per event would cap the relay at a few thousand
// events a second), then collects the acknowledgements in order and
// returns the ids of the events acknowledged before the first failure.
// The events after a failure are published again on the next round; the
// stream drops the ones it already has by their Nats-Msg-Id. A duplicate
// acknowledgement means an earlier attempt got through, which is success.
func (o *Outbox) publishBatch(ctx context.Context, evs []Event) ([]any, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	var pubErr error
	for _, ev := range evs {
		if pubErr = ctx.Err(); pubErr != nil {
			break
		}
		f, err := o.js.PublishMsgAsync(ev.NATSMsg(), jetstream.WithMsgID(ev.ID))
		if err != nil {
			pubErr = fmt.Errorf("publish event %s to %s: %w", ev.ID, ev.Subject, err)
			break
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(publishTimeout)
	defer timeout.Stop()
	sent := make([]any, 0, len(futures))
	for i, f := range futures {
		select {
		case <-f.Ok():
			sent = append(sent, evs[i].ID)
			continue
		case err := <-f.Err():
			return sent, errors.Join(pubErr, fmt.Errorf("publish event %s to %s: %w", evs[i].ID, evs[i].Subject, err))
		case <-timeout.C:
			return sent, errors.Join(pubErr, fmt.Errorf("publish event %s to %s: no acknowledgement within %v", evs[i].ID, evs[i].Subject, publishTimeout))
		}
	}
	return sent, pubErr
}

// loadUnsent reads the first relayBatch events with an id above after.
func loadUnsent(ctx context.Context, q querier, after, lock string) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, subject, type, source, occurred_at, payload, traceparent FROM outbox
		WHERE id > ? ORDER BY id LIMIT `+strconv.Itoa(relayBatch)+" "+lock, after)
	if err != nil {
		return nil, fmt.Errorf("load unsent events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			ev Event
			at int64
		)
		if err := rows.Scan(&ev.ID, &ev.Subject, &ev.Type, &ev.Source, &at, &ev.Payload, &ev.TraceParent); err != nil {
			return nil, fmt.Errorf("scan outbox row: %w", err)
		}
		ev.Time = sqldb.FromMicros(at)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load unsent events: %w", err)
	}
	return out, nil
}
