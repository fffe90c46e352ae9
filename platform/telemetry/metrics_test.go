package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

// TestPrometheusNames: with Prometheus on, instruments named as guanxi
// names them are exposed under the names the alert rules use (unit suffix,
// _total on counters, nothing for a unit in braces), with the Go runtime
// metrics and service_name on every series; served on a listener of its
// own by ServeMetrics.
func TestPrometheusNames(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_SERVICE_NAME", "")
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "loyalty", Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = shutdown(context.Background())
		otel.SetMeterProvider(noop.NewMeterProvider())
	})
	meter := otel.Meter("test")
	dead, _ := meter.Int64Counter("guanxi.dead_letters", metric.WithUnit("{message}"))
	dead.Add(context.Background(), 2, metric.WithAttributes(telemetry.ServiceKey.String("loyalty")))
	age, _ := meter.Float64Gauge("guanxi.outbox.oldest_event_age", metric.WithUnit("s"))
	age.Record(context.Background(), 1.5)

	ctx, cancel := context.WithCancel(context.Background())
	lis, err := telemetry.ListenMetrics(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- telemetry.ServeMetrics(ctx, lis) }()
	resp, err := http.Get("http://" + lis.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`guanxi_dead_letters_total{service="loyalty",service_name="loyalty"} 2`,
		`guanxi_outbox_oldest_event_age_seconds{service_name="loyalty"} 1.5`,
		`go_goroutine_count{service_name="loyalty"} `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %q:\n%s", want, body)
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServeMetrics stopped with %v", err)
	}
}

// TestMetricsOffAnswers503: a process that did not set Prometheus up
// says so rather than serving an empty page.
func TestMetricsOffAnswers503(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	rec := &recorder{header: http.Header{}}
	telemetry.MetricsHandler().ServeHTTP(rec, &http.Request{Method: "GET"})
	if rec.code != http.StatusServiceUnavailable {
		t.Errorf("metrics without Prometheus answered %d, want 503", rec.code)
	}
	if !telemetry.ServesMetrics(struct{ telemetry.Metrics }{telemetry.Metrics{MetricsAddr: ":9464"}}) ||
		telemetry.ServesMetrics(struct{ telemetry.Metrics }{}) || telemetry.ServesMetrics(42) {
		t.Error("ServesMetrics does not follow the embedded address")
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }
