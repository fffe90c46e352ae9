package events

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Relay timing. Tick bounds how late an event that another process wrote,
// or whose publishing failed, goes out.
const (
	relayTick  = time.Second
	relayBatch = 500
	// maxCommitted bounds the events committed in this process that wait
	// in memory for the relay; beyond it they wait in the database only.
	maxCommitted   = 20 * relayBatch
	publishTimeout = 5 * time.Second
	// ackTimeout is how long the relay waits for the next
	// acknowledgement of a batch before it publishes the rest again: an
	// acknowledgement lost with a stream leader that died never comes,
	// and the new leader drops the repeats of what did get through (by
	// Nats-Msg-Id). Short, so a leader change stalls the flow of events
	// for about this long, not publishTimeout.
	ackTimeout = 2 * time.Second
	// fullScanEvery bounds how long the relay reads on from where it
	// stopped (see Outbox.from) before it reads the outbox from the start.
	fullScanEvery = 5 * time.Second
	// deleteAfter bounds how long the rows of events published from
	// memory wait to be deleted, so that one DELETE (and one WAL flush)
	// serves every round in that time. A row left by a crash meanwhile is
	// published again, and the stream drops the repeat.
	deleteAfter = 20 * time.Millisecond
)

// Outbox writes events in the caller's transaction and relays them to
// JetStream after commit. One Outbox (one relay) per process and database.
//
// The relay publishes the events committed in this process from memory,
// then deletes their rows: one statement for the rounds of deleteAfter,
// where reading them back would take a transaction of three per round.
// It reads the outbox table only for what memory does not hold: rows left
// by a process that stopped before publishing them, by another process,
// and events whose publishing failed or that arrived while too many were
// waiting.
type Outbox struct {
	db     *sqldb.DB
	js     jetstream.JetStream
	logger *slog.Logger
	tracer trace.Tracer
	wake   chan struct{}

	// committed holds events committed in this process and not yet
	// published, under mu.
	committed []Event
	// published holds the ids of events published from memory whose rows
	// are not deleted yet, the oldest published at publishedAt. Only the
	// relay goroutine uses them.
	published   []string
	publishedAt time.Time

	// from is the id the relay reads the table on from: the last event it
	// read, or lower. Reading on from there spares the database walking the
	// index entries of rows it just deleted: until vacuum removes them,
	// each is a heap visit, and a backlog of a few hundred thousand events
	// made every read take seconds. Ids grow with time (UUIDv7) but
	// transactions commit in any order, so one that commits late adds rows
	// below from. An event of this process that the relay must read from
	// the table (see Outbox) lowers lowest (under mu), and the next read
	// starts there. Rows written by other processes are found by reading
	// from the start at least every fullScanEvery (lastFull). Only the
	// relay goroutine uses from and lastFull.
	from     string
	lastFull time.Time
	mu       sync.Mutex
	lowest   string
}

// NewOutbox returns an outbox over db's outbox table publishing to js. Run
// must be started for events to leave the database.
func NewOutbox(db *sqldb.DB, js jetstream.JetStream, logger *slog.Logger) *Outbox {
	if logger == nil {
		logger = slog.Default()
	}
	return &Outbox{db: db, js: js, logger: logger, tracer: otel.Tracer(tracerName), wake: make(chan struct{}, 1)}
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
	evs = slices.Clone(evs)
	tx.AfterCommit(func() { o.commit(evs) })
	return nil
}

var outboxColumns = []string{"id", "subject", "type", "source", "occurred_at", "payload", "traceparent"}

// commit hands the relay events whose transaction committed, and wakes
// it without blocking; one pending wake-up is enough.
func (o *Outbox) commit(evs []Event) {
	o.mu.Lock()
	if len(o.committed)+len(evs) <= maxCommitted {
		o.committed = append(o.committed, evs...)
	} else {
		o.readFromLocked(eventIDs(evs)...)
	}
	o.mu.Unlock()
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
// It publishes after every commit that enqueued an event, and reads the
// outbox table at start, every second and whenever it must (see Outbox),
// in id order; a failed publish stops the round and is retried on the
// next, so events are never skipped.
func (o *Outbox) Run(ctx context.Context) error {
	ticker := time.NewTicker(relayTick)
	defer ticker.Stop()
	read := true // rows may be left from before this process
	for {
		if err := o.relayCommitted(ctx); err != nil && ctx.Err() == nil {
			o.logger.WarnContext(ctx, "outbox relay failed, retrying from the table", slog.Any("error", err))
		}
		o.mu.Lock()
		read = read || o.lowest != ""
		o.mu.Unlock()
		// Rows published but not deleted would be read and published
		// again.
		if read || len(o.published) >= relayBatch || time.Since(o.publishedAt) >= deleteAfter {
			o.deletePublished(ctx)
		}
		for read {
			sent, err := o.relayBatch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					o.logger.WarnContext(ctx, "outbox relay failed, retrying", slog.Any("error", err))
				}
				break
			}
			read = sent == relayBatch
		}
		read = false
		var deleteDue <-chan time.Time
		if len(o.published) > 0 {
			deleteDue = time.After(deleteAfter - time.Since(o.publishedAt))
		}
		select {
		case <-ctx.Done():
			o.deletePublished(ctx)
			return nil
		case <-o.wake:
		case <-deleteDue:
		case <-ticker.C:
			read = true
		}
	}
}

