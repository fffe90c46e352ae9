// Package telemetry sets up OpenTelemetry for a process: W3C trace context
// propagation always, and OTLP trace and metric export over gRPC when the
// standard OTEL_EXPORTER_OTLP_* variables name an endpoint. Without one
// telemetry is off and costs nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Config says what the process is called in its telemetry. Where it goes
// is the exporters' own business: they read OTEL_EXPORTER_OTLP_ENDPOINT
// (the specification's URL form, "http://collector:4317"; http means
// without TLS), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_INSECURE,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_CERTIFICATE and the rest
// of the specification themselves, so every variable means what the
// specification says.
type Config struct {
	// ServiceName becomes the service.name resource attribute unless
	// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name it.
	ServiceName string
}

// endpointVariables turn export on: any one of them set.
var endpointVariables = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
}

// Enabled reports whether the environment asks for export: an OTLP
// endpoint is set and OTEL_SDK_DISABLED is not "true".
func Enabled() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	for _, v := range endpointVariables {
		if strings.TrimSpace(os.Getenv(v)) != "" {
			return true
		}
	}
	return false
}

// Setup installs the global propagator and, when Enabled, global tracer
// and meter providers exporting over OTLP gRPC. The returned shutdown
// flushes and stops the exporters; it is never nil.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	noop := func(context.Context) error { return nil }
	if !Enabled() {
		return noop, nil
	}

	// WithFromEnv comes last so that OTEL_SERVICE_NAME wins over the name
	// the process gives itself, as the specification asks.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return noop, fmt.Errorf("build otel resource: %w", err)
	}

	// No endpoint options: a WithEndpoint here would take the variable's
	// URL form for host:port and fail on it ("too many colons").
	traceExp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return noop, fmt.Errorf("create otlp trace exporter: %w", err)
	}
	metricExp, err := otlpmetricgrpc.New(ctx)
	if err != nil {
		return noop, errors.Join(fmt.Errorf("create otlp metric exporter: %w", err), traceExp.Shutdown(ctx))
	}

	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceExp), sdktrace.WithResource(res))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)), sdkmetric.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)

	return func(ctx context.Context) error {
		return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}, nil
}
