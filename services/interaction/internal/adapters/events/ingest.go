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
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
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
)

// Ingester is what the NATS ingest needs of the use cases.
type Ingester interface {
	Ingest(ctx context.Context, evs []domain.IngestEvent) ([]domain.IngestResult, error)
}

// IngestConsumer reads the INGEST stream and records its events in
// batches; it returns nil when ctx is done.
type IngestConsumer struct {
	JS     jetstream.JetStream
	NC     *nats.Conn
	Uc     Ingester
	Logger *slog.Logger
	// Workers fetch and record batches side by side, so one batch is
	// decoded and checked while another commits; 0 means 2. Events are
	// independent and idempotent, so their order across batches does not
	// matter.
	Workers int
}

// Run ensures the stream and its durable consumer, then ingests until ctx
// is done.
func (c IngestConsumer) Run(ctx context.Context) error {
	if err := events.EnsureStream(ctx, c.JS, interactionv1.IngestStream, interactionv1.IngestStreamSubjects); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("ingest: %w", err)
	}
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, interactionv1.IngestStream, jetstream.ConsumerConfig{
		Durable:       IngestDurable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       2 * time.Minute,
		MaxAckPending: 4 * ingestBatch,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("ingest: consumer: %w", err)
	}
	workers := c.Workers
	if workers <= 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx, cons)
		}()
	}
	wg.Wait()
	return nil
}

// work fetches and records batches until ctx is done.
func (c IngestConsumer) work(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(ingestBatch, jetstream.FetchMaxWait(ingestWait))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.Logger.WarnContext(ctx, "ingest fetch failed", slog.Any("error", err))
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		c.handle(ctx, msgs)
	}
}

func (c IngestConsumer) handle(ctx context.Context, msgs []jetstream.Msg) {
	evs := make([]domain.IngestEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = DecodeIngestEvent(m.Headers(), m.Data())
	}
	results, err := c.Uc.Ingest(ctx, evs)
	if err != nil {
		c.Logger.WarnContext(ctx, "ingest batch failed, will be redelivered", slog.Int("events", len(msgs)), slog.Any("error", err))
		for _, m := range msgs {
			_ = m.NakWithDelay(ingestRetryDelay)
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
		// a rejection is reported, not retried.
		if err := m.Ack(); err != nil && !errors.Is(err, context.Canceled) {
			c.Logger.WarnContext(ctx, "ingest ack failed", slog.Any("error", err))
		}
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
