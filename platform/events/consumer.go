package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Dead-letter stream and the headers added to dead letters.
const (
	DeadLetterStream         = "DEADLETTER"
	DeadLetterSubjectPrefix  = "deadletter."
	HeaderDeadLetterReason   = "Guanxi-Dlq-Reason"
	HeaderDeadLetterSubject  = "Guanxi-Dlq-Subject"
	HeaderDeadLetterConsumer = "Guanxi-Dlq-Consumer"
	HeaderDeadLetterStream   = "Guanxi-Dlq-Stream"
)

// MarkHandled records in tx that consumer handled eventID. first is false
// when it was recorded before: the event is a redelivery or replay and the
// caller must skip its effect (and still commit and ack).
func MarkHandled(ctx context.Context, tx *sqldb.Tx, consumer, eventID string) (first bool, err error) {
	res, err := tx.Exec(ctx,
		`INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		consumer, eventID, sqldb.Micros(time.Now()))
	if err != nil {
		return false, fmt.Errorf("mark event %s handled: %w", eventID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark event %s handled: %w", eventID, err)
	}
	return n == 1, nil
}

// MarkHandledMany is MarkHandled for the events of a batch, in one
// statement: it returns the ids recorded now, the ones to apply.
func MarkHandledMany(ctx context.Context, tx *sqldb.Tx, consumer string, eventIDs []string) (first map[string]bool, err error) {
	first = make(map[string]bool, len(eventIDs))
	if len(eventIDs) == 0 {
		return first, nil
	}
	now := sqldb.Micros(time.Now())
	// In id order, so that two replicas handed the same events (a
	// redelivery) in batches of another order never wait on each other's
	// inbox rows in a cycle.
	ids := slices.Compact(slices.Sorted(slices.Values(eventIDs)))
	rows := make([][]any, 0, len(ids))
	for _, id := range ids {
		rows = append(rows, []any{consumer, id, now})
	}
	values, args := sqldb.ValuesList(rows)
	marked, err := sqldb.QueryAll(ctx, tx, func(sc sqldb.Scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `INSERT INTO inbox (consumer, event_id, handled_at) VALUES `+values+`
		ON CONFLICT DO NOTHING RETURNING event_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("mark %d events handled: %w", len(rows), err)
	}
	for _, id := range marked {
		first[id] = true
	}
	return first, nil
}

// Message is an event as a consumer receives it.
type Message struct {
	// ID is the event id (Ce-Id), the key for MarkHandled.
	ID      string
	Subject string
	Type    string
	Source  string
	Time    time.Time
	Payload []byte
	// NumDelivered counts deliveries of this message to this consumer,
	// starting at 1.
	NumDelivered uint64
}

// Handler applies one message. A nil error acks it; an error marked with
// Permanent dead-letters it; any other error redelivers it after a backoff.
type Handler func(ctx context.Context, m Message) error

// BatchHandler applies the messages of a batch at once, in stream order,
// inside the batch's transaction (see ConsumerConfig.HandleBatch): set-based
// writes serve hundreds of events in the round trips one event would
// take. Any error rolls the batch back and hands it to the Handler, message
// by message, which decides what fails and how.
type BatchHandler func(ctx context.Context, ms []Message) error

