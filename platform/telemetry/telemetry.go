// Package telemetry sets up OpenTelemetry for a process: W3C trace context
// propagation always, OTLP trace and metric export over gRPC when the
// standard OTEL_EXPORTER_OTLP_* variables name an endpoint, and Prometheus
// metrics served on an admin address (see Metrics) when the process asks.
// Without either, telemetry is off and costs nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
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
	// Prometheus gives the process's meter provider a Prometheus reader,
	// served by MetricsHandler, and turns on the Go runtime metrics; for a
	// process that serves its metrics (see Metrics and ServesMetrics).
	Prometheus bool
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

// Setup installs the global propagator and, when Enabled, a global tracer
// provider exporting over OTLP gRPC. It installs a global meter provider
// when Enabled (exporting over OTLP) or cfg.Prometheus (read by
// MetricsHandler), or both, with the Go runtime metrics. The returned
// shutdown flushes and stops the exporters; it is never nil.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	noop := func(context.Context) error { return nil }
	export := Enabled()
	if !export && !cfg.Prometheus {
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

	var (
		readers []sdkmetric.Option
		stops   []func(context.Context) error
	)
	stop := func(ctx context.Context) error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i](ctx))
		}
		return errors.Join(errs...)
	}
	if export {
		// No endpoint options: a WithEndpoint here would take the
		// variable's URL form for host:port and fail on it ("too many
		// colons").
		traceExp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return noop, fmt.Errorf("create otlp trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceExp), sdktrace.WithResource(res))
		stops = append(stops, tp.Shutdown)
		metricExp, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return noop, errors.Join(fmt.Errorf("create otlp metric exporter: %w", err), stop(ctx))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
		otel.SetTracerProvider(tp)
	}
	var reg *prometheus.Registry
	if cfg.Prometheus {
		exp, r, err := newPrometheusReader()
		if err != nil {
			return noop, errors.Join(err, stop(ctx))
		}
		readers, reg = append(readers, sdkmetric.WithReader(exp)), r
	}
	mp := sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res))...)
	stops = append(stops, mp.Shutdown)
	if err := runtime.Start(runtime.WithMeterProvider(mp)); err != nil {
		return noop, errors.Join(fmt.Errorf("start go runtime metrics: %w", err), stop(ctx))
	}
	otel.SetMeterProvider(mp)
	if reg != nil {
		registry.Store(reg)
		stops = append(stops, func(context.Context) error {
			registry.CompareAndSwap(reg, nil)
			return nil
		})
	}
	return stop, nil
}
