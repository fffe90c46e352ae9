package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/textguard"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// IngestDurable is the durable consumer of the INGEST stream.
const IngestDurable = "interaction-ingest"

// Ingest tuning: a fetch takes up to ingestBatch messages, waiting at most
// ingestWait for a batch to fill, so a trickle is recorded promptly and a
// flood in large transactions.
const (
	ingestBatch = 2000
	ingestWait  = 20 * time.Millisecond
	// ingestRetryDelay is how long a batch that failed (database or
	// customer service down) waits before it is delivered again.
	ingestRetryDelay = 2 * time.Second
	// defaultIngestWorkers batches are recorded at once, while the
	// fetcher fills the next. More did not ingest faster on two cores
	// (PostgreSQL is the limit) and kept more messages unacked.
	defaultIngestWorkers = 2
)

// Ingester is what the NATS ingest needs of the use cases.
type Ingester interface {
	Ingest(ctx context.Context, evs []domain.IngestEvent) ([]domain.IngestResult, error)
}

// AuthorizationHeader is the header of an ingest message carrying its
// publisher's identity, as an HTTP request or a gRPC call carries it:
// "Bearer <token>", the token of an integration (traded for its API key at
// the access service) or of anyone else the ingest RPCs admit.
const AuthorizationHeader = "Authorization"

// Authorizer decides whether the holder of an Authorization value may
// ingest events, by the rule of the ingest RPCs, as of published: the time
// the stream stored the message. A message accepted while its publisher's
// token was valid is recorded however late it is read (a consumer down for
// longer than a token lives loses nothing); the error says why not, in
// words fit for the publisher.
type Authorizer func(ctx context.Context, authorization string, published time.Time) error

// IngestConsumer reads the INGEST stream and records its events in
// batches; it returns nil when ctx is done.
type IngestConsumer struct {
	JS     jetstream.JetStream
	NC     *nats.Conn
	Uc     Ingester
	Logger *slog.Logger
	// Authorize checks each message's AuthorizationHeader. A message it
	// refuses is never recorded: it is terminated with the reason, logged,
	// counted (guanxi.ingest.refused) and answered as rejected on field
	// "authorization". Anyone able to publish on ingest.> would otherwise
	// bypass the checks of the ingest RPCs. Required.
	Authorize Authorizer
	// Workers record batches side by side while one fetcher keeps pulling
	// the next, so fetching, decoding and committing overlap; 0 means
	// defaultIngestWorkers. Events are independent and idempotent, so
	// their order across batches does not matter.
	Workers int
	// Streams is how the INGEST stream is made (the deployment's
	// replicas and storage).
	Streams events.StreamOptions
	// RetryDelay is how long a failed batch waits before it is delivered
	// again; 0 means ingestRetryDelay (tests shorten it).
	RetryDelay time.Duration

	refused metric.Int64Counter
}

// Run ensures the stream and its durable consumer, then ingests until ctx
// is done.
func (c IngestConsumer) Run(ctx context.Context) error {
	if c.Authorize == nil {
		return errors.New("ingest: no Authorize: events on NATS would be recorded for anyone who can publish")
	}
	refused, err := otel.Meter("github.com/guanxi-crm/guanxi/services/interaction").Int64Counter("guanxi.ingest.refused",
		metric.WithDescription("Ingest messages on NATS refused for their publisher's identity"), metric.WithUnit("{message}"))
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	c.refused = refused
	workers := c.Workers
	if workers <= 0 {
		workers = defaultIngestWorkers
	}
	var cons jetstream.Consumer
	err = events.SetUp(ctx, c.Logger, func() error {
		if err := events.EnsureStreamWith(ctx, c.JS, c.Streams, interactionv1.IngestStream, interactionv1.IngestStreamSubjects); err != nil {
			return err
		}
		var err error
		cons, err = c.JS.CreateOrUpdateConsumer(ctx, interactionv1.IngestStream, jetstream.ConsumerConfig{
			Durable:   IngestDurable,
			AckPolicy: jetstream.AckExplicitPolicy,
			AckWait:   2 * time.Minute,
			// One batch per worker, the one the fetcher holds, and room for
			// acks still on their way, so a full pipeline never stalls.
			MaxAckPending: (workers + 2) * ingestBatch,
		})
		if err != nil {
			return fmt.Errorf("consumer: %w", err)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("ingest: %w", err)
	}
	batches := make(chan []jetstream.Msg)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for msgs := range batches {
				c.handle(ctx, msgs)
			}
		})
	}
	c.fetch(ctx, cons, batches)
	close(batches)
	wg.Wait()
	return nil
}

// fetch pulls messages until ctx is done and hands them to the workers in
// batches of at most ingestBatch. While every worker is busy it keeps
// pulling into the batch it holds, so a flood is recorded in full batches
// and a trickle as soon as a worker is free. Fetching never waits for a
// commit, so a worker that finishes finds its next batch already fetched
// instead of fetching it then, as a fetch-then-record loop per worker
// did, adding every fetch's wait to its batch's time.
func (c IngestConsumer) fetch(ctx context.Context, cons jetstream.Consumer, batches chan<- []jetstream.Msg) {
	var held []jetstream.Msg
	defer func() {
		// Not recorded: let the next consumer have them now rather than
		// after AckWait.
		for _, m := range held {
			_ = m.Nak()
		}
	}()
	for ctx.Err() == nil {
		if len(held) < ingestBatch {
			batch, err := cons.Fetch(ingestBatch-len(held), jetstream.FetchMaxWait(ingestWait))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				c.Logger.WarnContext(ctx, "ingest fetch failed", slog.Any("error", err))
				sleep(ctx, time.Second)
				continue
			}
			for m := range batch.Messages() {
				held = append(held, m)
			}
		}
		if len(held) == 0 {
			continue
		}
		if len(held) < ingestBatch {
			select {
			case batches <- held:
				held = nil
			default:
				// Every worker is busy: fill the batch further.
			}
			continue
		}
		select {
		case batches <- held:
			held = nil
		case <-ctx.Done():
		}
	}
}