// ConsumerConfig configures a durable consumer.
type ConsumerConfig struct {
	// Stream to consume from, e.g. "CUSTOMER".
	Stream string
	// Durable names the consumer; one per consuming service and purpose.
	Durable string
	// Service names the consuming service in the consumer's metrics
	// (service="loyalty"); servicehost.Host.Consume sets it.
	Service string
	// FilterSubjects limits the subjects delivered; empty means all.
	FilterSubjects []string
	// AckWait is how long a delivery may take before JetStream redelivers
	// it; longer than the slowest handling. Default 30s.
	AckWait time.Duration
	// MaxDeliver is how many deliveries a message gets before it is
	// dead-lettered. Default 5.
	MaxDeliver int
	// Backoff is the delay before the n-th redelivery after a handler
	// error; the last value repeats. Default 1s, 5s, 30s, 2m.
	Backoff []time.Duration
	// Concurrency is how many messages are handled at once. Default 1:
	// one after another, in stream order. More suits handlers whose events
	// are independent (or that order them themselves) and that spend most
	// of their time waiting on a database.
	Concurrency int
	// DeadLetterStream is how the DEADLETTER stream is made if this
	// consumer is the first to need it: the deployment's StreamOptions
	// (servicehost sets them).
	DeadLetterStream StreamOptions
	// DB, when set, is the database the handler writes to: the consumer
	// then handles up to BatchSize messages in one transaction of it (see
	// sqldb.DB.InBatch), each still marked in the inbox on its own, and
	// acks them once it has committed. A message whose handling fails is
	// handled again on its own and retried alone; the others commit.
	// servicehost.Host.Consume sets the service's database.
	DB *sqldb.DB
	// BatchSize is the most messages one transaction handles; 0 means
	// DefaultBatchSize, 1 handles every message in a transaction of its
	// own. Batches fill with what has arrived while the last one was being
	// handled: a trickle of messages goes one by one, a backlog in full
	// batches.
	BatchSize int
	// HandleBatch, when set, applies a batch of several messages at once
	// in place of calling the Handler for each; the Handler still handles
	// single messages and every batch HandleBatch fails.
	HandleBatch BatchHandler
}

// DefaultBatchSize is the batch size of a consumer that does not set one.
// Set-based batch handlers pay a few statements and one commit per batch:
// with 1,000 rather than 256, three services caught up on an import of
// 300,000 customers a quarter sooner.
const DefaultBatchSize = 1000

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	c.Concurrency = max(c.Concurrency, 1)
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.DB == nil {
		c.BatchSize = 1
	}
	return c
}

func (c ConsumerConfig) backoff(numDelivered uint64) time.Duration {
	i := int(numDelivered) - 1
	i = max(0, min(i, len(c.Backoff)-1))
	return c.Backoff[i]
}

