// Package events carries domain events over NATS JetStream the way DESIGN.md
// section 6 describes: a transactional outbox with a relay on the publishing
// side, idempotent durable consumers with backoff and a dead-letter stream
// on the consuming side, and W3C trace context in message headers so a trace
// crosses the bus.
package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

// Header names set on every published event (CloudEvents binary mode plus
// JetStream's dedupe id).
const (
	HeaderMsgID       = jetstream.MsgIDHeader // "Nats-Msg-Id"
	HeaderID          = "Ce-Id"
	HeaderType        = "Ce-Type"
	HeaderSource      = "Ce-Source"
	HeaderTime        = "Ce-Time"
	HeaderSpecVersion = "Ce-Specversion"
	HeaderTraceParent = "traceparent"
)

// tracerName is the instrumentation scope of the relay's and the
// consumers' spans.
const tracerName = "github.com/guanxi-crm/guanxi/platform/events"

// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values; a
// relay that re-publishes within it (after a crash between publish and
// marking sent) is deduplicated by the server.
const DuplicateWindow = 2 * time.Minute

// Event is a domain event ready to be written to the outbox.
type Event struct {
	// ID is a UUIDv7: unique, and sorting by it sorts by creation time.
	ID string
	// Subject is the NATS subject, <service>.<aggregate>.<event>.
	Subject string
	// Type is the full name of the payload's proto message.
	Type string
	// Source names the producer, e.g. "guanxi/customer".
	Source string
	// Time is when the event happened (UTC).
	Time time.Time
	// Payload is the proto-encoded message.
	Payload []byte
	// TraceParent is the W3C traceparent of the producing span, if any.
	TraceParent string
}

// NewEvent builds an Event for msg, carrying the trace in ctx.
func NewEvent(ctx context.Context, source, subject string, msg proto.Message) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("new event id: %w", err)
	}
	payload, err := proto.Marshal(msg)
	if err != nil {
		return Event{}, fmt.Errorf("marshal event %s: %w", subject, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	return Event{
		ID:      id.String(),
		Subject: subject,
		Type:    string(proto.MessageName(msg)),
		Source:  source,
		// Microseconds are what the outbox stores; truncating here keeps
		// the event identical before and after a round trip.
		Time:        time.Now().UTC().Truncate(time.Microsecond),
		Payload:     payload,
		TraceParent: carrier.Get(HeaderTraceParent),
	}, nil
}

// NATSMsg renders ev as a NATS message with the event headers
// (Nats-Msg-Id and Ce-Id both ev.ID), as the outbox relay publishes it.
func (ev Event) NATSMsg() *nats.Msg {
	m := nats.NewMsg(ev.Subject)
	m.Data = ev.Payload
	m.Header.Set(HeaderMsgID, ev.ID)
	m.Header.Set(HeaderID, ev.ID)
	m.Header.Set(HeaderType, ev.Type)
	m.Header.Set(HeaderSource, ev.Source)
	m.Header.Set(HeaderTime, ev.Time.UTC().Format(time.RFC3339Nano))
	m.Header.Set(HeaderSpecVersion, "1.0")
	if ev.TraceParent != "" {
		m.Header.Set(HeaderTraceParent, ev.TraceParent)
	}
	return m
}

// Publish publishes ev directly (not through an outbox), for producers whose
// events need no transactional guarantee, such as tools and tests. A
// duplicate within the dedupe window counts as success.
func Publish(ctx context.Context, js jetstream.JetStream, ev Event) error {
	if _, err := js.PublishMsg(ctx, ev.NATSMsg(), jetstream.WithMsgID(ev.ID)); err != nil {
		return fmt.Errorf("publish %s: %w", ev.Subject, err)
	}
	return nil
}

// headerCarrier adapts nats.Header, whose keys are case-sensitive, to the
// OpenTelemetry propagator.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (an undecodable payload, an
// event that violates an invariant): Consume dead-letters the message at
// once instead of redelivering it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
