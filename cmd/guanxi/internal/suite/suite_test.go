package suite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// startSuite boots the whole suite as `guanxi dev` does, on free ports, and
// returns its endpoints and a function that stops it and waits.
func startSuite(t *testing.T, dataDir string) (suite.Endpoints, func()) {
	t.Helper()
	return startSuiteLogging(t, dataDir, slog.New(slog.DiscardHandler))
}

// startSuiteLogging is startSuite with the suite's logs going to logger.
func startSuiteLogging(t *testing.T, dataDir string, logger *slog.Logger) (suite.Endpoints, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan suite.Endpoints, 1)
	done := make(chan error, 1)
	cfg := suite.Config{Host: "127.0.0.1", DataDir: dataDir}
	go func() {
		done <- suite.Run(ctx, cfg, logger, func(e suite.Endpoints) { ready <- e })
	}()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("suite stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("suite did not stop within 30s")
		}
	}
	select {
	case e := <-ready:
		return e, stop
	case err := <-done:
		cancel()
		t.Fatalf("suite failed to start: %v", err)
	case <-time.After(60 * time.Second):
		stop()
		t.Fatalf("suite not ready within 60s")
	}
	return suite.Endpoints{}, nil
}

// client calls the REST edge with a bearer token, or with the credential
// of another scheme ("ApiKey").
type client struct {
	t      *testing.T
	base   string
	scheme string
	token  string
}

// testActor is who the tests call as; it owns the customers they create.
const testActor = "am-test"

// adminClient is a client of e calling as testActor, an admin.
func adminClient(t *testing.T, e suite.Endpoints) client {
	t.Helper()
	return clientAs(t, e, auth.Identity{Subject: testActor, Roles: []auth.Role{auth.Admin}})
}

// clientAs is a client of e calling as id.
func clientAs(t *testing.T, e suite.Endpoints, id auth.Identity) client {
	t.Helper()
	return client{t: t, base: e.HTTP, token: testinfra.Token(t, e.Auth, id)}
}