// Consume runs h for every message of a durable pull consumer on cfg.Stream
// until ctx is done, then stops cleanly and returns nil. Messages that fail
// permanently, or on their MaxDeliver-th delivery, go to the DEADLETTER
// stream (subject deadletter.<durable>) with the reason, and can be
// replayed with ReplayDeadLetters.
func Consume(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, h Handler, logger *slog.Logger) error {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(slog.String("stream", cfg.Stream), slog.String("consumer", cfg.Durable))
	if cfg.Stream == "" || cfg.Durable == "" {
		return errors.New("consume: Stream and Durable are required")
	}
	consumerCfg := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       cfg.AckWait,
		// Unlimited on the server: the consumer itself dead-letters a
		// message once it has had cfg.MaxDeliver deliveries, and a server
		// limit would instead drop it silently if that ever failed.
		MaxDeliver: -1,
	}
	if len(cfg.FilterSubjects) == 1 {
		consumerCfg.FilterSubject = cfg.FilterSubjects[0]
	} else {
		consumerCfg.FilterSubjects = cfg.FilterSubjects
	}
	var cons jetstream.Consumer
	err := SetUp(ctx, logger, func() error {
		if err := prepareConsume(ctx, js, cfg, logger); err != nil {
			return err
		}
		var err error
		if cons, err = js.CreateOrUpdateConsumer(ctx, cfg.Stream, consumerCfg); err != nil {
			return fmt.Errorf("create consumer: %w", err)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("consume %s: %w", cfg.Durable, err)
	}
	metrics, err := newConsumerMetrics(cfg)
	if err != nil {
		return err
	}
	observed, err := observePending(cons, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { _ = observed.Unregister() }()
	c := &consumer{js: js, cfg: cfg, h: h, logger: logger, metrics: metrics,
		tracer: otel.Tracer(tracerName)}
	// JetStream calls back one message at a time; the callback queues it
	// for the first of Concurrency workers that is free, and waits while
	// the queue is full (with one worker, messages are handled in stream
	// order). A worker takes what is queued, up to BatchSize, as one
	// batch. Long-lived workers, not a goroutine per message: each new
	// goroutine grew its stack again on the way down to the database, a
	// few percent of a busy service's CPU.
	var (
		work     = make(chan jetstream.Msg, cfg.BatchSize-1)
		handling sync.WaitGroup
	)
	cc, err := cons.Consume(func(msg jetstream.Msg) { work <- msg },
		// A small buffer beyond one batch: buffered messages' AckWait is
		// already running, and a message that waits out its AckWait comes
		// again and counts one delivery more towards MaxDeliver.
		jetstream.PullMaxMessages(max(16, cfg.BatchSize)),
		// Short pulls with frequent heartbeats: a pull left waiting on a
		// node that stopped, or on a consumer leader that moved, misses
		// two heartbeats and is made again, on the new leader, within
		// about 2 s (the defaults, 30 s pulls with 15 s heartbeats, took
		// half a minute).
		jetstream.PullExpiry(consumePullExpiry),
		jetstream.PullHeartbeat(consumeHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if ctx.Err() == nil {
				logger.Warn("consume error", slog.Any("error", err))
			}
		}),
	)
	if err != nil {
		return fmt.Errorf("consume %s: %w", cfg.Durable, err)
	}
	for range cfg.Concurrency {
		handling.Go(func() {
			batch := make([]jetstream.Msg, 0, cfg.BatchSize)
			for msg := range work {
				batch = append(batch[:0], msg)
			fill:
				for len(batch) < cfg.BatchSize {
					select {
					case more, ok := <-work:
						if !ok {
							break fill
						}
						batch = append(batch, more)
					default:
						break fill
					}
				}
				c.handleBatch(ctx, batch)
			}
		})
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	close(work)
	handling.Wait()
	return nil
}

// prepareConsume makes what the consumer of cfg needs before it
// subscribes: the dead-letter stream, the stream it reads (made by its
// owner, which services start in any order, so waited for), and a durable
// whose filter subjects are cfg's.
// SetUp runs setUp, which makes streams or consumers, until it succeeds,
// backing off between tries. Setting up talks to JetStream, which may be
// restarting a node or electing a leader just then (a lookup times out):
// a service tries again until it works or it stops (ctx done: SetUp
// returns ctx's error), rather than stop. Only settings the cluster can
// never meet (ErrStreamSettings) are final.
func SetUp(ctx context.Context, logger *slog.Logger, setUp func() error) error {
	if logger == nil {
		logger = slog.Default()
	}
	for delay := consumeRetryMin; ; delay = min(2*delay, consumeRetryMax) {
		err := setUp()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrStreamSettings) {
			return err
		}
		logger.WarnContext(ctx, "JetStream set-up failed, retrying", slog.Any("error", err), slog.Duration("retry_in", delay))
		sleepCtx(ctx, delay)
	}
}

func prepareConsume(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, logger *slog.Logger) error {
	if err := EnsureStreamWith(ctx, js, cfg.DeadLetterStream, DeadLetterStream, DeadLetterSubjectPrefix+">"); err != nil {
		return err
	}
	if err := waitForStream(ctx, js, cfg.Stream, logger); err != nil {
		return err
	}
	return resetIfFiltersChanged(ctx, js, cfg, logger)
}

// Pull timing of Consume: how long a pull waits on the server, and how
// often the server says it is still there.
const (
	consumePullExpiry = 5 * time.Second
	consumeHeartbeat  = time.Second
)

// The bounds of Consume's backoff between attempts to set up.
const (
	consumeRetryMin = 100 * time.Millisecond
	consumeRetryMax = 5 * time.Second
)

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// waitForStream returns once the stream exists, checking every 100ms (and
// saying so in the log now and then) until ctx is done.
func waitForStream(ctx context.Context, js jetstream.JetStream, stream string, logger *slog.Logger) error {
	const every = 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		_, err := js.Stream(ctx, stream)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("look up stream %s: %w", stream, err)
		}
		if attempt%50 == 0 {
			logger.Info("waiting for stream to be created by its owner")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

type consumer struct {
	js      jetstream.JetStream
	cfg     ConsumerConfig
	h       Handler
	logger  *slog.Logger
	tracer  trace.Tracer
	metrics consumerMetrics
}

// delivery is a message being handled, with its span.
type delivery struct {
	msg    jetstream.Msg
	m      Message
	ctx    context.Context // the consumer's, with the message's span
	span   trace.Span
	logger *slog.Logger
}

// handleBatch handles msgs, in one transaction when there are several.
func (c *consumer) handleBatch(ctx context.Context, msgs []jetstream.Msg) {
	ds := make([]*delivery, 0, len(msgs))
	for _, msg := range msgs {
		// The time the batch takes does not count towards the message's
		// AckWait: a slow batch must not make JetStream deliver its
		// messages again, which would count towards MaxDeliver and
		// dead-letter events whose handling never failed.
		if len(msgs) > 1 {
			_ = msg.InProgress()
		}
		if d := c.start(ctx, msg); d != nil {
			ds = append(ds, d)
		}
	}
	c.runBatch(ctx, ds)
}

// start opens the span of msg and returns its delivery, or nil when msg
// is not to be handled (terminated or dead-lettered here).
func (c *consumer) start(ctx context.Context, msg jetstream.Msg) *delivery {
	md, err := msg.Metadata()
	if err != nil {
		c.logger.Error("message without metadata, terminating it", slog.Any("error", err))
		_ = msg.Term()
		return nil
	}
	m := toMessage(msg, md)
	if m.NumDelivered > 1 {
		c.metrics.redelivered.Add(ctx, 1, c.metrics.attrs)
	}
	logger := c.logger.With(slog.String("event_id", m.ID), slog.String("subject", m.Subject),
		slog.Uint64("delivery", m.NumDelivered))

	ctx = otel.GetTextMapPropagator().Extract(ctx, headerCarrier(msg.Headers()))
	ctx, span := c.tracer.Start(ctx, "consume "+m.Subject,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", m.Subject),
			attribute.String("messaging.consumer.group.name", c.cfg.Durable),
			attribute.String("messaging.message.id", m.ID),
		))

	// A message past its limit (its handler kept timing out) is not
	// handled again.
	if m.NumDelivered > uint64(c.cfg.MaxDeliver) {
		c.deadLetter(ctx, msg, fmt.Sprintf("exceeded %d deliveries", c.cfg.MaxDeliver), logger)
		span.End()
		return nil
	}
	return &delivery{msg: msg, m: m, ctx: ctx, span: span, logger: logger}
}

// runBatch handles ds in one transaction and acks them after it commits.
// When the handling of one fails, the batch rolls back: the messages
// before it are handled again as a batch, it alone (and retried alone,
// see finish), and the ones after it as the next batch. The inbox makes
// the handling again harmless, as it does for a redelivery.
func (c *consumer) runBatch(ctx context.Context, ds []*delivery) {
	if len(ds) > 1 && c.cfg.HandleBatch != nil && c.handleSet(ctx, ds) {
		return
	}
	for len(ds) > 0 {
		if len(ds) == 1 {
			c.handleAlone(ds[0])
			return
		}
		failed := -1
		err := c.cfg.DB.InBatch(ctx, func(bctx context.Context) error {
			for i, d := range ds {
				err := c.h(trace.ContextWithSpan(bctx, d.span), d.m)
				if err == nil {
					// A failure inside that the handler went on from
					// spoils the batch all the same.
					err = sqldb.BatchFailure(bctx)
				}
				if err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, d := range ds {
				c.finish(d, nil)
			}
			return
		}
		if ctx.Err() != nil {
			for _, d := range ds {
				c.finish(d, ctx.Err())
			}
			return
		}
		if failed < 0 {
			// The commit failed: nothing tells which message caused it.
			c.logger.WarnContext(ctx, "batch failed, handling its messages one by one", slog.Int("messages", len(ds)), slog.Any("error", err))
			for _, d := range ds {
				c.handleAlone(d)
			}
			return
		}
		c.runBatch(ctx, ds[:failed])
		c.handleAlone(ds[failed])
		ds = ds[failed+1:]
	}
}

// handleSet applies ds through the batch handler in one transaction and
// acks them after it commits; false when it failed and nothing was done.
// Its work is traced as one span linked to each message's own.
func (c *consumer) handleSet(ctx context.Context, ds []*delivery) bool {
	ms := make([]Message, len(ds))
	links := make([]trace.Link, len(ds))
	for i, d := range ds {
		ms[i] = d.m
		links[i] = trace.Link{SpanContext: d.span.SpanContext()}
	}
	ctx, span := c.tracer.Start(ctx, "consume batch "+c.cfg.Durable,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.consumer.group.name", c.cfg.Durable),
			attribute.Int("messaging.batch.message_count", len(ds)),
		))
	defer span.End()
	err := c.cfg.DB.InBatch(ctx, func(bctx context.Context) error {
		if err := sqldb.PlanPerCall(bctx); err != nil {
			return err
		}
		if err := c.cfg.HandleBatch(bctx, ms); err != nil {
			return err
		}
		return sqldb.BatchFailure(bctx)
	})
	if err != nil {
		span.RecordError(err)
		if ctx.Err() == nil {
			c.logger.DebugContext(ctx, "batch handler failed, handling its messages one by one", slog.Int("messages", len(ds)), slog.Any("error", err))
		}
		return false
	}
	for _, d := range ds {
		c.finish(d, nil)
	}
	return true
}

// handleAlone handles d in a transaction of its own.
func (c *consumer) handleAlone(d *delivery) {
	c.finish(d, c.h(d.ctx, d.m))
}

// finish acks d after its handling succeeded, or naks, retries or
// dead-letters it after err, and ends its span.
func (c *consumer) finish(d *delivery, err error) {
	ctx, msg, m, logger, span := d.ctx, d.msg, d.m, d.logger, d.span
	defer span.End()
	if err == nil {
		if err := msg.Ack(); err != nil {
			logger.WarnContext(ctx, "ack failed; message will be redelivered", slog.Any("error", err))
		}
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "handler failed")
	switch {
	case ctx.Err() != nil:
		// Shutting down: hand the message straight back for another
		// replica or the next start.
		_ = msg.Nak()
	case IsPermanent(err):
		logger.ErrorContext(ctx, "event failed permanently", slog.Any("error", err))
		c.deadLetter(ctx, msg, err.Error(), logger)
	case m.NumDelivered >= uint64(c.cfg.MaxDeliver):
		logger.ErrorContext(ctx, "event failed on last delivery", slog.Any("error", err))
		c.deadLetter(ctx, msg, fmt.Sprintf("failed %d deliveries: %v", m.NumDelivered, err), logger)
	default:
		delay := c.cfg.backoff(m.NumDelivered)
		logger.WarnContext(ctx, "event failed, will retry", slog.Any("error", err), slog.Duration("retry_in", delay))
		if err := msg.NakWithDelay(delay); err != nil {
			logger.WarnContext(ctx, "nak failed", slog.Any("error", err))
		}
	}
}

func toMessage(msg jetstream.Msg, md *jetstream.MsgMetadata) Message {
	h := msg.Headers()
	m := Message{
		ID:           h.Get(HeaderID),
		Subject:      msg.Subject(),
		Type:         h.Get(HeaderType),
		Source:       h.Get(HeaderSource),
		Payload:      msg.Data(),
		NumDelivered: md.NumDelivered,
		Time:         md.Timestamp.UTC(),
	}
	if m.ID == "" {
		m.ID = h.Get(HeaderMsgID)
	}
	if m.ID == "" {
		m.ID = fmt.Sprintf("%s:%d", md.Stream, md.Sequence.Stream)
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime)); err == nil {
		m.Time = t.UTC()
	}
	return m
}

// deadLetter copies msg to the dead-letter stream and terminates it; if the
// copy fails the message is redelivered later so nothing is lost.
func (c *consumer) deadLetter(ctx context.Context, msg jetstream.Msg, reason string, logger *slog.Logger) {
	md, _ := msg.Metadata()
	dl := nats.NewMsg(DeadLetterSubjectPrefix + c.cfg.Durable)
	dl.Data = msg.Data()
	for k, v := range msg.Headers() {
		// JetStream control headers (Nats-Msg-Id, Nats-Expected-*) would
		// make the dead-letter stream dedupe or reject the copy.
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		dl.Header[k] = append([]string(nil), v...)
	}
	dl.Header.Set(HeaderDeadLetterReason, reason)
	dl.Header.Set(HeaderDeadLetterSubject, msg.Subject())
	dl.Header.Set(HeaderDeadLetterConsumer, c.cfg.Durable)
	dl.Header.Set(HeaderDeadLetterStream, c.cfg.Stream)
	// One dead letter per stream message and consumer, even if Term is lost
	// and the message comes back.
	dlID := fmt.Sprintf("%s:%s:%d", c.cfg.Durable, md.Stream, md.Sequence.Stream)

	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if _, err := c.js.PublishMsg(pubCtx, dl, jetstream.WithMsgID(dlID)); err != nil {
		logger.ErrorContext(ctx, "dead-letter publish failed, will retry", slog.Any("error", err))
		_ = msg.NakWithDelay(c.cfg.backoff(uint64(len(c.cfg.Backoff))))
		return
	}
	c.metrics.deadLetters.Add(ctx, 1, c.metrics.attrs)
	logger.WarnContext(ctx, "event dead-lettered", slog.String("reason", reason))
	if err := msg.TermWithReason("dead-lettered"); err != nil {
		logger.WarnContext(ctx, "term failed", slog.Any("error", err))
	}
}

// ReplayDeadLetters republishes the dead letters of consumer durable to their
// original subjects and removes them from the dead-letter stream (see
// replay), returning how many it replayed.
func ReplayDeadLetters(ctx context.Context, js jetstream.JetStream, durable string) (int, error) {
	stream, err := js.Stream(ctx, DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("replay dead letters: %w", err)
	}
	subject := DeadLetterSubjectPrefix + durable
	replayed := 0
	for seq := uint64(1); ; {
		raw, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return replayed, nil
		}
		if err != nil {
			return replayed, fmt.Errorf("replay dead letters: read: %w", err)
		}
		seq = raw.Sequence + 1
		if err := replay(ctx, js, stream, raw); err != nil {
			return replayed, err
		}
		replayed++
	}
}