// handle records one batch, then reports each event's result to its
// reply subject and acks it; a batch that failed is redelivered whole.
func (c IngestConsumer) handle(ctx context.Context, msgs []jetstream.Msg) {
	msgs = c.authorized(ctx, msgs)
	if len(msgs) == 0 {
		return
	}
	evs := make([]domain.IngestEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = DecodeIngestEvent(m.Headers(), m.Data())
	}
	results, err := c.Uc.Ingest(ctx, evs)
	if err != nil {
		c.Logger.WarnContext(ctx, "ingest batch failed, will be redelivered", slog.Int("events", len(msgs)), slog.Any("error", err))
		delay := c.RetryDelay
		if delay <= 0 {
			delay = ingestRetryDelay
		}
		for _, m := range msgs {
			_ = m.NakWithDelay(delay)
		}
		return
	}
	for i, m := range msgs {
		if reply := m.Headers().Get(interactionv1.IngestReplyHeader); reply != "" && c.NC != nil {
			if b, err := proto.Marshal(protoconv.ToProtoIngestResult(0, results[i])); err == nil {
				_ = c.NC.Publish(reply, b)
			}
		}
		// Recorded, duplicate or rejected: the message is done either way;
		// a rejection is reported, not retried. The ack is published
		// without waiting for the server's answer: should it be lost, the
		// event is delivered again and found as a duplicate.
		if err := m.Ack(); err != nil && !errors.Is(err, context.Canceled) {
			c.Logger.WarnContext(ctx, "ingest ack failed", slog.Any("error", err))
		}
	}
}

// authorized returns the messages of msgs whose publisher may ingest, and
// refuses the others. A publisher sends many events with one token, so each
// distinct Authorization value of the batch is checked once per second of
// publishing.
func (c IngestConsumer) authorized(ctx context.Context, msgs []jetstream.Msg) []jetstream.Msg {
	type check struct {
		authorization string
		second        int64
	}
	checked := map[check]error{}
	kept := msgs[:0:0]
	for _, m := range msgs {
		published := time.Now()
		if md, err := m.Metadata(); err == nil {
			published = md.Timestamp
		}
		key := check{m.Headers().Get(AuthorizationHeader), published.Unix()}
		err, seen := checked[key]
		if !seen {
			err = c.Authorize(ctx, key.authorization, published)
			checked[key] = err
		}
		if err != nil {
			c.refuse(ctx, m, err)
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// refuse answers m as rejected for its identity and terminates it, so it is
// neither recorded nor delivered again.
func (c IngestConsumer) refuse(ctx context.Context, m jetstream.Msg, why error) {
	ev := DecodeIngestEvent(m.Headers(), m.Data())
	reason := why.Error()
	// Who published it is not known, so the log names what it claims
	// to be, never the token.
	c.Logger.WarnContext(ctx, "ingest message refused: no valid identity allowed to ingest",
		slog.String("subject", m.Subject()), slog.String("source", ev.Source),
		slog.String("external_id", ev.ExternalID), slog.String("reason", reason))
	if c.refused != nil {
		c.refused.Add(ctx, 1, metric.WithAttributes(attribute.String("subject", m.Subject())))
	}
	if reply := m.Headers().Get(interactionv1.IngestReplyHeader); reply != "" && c.NC != nil {
		r := domain.IngestResult{Source: ev.Source, ExternalID: ev.ExternalID, Outcome: domain.OutcomeRejected,
			Field: "authorization", Reason: reason}
		if b, err := proto.Marshal(protoconv.ToProtoIngestResult(0, r)); err == nil {
			_ = c.NC.Publish(reply, b)
		}
	}
	if err := m.TermWithReason("refused: " + reason); err != nil && !errors.Is(err, context.Canceled) {
		c.Logger.WarnContext(ctx, "ingest term failed", slog.Any("error", err))
	}
}

// DecodeIngestEvent reads one message of the INGEST stream: protobuf when
// its Content-Type says so, protojson otherwise. A message that does not
// decode becomes an event that is rejected with the reason.
func DecodeIngestEvent(h nats.Header, data []byte) domain.IngestEvent {
	var p interactionv1.IngestEvent
	var err error
	if strings.Contains(h.Get("Content-Type"), "protobuf") {
		err = proto.Unmarshal(data, &p)
	} else {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, &p)
	}
	if err != nil {
		ev := domain.IngestEvent{}
		ev.Violations.Add("message", "does not decode as an IngestEvent: "+err.Error())
		return ev
	}
	// What every gRPC server refuses (see textguard) is refused here too:
	// a NUL in an order id failed on PostgreSQL and was kept by SQLite.
	if bad := textguard.NULFields(p.ProtoReflect(), 1); len(bad) > 0 {
		ev := domain.IngestEvent{}
		ev.Violations.Add(bad[0], textguard.Description)
		return ev
	}
	return protoconv.ToDomainIngestEvent(&p)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
