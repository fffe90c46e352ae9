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
	relayTick = time.Second
	// A round reads up to relayRows outbox rows and publishes the events
	// of as many as hold relayEvents events (at least one row), waiting
	// for acknowledgements every publishWindow events, below the client's
	// limit of pending asynchronous publishes.
	relayRows      = 500
	relayEvents    = 2000
	publishWindow  = 1000
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
// Several events go in one row (see batch.go), which keeps bulk writers
// such as imports from paying a row per event.
func (o *Outbox) Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	first, payload, size := evs[0], evs[0].Payload, 0
	if len(evs) > 1 {
		payload, size = encodeBatch(evs), len(evs)
	}
	row := []any{first.ID, first.Subject, first.Type, first.Source, sqldb.Micros(first.Time), payload, first.TraceParent, size}
	if err := tx.InsertRows(ctx, "outbox", outboxColumns, [][]any{row}); err != nil {
		return fmt.Errorf("enqueue %d events (first %s): %w", len(evs), first.Subject, err)
	}
	tx.AfterCommit(o.notify)
	return nil
}

var outboxColumns = []string{"id", "subject", "type", "source", "occurred_at", "payload", "traceparent", "batch_size"}

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
	if err := o.db.QueryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN batch_size = 0 THEN 1 ELSE batch_size END), 0) FROM outbox`).Scan(&n); err != nil {
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
			_, more, err := o.relayRound(ctx)
			if err != nil {
				if ctx.Err() == nil {
					o.logger.WarnContext(ctx, "outbox relay failed, retrying", slog.Any("error", err))
				}
				break
			}
			if !more {
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

// relayRound publishes the events of the first unsent rows and returns how
// many it published and whether more rows may be waiting.
func (o *Outbox) relayRound(ctx context.Context) (int, bool, error) {
	if o.db.Dialect == sqldb.Postgres {
		// Claim rows with SKIP LOCKED so several replicas' relays never
		// publish the same rows at the same time.
		// The transaction ignores ctx cancellation so that rows already
		// published are still deleted when the relay is stopped.
		var (
			sent     int
			more     bool
			relayErr error
		)
		err := o.db.InTx(context.WithoutCancel(ctx), func(tx *sqldb.Tx) error {
			// Always commit: rows deleted before a failure did go out.
			sent, more, relayErr = o.publishRows(ctx, tx, `FOR UPDATE SKIP LOCKED`)
			return nil
		})
		return sent, more, errors.Join(relayErr, err)
	}
	// SQLite has one writer; holding its write lock while publishing
	// would stall the service's own writes, so read, publish, then
	// delete. A single relay per database file is assumed.
	return o.publishRows(ctx, o.db, "")
}

// querier is what the relay needs from a *sqldb.DB or *sqldb.Tx.
type querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (o *Outbox) publishRows(ctx context.Context, q querier, lock string) (int, bool, error) {
	after := o.after
	if time.Since(o.lastFull) >= fullScanEvery {
		after, o.lastFull = "", time.Now()
	}
	rows, err := loadUnsent(ctx, q, after, lock)
	if err != nil {
		return 0, false, err
	}
	more := len(rows) == relayRows
	var evs []Event
	for i, r := range rows {
		if i > 0 && len(evs)+len(r.events) > relayEvents {
			rows, more = rows[:i], true
			break
		}
		evs = append(evs, r.events...)
	}
	acked, pubErr := o.publishBatch(ctx, evs)
	// A row is done once all its events are acknowledged.
	var done []any
	sent := 0
	for _, r := range rows {
		if acked-sent < len(r.events) {
			break
		}
		sent += len(r.events)
		done = append(done, r.id)
	}
	// Published rows are deleted, in one statement for the round: the
	// stream holds the events from here on, and a delete costs the database
	// far less than marking (an UPDATE writes a new row version and its
	// index entries, as much work as the row's own insert), and removes
	// the personal data an event may carry as soon as it is out. Deleting
	// must not be cancelled: the events are out, and rows left behind
	// would be published again (harmless, as streams and inboxes drop
	// repeats, but wasteful).
	if len(done) > 0 {
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		marks := strings.Repeat("?, ", len(done)-1) + "?"
		if _, err := q.Exec(delCtx, `DELETE FROM outbox WHERE id IN (`+marks+`)`, done...); err != nil {
			return 0, false, errors.Join(pubErr, fmt.Errorf("delete %d published outbox rows: %w", len(done), err))
		}
		o.after = done[len(done)-1].(string)
	}
	return sent, more && pubErr == nil, pubErr
}

// publishBatch publishes evs without waiting for each acknowledgement in
// turn (a round trip per event would cap the relay at a few thousand
// events a second), collecting the acknowledgements in order every
// publishWindow events; it returns how many events, from the first, were
// acknowledged before the first failure. The events after a failure are
// published again on the next round; the stream drops the ones it already
// has by their Nats-Msg-Id. A duplicate acknowledgement means an earlier
// attempt got through, which is success.
func (o *Outbox) publishBatch(ctx context.Context, evs []Event) (int, error) {
	acked := 0
	for len(evs) > 0 {
		window := evs[:min(len(evs), publishWindow)]
		evs = evs[len(window):]
		futures := make([]jetstream.PubAckFuture, 0, len(window))
		var pubErr error
		for _, ev := range window {
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
		n, err := awaitAcks(futures, window)
		acked += n
		if err := errors.Join(pubErr, err); err != nil {
			return acked, err
		}
	}
	return acked, nil
}

// awaitAcks waits for the acknowledgements of futures, the publishes of
// evs, in order; it returns how many came before the first failure, and
// that failure.
func awaitAcks(futures []jetstream.PubAckFuture, evs []Event) (int, error) {
	timeout := time.NewTimer(publishTimeout)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return i, fmt.Errorf("publish event %s to %s: %w", evs[i].ID, evs[i].Subject, err)
		case <-timeout.C:
			return i, fmt.Errorf("publish event %s to %s: no acknowledgement within %v", evs[i].ID, evs[i].Subject, publishTimeout)
		}
	}
	return len(futures), nil
}

// outboxRow is one row of the outbox: its id and the events it holds.
type outboxRow struct {
	id     string
	events []Event
}

// loadUnsent reads the first relayRows rows with an id above after.
func loadUnsent(ctx context.Context, q querier, after, lock string) ([]outboxRow, error) {
	rows, err := sqldb.QueryAll(ctx, q, scanOutboxRow, `SELECT id, subject, type, source, occurred_at, payload, traceparent, batch_size
		FROM outbox WHERE id > ? ORDER BY id LIMIT `+strconv.Itoa(relayRows)+" "+lock, after)
	if err != nil {
		return nil, fmt.Errorf("load unsent events: %w", err)
	}
	return rows, nil
}

func scanOutboxRow(s sqldb.Scanner) (outboxRow, error) {
	var (
		ev   Event
		at   int64
		size int
	)
	if err := s.Scan(&ev.ID, &ev.Subject, &ev.Type, &ev.Source, &at, &ev.Payload, &ev.TraceParent, &size); err != nil {
		return outboxRow{}, fmt.Errorf("scan outbox row: %w", err)
	}
	if size == 0 {
		ev.Time = sqldb.FromMicros(at)
		return outboxRow{id: ev.ID, events: []Event{ev}}, nil
	}
	evs, err := decodeBatch(ev.Payload)
	if err == nil && len(evs) != size {
		err = fmt.Errorf("%w: %d events, batch_size %d", errBadBatch, len(evs), size)
	}
	if err != nil {
		return outboxRow{}, fmt.Errorf("outbox row %s: %w", ev.ID, err)
	}
	return outboxRow{id: ev.ID, events: evs}, nil
}
