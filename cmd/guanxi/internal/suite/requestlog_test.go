package suite_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestRequestLinesJoinEdgeAndService: a REST request carrying a W3C
// traceparent leaves one line at the edge and one in the service it
// reached, both with the request's trace id and the caller's subject, the
// edge's with the route template and never the query string.
func TestRequestLinesJoinEdgeAndService(t *testing.T) {
	// The propagator telemetry.Setup installs in every process; tests do
	// not run Setup.
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	logs := &testinfra.Buffer{}
	logger := slog.New(logging.TraceHandler{Handler: slog.NewJSONHandler(logs, nil)})
	e, stop := startSuiteLogging(t, t.TempDir(), logger)
	defer stop()
	api := adminClient(t, e)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest("GET", e.HTTP+"/v1/customers?query=%E9%9B%AA%E9%9C%81", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list customers: status %d", resp.StatusCode)
	}

	var edge, service map[string]any
	testinfra.Eventually(t, 5*time.Second, "the edge's and the service's lines", func() bool {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil || line["trace_id"] != traceID {
				continue
			}
			switch line["msg"] {
			case "http request":
				edge = line
			case "grpc call":
				if line["method"] == "/guanxi.customer.v1.CustomerService/ListCustomers" {
					service = line
				}
			}
		}
		return edge != nil && service != nil
	})
	if edge["route"] != "/v1/customers" || edge["status"] != float64(200) || edge["subject"] != testActor ||
		edge["rpc"] != "/guanxi.customer.v1.CustomerService/ListCustomers" || edge["service"] != nil && edge["service"] == "" {
		t.Errorf("edge line = %v", edge)
	}
	if service["code"] != "OK" || service["subject"] != testActor {
		t.Errorf("service line = %v", service)
	}
	if _, ok := edge["duration_ms"].(float64); !ok {
		t.Errorf("edge line has no duration: %v", edge)
	}
	if strings.Contains(logs.String(), "雪霁") || strings.Contains(logs.String(), "%E9%9B%AA") {
		t.Error("the logs carry the query string")
	}
}
