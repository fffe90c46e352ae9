package suite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// metricsList is the one list of the metrics guanxi exposes, which the
// rules and dashboards are checked against (deploy/check).
const metricsList = "../../../../deploy/observability/metrics.txt"

// TestMetricsAfterAPurchase runs the suite as `guanxi dev` does, with its
// metrics, and makes one purchase while the interaction stream refuses new
// events and loyalty's purchases consumer is paused: the interaction
// outbox backs up (pending > 0, the oldest event ageing), drains once the
// stream takes events again, the consumer's pending messages rise and
// fall back to 0 once it is resumed, and the points are counted. A
// malformed purchase event is dead-lettered and counted. At the end
// /metrics shows every metric of deploy/observability/metrics.txt, and the
// REST metrics name routes by their template, never by a path with ids.
func TestMetricsAfterAPurchase(t *testing.T) {
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "guanxi", Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = shutdown(context.Background())
		otel.SetMeterProvider(noop.NewMeterProvider())
	})
	e, stop := startSuiteLogging(t, t.TempDir(), slog.New(slog.DiscardHandler))
	defer stop()
	if e.Metrics == "" {
		t.Fatal("the suite serves no metrics")
	}
	api := adminClient(t, e)
	js := opsJetStream(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	interactionOutbox := series{"guanxi_outbox_pending_events", `service="interaction"`}
	interactionAge := series{"guanxi_outbox_oldest_event_age_seconds", `service="interaction"`}
	purchasesPending := series{"guanxi_consumer_pending_messages", `durable="loyalty-purchases"`, `service="loyalty"`, `stream="INTERACTION"`}
	credited := series{"guanxi_loyalty_points_credited_total"}
	// The consumers start once NATS is ready, maybe after the suite is.
	before := waitMetrics(t, e.Metrics, "the outbox and the consumer at rest", func(m metrics) bool {
		for _, s := range []series{interactionOutbox, purchasesPending} {
			if v, ok := m.get(s); !ok || v != 0 {
				return false
			}
		}
		return true
	})

	// The stream refuses new events: the relay keeps them in the outbox.
	stream, err := js.Stream(ctx, interactionv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	open := stream.CachedInfo().Config
	full := open
	full.MaxMsgs, full.Discard = int64(stream.CachedInfo().State.Msgs), jetstream.DiscardNew
	if _, err := js.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	if _, err := js.PauseConsumer(ctx, interactionv1.Stream, "loyalty-purchases", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"李雷","email":"lilei@example.com"}`)["id"].(string)
	api.mustDo("POST", "/v1/interactions", purchaseBody(id, "POS-METRICS", "12850"))
	backedUp := waitMetrics(t, e.Metrics, "the interaction outbox backing up", func(m metrics) bool {
		return m.val(interactionOutbox) > 0 && m.val(interactionAge) > 0
	})
	t.Logf("outbox backed up: %v = %v, %v = %v", interactionOutbox, backedUp.val(interactionOutbox), interactionAge, backedUp.val(interactionAge))

	if _, err := js.UpdateStream(ctx, open); err != nil {
		t.Fatal(err)
	}
	drained := waitMetrics(t, e.Metrics, "the outbox drained into the paused consumer", func(m metrics) bool {
		return m.val(interactionOutbox) == 0 && m.val(interactionAge) == 0 && m.val(purchasesPending) > 0
	})
	t.Logf("outbox drained: %v = %v; consumer paused: %v = %v", interactionOutbox, drained.val(interactionOutbox), purchasesPending, drained.val(purchasesPending))

	if _, err := js.ResumeConsumer(ctx, interactionv1.Stream, "loyalty-purchases"); err != nil {
		t.Fatal(err)
	}
	caughtUp := waitMetrics(t, e.Metrics, "the consumer caught up and the points counted", func(m metrics) bool {
		return m.val(purchasesPending) == 0 && m.val(credited) >= before.val(credited)+128
	})
	t.Logf("consumer caught up: %v = %v; %v %v -> %v", purchasesPending, caughtUp.val(purchasesPending), credited, before.val(credited), caughtUp.val(credited))

	// A purchase event no consumer can decode is dead-lettered at once.
	if _, err := js.Publish(ctx, interactionv1.SubjectPurchaseRecorded, []byte("not a purchase")); err != nil {
		t.Fatal(err)
	}
	deadLetters := series{"guanxi_dead_letters_total", `durable="loyalty-purchases"`, `service="loyalty"`, `stream="INTERACTION"`}
	loyaltyJobs := series{"guanxi_job_last_success_timestamp_seconds", `job="loyalty jobs"`, `service="loyalty"`}
	after := waitMetrics(t, e.Metrics, "the dead letter counted", func(m metrics) bool {
		_, ok := m.get(loyaltyJobs)
		return m.val(deadLetters) >= before.val(deadLetters)+1 && ok
	})

	names, err := listedMetrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		series := n.name
		if n.kind == "histogram" {
			series += "_count"
		}
		if !after.has(series) {
			t.Errorf("/metrics has no %s (%s of %s)", series, n.kind, metricsList)
		}
	}
	var own []string
	for s, v := range after {
		if strings.HasPrefix(s, "guanxi_") {
			own = append(own, fmt.Sprintf("%s %v", s, v))
		}
	}
	slices.Sort(own)
	t.Logf("guanxi's own metrics after the purchase:\n%s", strings.Join(own, "\n"))
	if last := after.val(loyaltyJobs); time.Since(time.Unix(int64(last), 0)) > time.Hour {
		t.Errorf("the loyalty jobs last succeeded at %v, want during this run", last)
	}
	if after.sum(`guanxi_notification_messages_total{channel="email"`) < 1 {
		t.Errorf("no email message counted: the welcome message of the purchase")
	}
	// The REST metrics carry the route's template; no series names an id.
	if after.sum(`http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200",http_route="/v1/interactions"`) < 1 {
		t.Errorf("no REST request counted under its route /v1/interactions")
	}
	for s := range after {
		if strings.Contains(s, id) {
			t.Errorf("a series names the customer's id: %s", s)
		}
	}
	if after.sum(`rpc_server_call_duration_seconds_count{rpc_method="guanxi.interaction.v1.InteractionService/RecordInteraction"`) < 1 {
		t.Errorf("no RPC counted for RecordInteraction")
	}
}

// metrics is a scrape: each series ("name{label="value",...}") and its
// value.
type metrics map[string]float64

// series names a metric and some of its labels (`service="loyalty"`).
type series []string

// get returns the value of the one series of m that is s's metric and
// has s's labels, whatever its other labels (service_name, ...).
func (m metrics) get(s series) (float64, bool) {
	var (
		found bool
		v     float64
	)
	for key, value := range m {
		name, labels, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
		if name != s[0] {
			continue
		}
		have := strings.Split(labels, ",")
		if !containsAll(have, s[1:]) {
			continue
		}
		if found {
			return 0, false // ambiguous: name more labels
		}
		found, v = true, value
	}
	return v, found
}

// val is get's value, 0 when there is no such series.
func (m metrics) val(s series) float64 {
	v, _ := m.get(s)
	return v
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// has reports whether any series of the metric name exists.
func (m metrics) has(name string) bool {
	for s := range m {
		if s == name || strings.HasPrefix(s, name+"{") {
			return true
		}
	}
	return false
}

// sum adds up the series that start with prefix (a name and some of its
// first labels).
func (m metrics) sum(prefix string) float64 {
	var total float64
	for s, v := range m {
		if strings.HasPrefix(s, prefix) {
			total += v
		}
	}
	return total
}

// scrape reads url in Prometheus' text format.
func scrape(t *testing.T, url string) metrics {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	m, err := parseExposition(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parseExposition reads the series of Prometheus' text format. Label
// values here never hold a space, so a line is the series, a space and
// the value.
func parseExposition(r io.Reader) (metrics, error) {
	out := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("exposition line %q has no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("exposition line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// waitMetrics scrapes url until cond holds (within 30s) and returns that
// scrape.
func waitMetrics(t *testing.T, url, what string, cond func(metrics) bool) metrics {
	t.Helper()
	var last metrics
	testinfra.Eventually(t, 30*time.Second, what, func() bool {
		last = scrape(t, url)
		return cond(last)
	})
	return last
}

type listed struct{ name, kind string }

// listedMetrics reads metricsList.
func listedMetrics() ([]listed, error) {
	f, err := os.Open(metricsList)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []listed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: %q is not \"name type\"", metricsList, sc.Text())
		}
		out = append(out, listed{fields[0], fields[1]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no metric", metricsList)
	}
	return out, sc.Err()
}

// opsJetStream connects to the suite's NATS as its operators' user.
func opsJetStream(t *testing.T, e suite.Endpoints) jetstream.JetStream {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(e.OpsNATSSeedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(e.NATS, opt, nats.CustomInboxPrefix("_INBOX.ops"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