// deletePublished deletes the rows of the events published from memory.
// Rows it fails to delete are left to the next read of the table.
func (o *Outbox) deletePublished(ctx context.Context) {
	if len(o.published) == 0 {
		return
	}
	ids := o.published
	o.published = nil
	if err := o.deleteSent(ctx, o.db, ids); err != nil {
		o.readFrom(ids...)
		if ctx.Err() == nil {
			o.logger.WarnContext(ctx, "outbox relay failed to delete published events", slog.Any("error", err))
		}
	}
}

// relayCommitted publishes the events committed in this process since the
// last round; Run deletes their rows. What it could not publish is left
// to the next read of the table.
func (o *Outbox) relayCommitted(ctx context.Context) error {
	o.mu.Lock()
	evs := o.committed
	o.committed = nil
	o.mu.Unlock()
	for len(evs) > 0 {
		batch := evs[:min(len(evs), relayBatch)]
		sent, err := o.publishBatch(ctx, batch)
		if len(sent) > 0 {
			if len(o.published) == 0 {
				o.publishedAt = time.Now()
			}
			o.published = append(o.published, sent...)
		}
		if err != nil {
			o.readFrom(eventIDs(evs[len(sent):])...)
			return err
		}
		evs = evs[len(batch):]
	}
	return nil
}

// readFrom makes the relay read the table soon, low enough to find ids.
func (o *Outbox) readFrom(ids ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.readFromLocked(ids...)
}

func (o *Outbox) readFromLocked(ids ...string) {
	for _, id := range ids {
		if id != "" && (o.lowest == "" || id < o.lowest) {
			o.lowest = id
		}
	}
}

func eventIDs(evs []Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

// deleteSent deletes the rows of published events (see sqldb.OneOf): the
// stream holds the events from here on, and a delete costs the database
// far less than marking (an UPDATE writes a new row version and its index
// entries, as much work as the event's own insert), and removes the
// personal data an event may carry as soon as it is out. It is not
// cancelled with ctx: the events are out, and rows left behind would be
// published again (harmless, as streams and inboxes drop repeats, but
// wasteful).
func (o *Outbox) deleteSent(ctx context.Context, q querier, ids []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	for _, in := range o.db.Dialect.OneOf("id", ids) {
		if _, err := q.Exec(ctx, `DELETE FROM outbox WHERE `+in.SQL, in.Args...); err != nil {
			return fmt.Errorf("delete %d published events: %w", len(ids), err)
		}
	}
	return nil
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
	o.mu.Lock()
	from, lowest := o.from, o.lowest
	o.lowest = ""
	o.mu.Unlock()
	if lowest != "" && lowest < from {
		from = lowest
	}
	if time.Since(o.lastFull) >= fullScanEvery {
		from, o.lastFull = "", time.Now()
	}
	// After a failure the next read starts where this one did.
	o.from = from
	rows, err := loadUnsent(ctx, q, from, lock)
	if err != nil {
		return 0, err
	}
	sent, pubErr := o.publishBatch(ctx, o.notInMemory(rows))
	if len(sent) > 0 {
		if err := o.deleteSent(ctx, q, sent); err != nil {
			return 0, errors.Join(pubErr, err)
		}
	}
	if pubErr == nil && len(rows) > 0 {
		o.from = rows[len(rows)-1].ID
	}
	return len(sent), pubErr
}

// notInMemory drops the rows of events committed in this process that the
// relay holds in memory and publishes from there next: while an import
// commits faster than the relay publishes, reading them from the table as
// well published most events twice, and read each back first.
func (o *Outbox) notInMemory(rows []Event) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.committed) == 0 {
		return rows
	}
	held := make(map[string]struct{}, len(o.committed))
	for _, ev := range o.committed {
		held[ev.ID] = struct{}{}
	}
	return slices.DeleteFunc(rows, func(ev Event) bool {
		_, ok := held[ev.ID]
		return ok
	})
}

