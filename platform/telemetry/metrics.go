package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Metrics is the part of a process's configuration that says where it
// serves its Prometheus metrics: an admin address of its own, never the
// public edge, so that nothing outside the cluster scrapes it. Every
// service and the gateway embed it in their Config, so it is read as
// GUANXI_<NAME>_METRICS_ADDR.
type Metrics struct {
	// MetricsAddr is where the process serves Prometheus metrics at
	// /metrics (e.g. ":9464"): RED metrics per RPC and REST route, Go
	// runtime, database pool, outbox, consumers, dead letters and jobs.
	// Empty turns metrics off, and then they cost nothing.
	MetricsAddr string `env:"METRICS_ADDR"`
}

// MetricsAddress returns where the process serves metrics, "" for off.
func (m Metrics) MetricsAddress() string { return m.MetricsAddr }

// ServesMetrics reports whether cfg, a process's configuration, asks for
// Prometheus metrics: it embeds Metrics with an address. process.Run asks
// it before the process starts, so that the meter provider Setup installs
// has a Prometheus reader exactly when something serves it.
func ServesMetrics(cfg any) bool {
	m, ok := cfg.(interface{ MetricsAddress() string })
	return ok && m.MetricsAddress() != ""
}

// ServiceKey is the attribute naming the guanxi service a metric is about
// (service="loyalty"). guanxi's own metrics carry it, so that the series of
// the services `guanxi dev` runs in one process stay apart, and the same
// queries work there and on a cluster.
const ServiceKey = attribute.Key("service")

// registry is the Prometheus registry of the meter provider Setup
// installed with Config.Prometheus; nil before, or without.
var registry atomic.Pointer[prometheus.Registry]

// newPrometheusReader returns a reader exporting to a fresh registry, and
// the registry. Names follow Prometheus' conventions: a unit suffix
// (_seconds) and _total on counters, so guanxi names its instruments
// without them ("guanxi.dead_letters" is exposed as
// guanxi_dead_letters_total, "guanxi.outbox.oldest_event_age" with unit
// "s" as guanxi_outbox_oldest_event_age_seconds, and a unit in braces such
// as "{event}" adds nothing). Scope labels are left out: the metric names
// say where they come from. Every series carries the process's
// service.name as service_name ("loyalty"; "guanxi" for `guanxi dev`), so
// that the Go runtime and pool series of one service's pods can be picked
// out wherever Prometheus scrapes them.
func newPrometheusReader() (*otelprom.Exporter, *prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(),
		otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey)))
	if err != nil {
		return nil, nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	return exp, reg, nil
}

// MetricsHandler serves the process's metrics in Prometheus' exposition
// format: those of the meter provider Setup installed with
// Config.Prometheus. Without one it answers 503, saying metrics are off.
func MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := registry.Load()
		if reg == nil {
			http.Error(w, "metrics are off in this process (telemetry.Setup without Prometheus)", http.StatusServiceUnavailable)
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{}}).ServeHTTP(w, r)
	})
}

// slogPrinter logs the exporter's collection errors (a callback failing)
// instead of failing the scrape with them.
type slogPrinter struct{}

func (slogPrinter) Println(v ...any) {
	slog.Warn("metrics collection", slog.Any("error", fmt.Sprint(v...)))
}

// metricsShutdownTimeout bounds how long a metrics server waits for a
// scrape in flight once its context is done.
const metricsShutdownTimeout = 5 * time.Second

// ServeMetrics serves MetricsHandler at /metrics on lis until ctx is done,
// then closes it. It returns nil after a clean stop.
func ServeMetrics(ctx context.Context, lis net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metricsShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown metrics: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// ListenMetrics binds addr for ServeMetrics, saying what the address is
// for when it cannot.
func ListenMetrics(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics cannot listen on %s: %w", addr, err)
	}
	return lis, nil
}
