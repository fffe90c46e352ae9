package telemetry_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

// These tests change OpenTelemetry globals, so they do not run in parallel.

func TestSetupWithoutEndpointOnlyPropagates(t *testing.T) {
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fields := otel.GetTextMapPropagator().Fields()
	want := map[string]bool{"traceparent": false, "baggage": false}
	for _, f := range fields {
		if _, ok := want[f]; ok {
			want[f] = true
		}
	}
	for f, ok := range want {
		if !ok {
			t.Errorf("propagator does not handle %s (fields %v)", f, fields)
		}
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSetupWithEndpoint(t *testing.T) {
	// The exporters connect lazily, so an unreachable loopback endpoint is fine.
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{
		ServiceName: "test", OTLPEndpoint: "127.0.0.1:1", Insecure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	if !span.SpanContext().IsValid() {
		t.Error("global tracer provider does not produce real spans")
	}
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = shutdown(ctx) // export to the closed port fails; only the call matters here
}
