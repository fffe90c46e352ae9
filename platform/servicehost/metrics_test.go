package servicehost_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// TestServesMetrics: a host given a metrics address serves the process's
// metrics there once it runs, its outbox, pool and jobs among them labelled
// with its name, and a second host cannot take the same address. Not
// parallel: it installs the global meter provider.
func TestServesMetrics(t *testing.T) {
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "test", Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = shutdown(context.Background())
		otel.SetMeterProvider(noop.NewMeterProvider())
	})
	nats := testinfra.EmbeddedNATS(t)
	opts := options(t, nats)
	opts.Name, opts.MetricsAddr = "metered", testkit.FreeAddr(t)
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	h.Every("tick", time.Hour, func(context.Context) error { return nil })
	h.Go("mark", func(ctx context.Context) error { close(ran); <-ctx.Done(); return nil })

	second := options(t, nats)
	second.MetricsAddr = opts.MetricsAddr
	if h2, err := servicehost.Start(context.Background(), second, quiet()); err == nil || !strings.Contains(err.Error(), "metrics cannot listen on "+opts.MetricsAddr) {
		if h2 != nil {
			_ = h2.Close()
		}
		t.Errorf("a second host on the metrics address started: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := runHost(ctx, h)
	<-ran
	var body string
	testinfra.Eventually(t, 10*time.Second, "the host's metrics", func() bool {
		resp, err := http.Get("http://" + opts.MetricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, `guanxi_job_interval_seconds{job="tick",service="metered"`)
	})
	for _, want := range []string{
		`guanxi_outbox_pending_events{service="metered",service_name="test"} 0`,
		`guanxi_outbox_oldest_event_age_seconds{service="metered",service_name="test"} 0`,
		`db_client_connection_count{db_client_connection_pool_name="metered",db_client_connection_state="idle"`,
		`guanxi_job_interval_seconds{job="tick",service="metered",service_name="test"} 3600`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q:\n%s", want, body)
		}
	}
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + opts.MetricsAddr + "/metrics"); err == nil {
		t.Error("the metrics address still answers after Run")
	}
}