// resetIfFiltersChanged deletes the durable consumer of cfg when it exists
// with other filter subjects than cfg's.
//
// JetStream lets Consume update a durable's filter subjects in
// place, but the consumer keeps its position: events of a newly added
// subject that were published before the update (by a customer service
// upgraded first) lie behind it and would never be delivered. Deleted,
// the durable is created afresh by Consume and delivers the whole
// stream again, in order; the inbox makes the events handled before no-ops.
func resetIfFiltersChanged(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, logger *slog.Logger) error {
	cons, err := js.Consumer(ctx, cfg.Stream, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up consumer %s: %w", cfg.Durable, err)
	}
	cur := cons.CachedInfo().Config
	have := slices.Clone(cur.FilterSubjects)
	if cur.FilterSubject != "" {
		have = append(have, cur.FilterSubject)
	}
	want := slices.Clone(cfg.FilterSubjects)
	slices.Sort(have)
	slices.Sort(want)
	if slices.Equal(have, want) {
		return nil
	}
	if err := js.DeleteConsumer(ctx, cfg.Stream, cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("reset consumer %s: %w", cfg.Durable, err)
	}
	logger.InfoContext(ctx, "consumer filter subjects changed; consumer recreated to read the stream from the start",
		slog.Any("old_subjects", have), slog.Any("new_subjects", want))
	return nil
}

// ApplyRuns applies a batch in stream order, for a BatchHandler: each run
// of consecutive messages inRun selects is decoded and applied at once
// through applyRun (a message decode does not keep, ok false, is left out
// of it), every other message on its own through one, between the runs. A
// consumer whose backlog is mostly of one kind (an import's creations) gets
// set-based writes for it and keeps the order of the rest (merges,
// erasures).
func ApplyRuns[E any](ctx context.Context, ms []Message, inRun func(Message) bool, decode func(Message) (e E, ok bool, err error),
	applyRun func(context.Context, []E) error, one Handler) error {
	var run []E
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := applyRun(ctx, run)
		run = run[:0]
		return err
	}
	for _, m := range ms {
		if inRun(m) {
			e, ok, err := decode(m)
			if err != nil {
				return err
			}
			if ok {
				run = append(run, e)
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := one(ctx, m); err != nil {
			return err
		}
	}
	return flush()
}