// publishBatch publishes evs without waiting for each acknowledgement in
// turn (a round trip per event would cap the relay at a few thousand
// events a second), then collects the acknowledgements in order and
// returns the ids of the events acknowledged before the first failure.
// The events after a failure are published again on the next round; the
// stream drops the ones it already has by their Nats-Msg-Id. A duplicate
// acknowledgement means an earlier attempt got through, which is success.
// Each event's publish span (see startPublish) ends with its
// acknowledgement, or with the batch's error.
func (o *Outbox) publishBatch(ctx context.Context, evs []Event) (sent []string, err error) {
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	spans := make([]trace.Span, 0, len(evs))
	defer func() {
		for _, span := range spans[len(sent):] {
			// Not acknowledged: published again on a later round.
			endPublish(span, cmp.Or(err, errNotAcknowledged))
		}
	}()
	var pubErr error
	for _, ev := range evs {
		if pubErr = ctx.Err(); pubErr != nil {
			break
		}
		msg, span := o.startPublish(ev)
		spans = append(spans, span)
		f, err := o.js.PublishMsgAsync(msg, jetstream.WithMsgID(ev.ID))
		if err != nil {
			pubErr = fmt.Errorf("publish event %s to %s: %w", ev.ID, ev.Subject, err)
			break
		}
		futures = append(futures, f)
	}
	// The wait is for progress: each acknowledgement gives the next
	// ackTimeout more, so a large batch on a busy server is not cut off.
	timeout := time.NewTimer(ackTimeout)
	defer timeout.Stop()
	sent = make([]string, 0, len(futures))
	for i, f := range futures {
		select {
		case <-f.Ok():
			sent = append(sent, evs[i].ID)
			endPublish(spans[i], nil)
			timeout.Reset(ackTimeout)
			continue
		case err := <-f.Err():
			return sent, errors.Join(pubErr, fmt.Errorf("publish event %s to %s: %w", evs[i].ID, evs[i].Subject, err))
		case <-timeout.C:
			return sent, errors.Join(pubErr, fmt.Errorf("publish event %s to %s: no acknowledgement within %v", evs[i].ID, evs[i].Subject, ackTimeout))
		}
	}
	return sent, pubErr
}

// startPublish returns ev's message and the span of its publishing: a
// producer span whose parent is the span that wrote the event (the
// traceparent the outbox kept), and whose own context the message carries,
// so that the consumers' spans hang under the publish, in the trace of
// the request that made the event, however late or from whichever replica
// the relay publishes it. An event written outside any trace (a job's)
// gets no span here, where a trace of its own per event would be noise;
// nor does one whose trace is not sampled: its message keeps the kept
// traceparent as it is.
func (o *Outbox) startPublish(ev Event) (*nats.Msg, trace.Span) {
	msg := ev.NATSMsg()
	if ev.TraceParent == "" {
		return msg, noSpan
	}
	ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{HeaderTraceParent: ev.TraceParent})
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return msg, noSpan
	}
	ctx, span := o.tracer.Start(ctx, "publish "+ev.Subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "publish"),
			attribute.String("messaging.destination.name", ev.Subject),
			attribute.String("messaging.message.id", ev.ID),
		))
	if span.IsRecording() {
		traceContext.Inject(ctx, headerCarrier(msg.Header))
	}
	return msg, span
}

// errNotAcknowledged ends the span of an event whose acknowledgement the
// batch did not wait for.
var errNotAcknowledged = errors.New("not acknowledged")

// traceContext reads and writes the one header the outbox keeps a trace
// in, whatever else the process propagates.
var traceContext = propagation.TraceContext{}

// noSpan is the span of an event published without one.
var noSpan = trace.SpanFromContext(context.Background())

// endPublish ends a publish span: published when err is nil, else failed.
func endPublish(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	span.End()
}

// loadUnsent reads the first relayBatch events with an id from from up.
func loadUnsent(ctx context.Context, q querier, from, lock string) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, subject, type, source, occurred_at, payload, traceparent FROM outbox
		WHERE id >= ? ORDER BY id LIMIT `+strconv.Itoa(relayBatch)+" "+lock, from)
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