// dialAs connects to service name of e, calling as id.
func dialAs(t *testing.T, e suite.Endpoints, name string, id auth.Identity) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcclient.Dial(serviceAddr(t, e, name), testinfra.CallAs(t, e.Auth, id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// adminConn connects to service name of e, calling as testActor, an admin.
func adminConn(t *testing.T, e suite.Endpoints, name string) *grpc.ClientConn {
	t.Helper()
	return dialAs(t, e, name, auth.Identity{Subject: testActor, Roles: []auth.Role{auth.Admin}})
}

// raw sends a JSON request with c's token and returns the status and body.
func (c client) raw(method, path, body string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		scheme := c.scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		req.Header.Set("Authorization", scheme+" "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// do sends a JSON request and decodes the JSON answer into a map.
func (c client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	code, raw := c.raw(method, path, body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON (%d): %s", method, path, code, raw)
		}
	}
	return code, out
}

// mustRaw is raw for a request that must succeed, returning the body.
func (c client) mustRaw(method, path string) string {
	c.t.Helper()
	code, raw := c.raw(method, path, "")
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: status %d, body %s", method, path, code, raw)
	}
	return string(raw)
}

func (c client) mustDo(method, path, body string) map[string]any {
	c.t.Helper()
	code, out := c.do(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: status %d, body %v", method, path, code, out)
	}
	return out
}

// TestPurchaseTravelsThroughEveryService is the acceptance path: a
// customer and a purchase of 128.50 CNY through REST, then points, value,
// timeline and welcome message visible within 2 seconds.
func TestPurchaseTravelsThroughEveryService(t *testing.T) {
	dataDir := t.TempDir()
	e, stop := startSuite(t, dataDir)
	api := adminClient(t, e)

	cust := api.mustDo("POST", "/v1/customers", `{"displayName":"王小明","email":"xiaoming@example.com","phone":"+86 138 0013 8000","locale":"zh-CN"}`)
	id, _ := cust["id"].(string)
	if id == "" {
		t.Fatalf("created customer has no id: %v", cust)
	}

	purchase := `{"customerId":"` + id + `","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",` +
		`"purchase":{"orderId":"POS-1","total":{"currencyCode":"CNY","amountMinor":"12850"},` +
		`"lines":[{"sku":"TEA-1","productName":"龙井茶","category":"tea","quantity":"1","unitPrice":{"currencyCode":"CNY","amountMinor":"12850"}}]}}`
	recorded := time.Now()
	api.mustDo("POST", "/v1/interactions", purchase)

	var account, value map[string]any
	var interactions, messages []any
	testinfra.Eventually(t, 2*time.Second-time.Since(recorded), "purchase visible in every service", func() bool {
		if code, out := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", ""); code == http.StatusOK {
			account = out
		}
		if code, out := api.do("GET", "/v1/customers/"+id+"/value", ""); code == http.StatusOK {
			value = out
		}
		interactions, _ = api.mustDo("GET", "/v1/customers/"+id+"/interactions", "")["interactions"].([]any)
		messages, _ = api.mustDo("GET", "/v1/customers/"+id+"/messages", "")["messages"].([]any)
		return account["pointsBalance"] == "128" && value["abcClass"] != nil && value["purchaseCount"] == "1" &&
			len(interactions) == 1 && len(messages) == 1
	})
	t.Logf("purchase visible everywhere %s after it was recorded", time.Since(recorded).Round(time.Millisecond))
	if got := value["abcClass"]; got != "ABC_CLASS_A" {
		t.Errorf("the only buyer's ABC class = %v, want ABC_CLASS_A", got)
	}
	if got := account["tier"]; got != "TIER_NORMAL" {
		t.Errorf("tier = %v, want TIER_NORMAL", got)
	}
	if got := messages[0].(map[string]any)["template"]; got != "welcome" {
		t.Errorf("message template = %v, want welcome", got)
	}

	stop()

	// The same data after a restart.
	e, stop = startSuite(t, dataDir)
	defer stop()
	api.base = e.HTTP
	if got := api.mustDo("GET", "/v1/customers/"+id, "")["displayName"]; got != "王小明" {
		t.Errorf("after restart the customer's name is %v", got)
	}
	if got := api.mustDo("GET", "/v1/customers/"+id+"/loyaltyAccount", "")["pointsBalance"]; got != "128" {
		t.Errorf("after restart the balance is %v, want 128", got)
	}
}

// TestBadRequestsAreClientErrors checks that malformed requests get 400 or
// 404 with a message naming the problem, never a 500.
func TestBadRequestsAreClientErrors(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"Ada"}`)["id"].(string)
	const unknown = "0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f"

	tests := []struct {
		name, method, path, body string
		want                     int
		mention                  string
	}{
		{"bad JSON", "POST", "/v1/customers", `{"displayName":}`, 400, "invalid character"},
		{"truncated JSON", "POST", "/v1/customers", `{"displayName":`, 400, "unexpected EOF"},
		{"unknown field", "POST", "/v1/customers", `{"displayNam":"x"}`, 400, "displayNam"},
		{"customer without name", "POST", "/v1/customers", `{"email":"a@example.com"}`, 400, "display_name"},
		{"bad email", "POST", "/v1/customers", `{"displayName":"x","email":"not-an-email"}`, 400, "email"},
		{"missing customer", "POST", "/v1/interactions", `{"purchase":{"total":{"currencyCode":"CNY","amountMinor":"100"}}}`, 400, "customer_id"},
		{"negative amount", "POST", "/v1/interactions", `{"customerId":"` + id + `","purchase":{"total":{"currencyCode":"CNY","amountMinor":"-100"}}}`, 400, "amount_minor"},
		{"unknown customer", "POST", "/v1/interactions", `{"customerId":"` + unknown + `","purchase":{"total":{"currencyCode":"CNY","amountMinor":"100"}}}`, 404, unknown},
		{"malformed customer id", "GET", "/v1/customers/not-a-uuid", "", 400, "id"},
		{"unknown customer id", "GET", "/v1/customers/" + unknown, "", 404, unknown},
		{"unknown loyalty account", "GET", "/v1/customers/" + unknown + "/loyaltyAccount", "", 404, unknown},
		{"unknown customer value", "GET", "/v1/customers/" + unknown + "/value", "", 404, unknown},
		{"bad page size", "GET", "/v1/customers?pageSize=-1", "", 400, "page_size"},
		{"no such route", "GET", "/v1/nothing", "", 404, ""},
		// Protobuf refuses text that is not UTF-8 (NUL, which is, is refused
		// by every service: TestNULInTextIsRefused).
		{"invalid UTF-8", "POST", "/v1/customers", "{\"displayName\":\"A\xffda\"}", 400, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api.t = t
			code, out := api.do(tc.method, tc.path, tc.body)
			msg, _ := out["message"].(string)
			if code != tc.want {
				t.Fatalf("status %d (%q), want %d", code, msg, tc.want)
			}
			if !strings.Contains(msg, tc.mention) {
				t.Errorf("message %q does not mention %q", msg, tc.mention)
			}
		})
	}
}

// TestServicesAnswerHealthAndReflection is what grpcurl list and
// grpc.health.v1.Health/Check rely on.
func TestServicesAnswerHealthAndReflection(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range e.Services {
		conn, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()

		h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s health: %v, %v", s.Name, h.GetStatus(), err)
		}

		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("%s reflection: %v", s.Name, err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("%s reflection: %v", s.Name, err)
		}
		want := "guanxi." + s.Name + ".v1." + strings.ToUpper(s.Name[:1]) + s.Name[1:] + "Service"
		var names []string
		for _, svc := range resp.GetListServicesResponse().GetService() {
			names = append(names, svc.GetName())
		}
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("%s reflection lists %v, want %s", s.Name, names, want)
		}
	}
}

// TestGatewayServesProbesAndOpenAPI checks the edge's own endpoints.
func TestGatewayServesProbesAndOpenAPI(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	api.mustDo("GET", "/healthz", "")
	if ready := api.mustDo("GET", "/readyz", ""); ready["ready"] != true {
		t.Errorf("readyz = %v", ready)
	}
	doc := api.mustDo("GET", "/openapi.json", "")
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/customers", "/v1/customers/{id}", "/v1/interactions", "/v1/customers/{customerId}/loyaltyAccount", "/v1/customers/{customerId}/value", "/v1/customers/{customerId}/interactions", "/v1/customers/{customerId}/messages"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.json lacks path %s", p)
		}
	}
}

// TestUpdateCustomerThroughREST: PATCH with the etag read before, with an
// explicit ?updateMask= in JSON names, and with a stale etag.
func TestUpdateCustomerThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	c := api.mustDo("POST", "/v1/customers", `{"displayName":"张伟","tags":["new"]}`)
	id, etag := c["id"].(string), c["etag"].(string)

	// Without a mask the edge derives one from the body, etag included.
	updated := api.mustDo("PATCH", "/v1/customers/"+id, `{"displayName":"张伟 (VIP)","etag":"`+etag+`"}`)
	if updated["displayName"] != "张伟 (VIP)" || updated["etag"] == etag {
		t.Fatalf("after PATCH: %v", updated)
	}
	if tags, _ := updated["tags"].([]any); len(tags) != 1 {
		t.Errorf("a field outside the mask changed: tags = %v", updated["tags"])
	}

	// An explicit mask in JSON names leaves other body fields alone.
	masked := api.mustDo("PATCH", "/v1/customers/"+id+"?updateMask=tags", `{"displayName":"ignored","tags":["vip"]}`)
	if masked["displayName"] != "张伟 (VIP)" || masked["tags"].([]any)[0] != "vip" {
		t.Errorf("after masked PATCH: %v", masked)
	}

	// The etag of the first read is stale by now.
	if code, out := api.do("PATCH", "/v1/customers/"+id, `{"displayName":"lost update","etag":"`+etag+`"}`); code != http.StatusConflict {
		t.Errorf("stale etag: status %d (%v), want 409", code, out)
	}
}

// TestPortInUseFailsFast: a taken port stops the suite before anything
// starts, with a message that says which part and what to do.
func TestPortInUseFailsFast(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	cfg := suite.Config{Host: "127.0.0.1", HTTPPort: port, DataDir: t.TempDir()}
	err = suite.Run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "REST edge cannot listen") {
		t.Fatalf("Run = %v, want the REST edge's listen error", err)
	}
}
