package gateway_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// logLines decodes the JSON lines of logs whose msg is one of msgs.
func logLines(t *testing.T, logs string, msgs ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		for _, m := range msgs {
			if line["msg"] == m {
				out = append(out, line)
			}
		}
	}
	return out
}

// TestRequestLogAndDeadlines: every REST request leaves one line with its
// route template, RPC, status, duration and subject, and never its query
// string; a call cut off by its deadline is a 504 that leaves a warning
// naming the RPC and how long it ran; the deadline is the configured one,
// per method where one is set.
func TestRequestLogAndDeadlines(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const listCustomers = "/guanxi.customer.v1.CustomerService/ListCustomers"
	base := startGatewayLogging(t, logger, func(c *gateway.Config) {
		c.CallTimeout = 10 * time.Second
		c.CallTimeouts = map[string]time.Duration{strings.TrimPrefix(listCustomers, "/"): 300 * time.Millisecond}
	})

	const secret = "Canary Name"
	start := time.Now()
	code, body := request(t, "GET", base+"/v1/customers?query="+strings.ReplaceAll(secret, " ", "+"), "", nil)
	took := time.Since(start)
	if code != http.StatusGatewayTimeout {
		t.Fatalf("slow call: status %d %s, want 504", code, body)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("slow call answered after %v, want the per-method 300ms deadline", took)
	}
	if code, _ := request(t, "POST", base+"/v1/customers", `{"displayName":"`+secret+`"}`, nil); code != http.StatusOK {
		t.Fatalf("create: status %d", code)
	}

	var timedOut, created map[string]any
	testkit.Eventually(t, 5*time.Second, "both request lines", func() bool {
		for _, l := range logLines(t, logs.String(), "http request", "http request timed out") {
			switch l["rpc"] {
			case listCustomers:
				timedOut = l
			case "/guanxi.customer.v1.CustomerService/CreateCustomer":
				created = l
			}
		}
		return timedOut != nil && created != nil
	})
	if timedOut["msg"] != "http request timed out" || timedOut["level"] != "WARN" || timedOut["status"] != float64(504) ||
		timedOut["route"] != "/v1/customers" || timedOut["http_method"] != "GET" || timedOut["subject"] != "tester" {
		t.Errorf("timed-out request line = %v", timedOut)
	}
	if ms, _ := timedOut["duration_ms"].(float64); ms < 300 {
		t.Errorf("timed-out request ran %vms by its line, want >= 300", ms)
	}
	if created["status"] != float64(200) || created["route"] != "/v1/customers" || created["subject"] != "tester" || created["level"] != "INFO" {
		t.Errorf("create request line = %v", created)
	}
	// The service side logs the call too, with its code.
	var served bool
	for _, l := range logLines(t, logs.String(), "grpc call") {
		// The server sees its own deadline pass, or the client give up first.
		if l["method"] == listCustomers && (l["code"] == "DeadlineExceeded" || l["code"] == "Canceled") {
			served = true
		}
	}
	if !served {
		t.Errorf("no grpc call line for the timed-out ListCustomers in\n%s", logs)
	}
	if strings.Contains(logs.String(), "Canary") {
		t.Errorf("the logs carry the query's or body's name:\n%s", logs)
	}
}

// TestCallTimeoutsFromEnvironment: the edge's deadlines are read from
// GUANXI_GATEWAY_CALL_TIMEOUT and, per RPC, GUANXI_GATEWAY_CALL_TIMEOUTS.
func TestCallTimeoutsFromEnvironment(t *testing.T) {
	t.Setenv("GUANXI_GATEWAY_CALL_TIMEOUT", "45s")
	t.Setenv("GUANXI_GATEWAY_CALL_TIMEOUTS", "guanxi.customer.v1.CustomerService/ListCustomers:2m,/guanxi.x.v1.X/Y:1s")
	cfg, err := gateway.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CallTimeout != 45*time.Second || cfg.CallTimeouts["guanxi.customer.v1.CustomerService/ListCustomers"] != 2*time.Minute ||
		cfg.CallTimeouts["/guanxi.x.v1.X/Y"] != time.Second {
		t.Errorf("deadlines = %v, %v", cfg.CallTimeout, cfg.CallTimeouts)
	}
}

// TestSpanNamesAreRouteTemplates: a REST request's span is named by its
// method and route template, never by the path with its ids, and carries
// the template as http.route.
func TestSpanNamesAreRouteTemplates(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	base := startGatewayLogging(t, slog.New(slog.DiscardHandler), func(*gateway.Config) {})

	request(t, "GET", base+"/v1/customers/cus-4711", "", nil)
	request(t, "GET", base+"/healthz", "", nil)

	names := map[string]bool{}
	for _, s := range spans.Ended() {
		names[s.Name()] = true
		if strings.Contains(s.Name(), "cus-4711") {
			t.Errorf("span %q names the customer id", s.Name())
		}
		for _, a := range s.Attributes() {
			if a.Key == "http.route" && strings.Contains(a.Value.Emit(), "cus-4711") {
				t.Errorf("span %q: http.route %q names the customer id", s.Name(), a.Value.Emit())
			}
		}
	}
	for _, want := range []string{"GET /v1/customers/{id}", "GET /healthz"} {
		if !names[want] {
			t.Errorf("no span named %q among %v", want, names)
		}
	}
}
