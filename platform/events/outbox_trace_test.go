package events_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestRelayContinuesTheKeptTrace: an event another process wrote (so the
// relay reads it from the outbox table, not from memory) is published
// under a producer span whose parent is the span that wrote it, and its
// message carries that publish span's context; an event written outside
// any trace is published without a span or a traceparent; and a publish
// that fails ends its span as failed.
//
// Not parallel: the relay takes the global tracer provider, which this
// test replaces while no other test of the package runs.
func TestRelayContinuesTheKeptTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})
	url := testinfra.EmbeddedNATS(t)

	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			exp.Reset()
			b, db, o := newRelay(t, url, d.URL)
			writer := events.NewOutbox(db, b.js, nil) // another process's, never relaying
			sub := b.subscribe(t, b.subject+".>")

			ctx, span := tp.Tracer("test").Start(context.Background(), "record purchase")
			traced := newEvent(t, ctx, b.subject+".purchase.recorded", "traced")
			span.End()
			untraced := newEvent(t, context.Background(), b.subject+".job.done", "untraced")
			enqueue(t, db, writer, traced, untraced)
			if n, err := o.RelayOnce(context.Background()); err != nil || n != 2 {
				t.Fatalf("relay = %d, %v; want 2, nil", n, err)
			}

			var publish tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.Name == "publish "+traced.Subject {
					publish = s
				}
				if s.Name == "publish "+untraced.Subject {
					t.Errorf("the event written outside a trace got span %s", s.SpanContext.SpanID())
				}
			}
			if !publish.SpanContext.IsValid() {
				t.Fatalf("no ended publish span among %d spans", len(exp.GetSpans()))
			}
			writerSC := span.SpanContext()
			if publish.SpanKind != trace.SpanKindProducer || publish.Parent.SpanID() != writerSC.SpanID() ||
				publish.SpanContext.TraceID() != writerSC.TraceID() || !publish.Parent.IsRemote() {
				t.Errorf("publish span %s of kind %s, parent %s (remote %v) in trace %s; want a producer, child of the writer's %s in trace %s",
					publish.SpanContext.SpanID(), publish.SpanKind, publish.Parent.SpanID(), publish.Parent.IsRemote(),
					publish.SpanContext.TraceID(), writerSC.SpanID(), writerSC.TraceID())
			}
			if publish.Status.Code == codes.Error {
				t.Errorf("publish span status = %v", publish.Status)
			}
			for k, v := range map[string]string{"messaging.system": "nats", "messaging.destination.name": traced.Subject, "messaging.message.id": traced.ID} {
				if got := attr(publish, k); got != v {
					t.Errorf("publish span attribute %s = %q, want %q", k, got, v)
				}
			}

			want := map[string]string{
				traced.ID:   "00-" + writerSC.TraceID().String() + "-" + publish.SpanContext.SpanID().String() + "-01",
				untraced.ID: "",
			}
			for range 2 {
				m := next(t, sub)
				id := m.Header.Get(events.HeaderID)
				if got := m.Header.Get(events.HeaderTraceParent); got != want[id] {
					t.Errorf("event %s: traceparent %q, want %q", id, got, want[id])
				}
			}

			// No stream takes this subject: the publish fails, and says so.
			exp.Reset()
			ctx, span = tp.Tracer("test").Start(context.Background(), "record purchase")
			lost := newEvent(t, ctx, "nostream"+b.subject+".x", "lost")
			span.End()
			enqueue(t, db, writer, lost)
			if _, err := o.RelayOnce(context.Background()); err == nil {
				t.Fatal("publishing to a subject no stream takes succeeded")
			}
			var failed tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.Name == "publish "+lost.Subject {
					failed = s
				}
			}
			if failed.Status.Code != codes.Error || len(failed.Events) == 0 {
				t.Errorf("failed publish span: status %v, %d events; want an error recorded", failed.Status, len(failed.Events))
			}
		})
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
