package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	"github.com/guanxi-crm/guanxi/platform/version"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// testAuth is the token setup of the gateway under test.
var testAuth = auth.Config{Secret: "a-test-secret-of-at-least-32-bytes!!"}

// fakeCustomers answers CreateCustomer with the idempotency key it was
// given as the id and, as the owner, the subject of the token the gateway
// forwarded, any x-guanxi-actor and the reason. It fails GetCustomer with an
// error carrying a detail that must never reach the client.
type fakeCustomers struct {
	customerv1.UnimplementedCustomerServiceServer
	verifier *auth.Verifier
}

func (f fakeCustomers) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := strings.Join(md.Get("idempotency-key"), ",")
	token, _ := auth.BearerToken(strings.Join(md.Get("authorization"), ","))
	id, err := f.verifier.Verify(token)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	who := strings.Join(append(append([]string{id.Subject}, md.Get("x-guanxi-actor")...), md.Get("x-guanxi-reason")...), "/")
	return &customerv1.CreateCustomerResponse{Customer: &customerv1.Customer{Id: key, DisplayName: req.GetCustomer().GetDisplayName(), OwnerId: who}}, nil
}

// fakeAccess trades the key "gxk_good_key" for a token of "keyholder" and
// counts the trades.
type fakeAccess struct {
	accessv1.UnimplementedAccessServiceServer
	trades *atomic.Int64
}

func (f fakeAccess) ExchangeApiKey(_ context.Context, req *accessv1.ExchangeApiKeyRequest) (*accessv1.ExchangeApiKeyResponse, error) {
	if req.GetKey() != "gxk_good_key" {
		return nil, status.Error(codes.Unauthenticated, "the api key is not valid")
	}
	f.trades.Add(1)
	token, err := auth.Issue(testAuth, auth.Identity{Subject: "keyholder"}, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	return &accessv1.ExchangeApiKeyResponse{Token: token, ExpireTime: timestamppb.New(time.Now().Add(5 * time.Minute))}, nil
}

// ListCustomers is slow: it answers only when the call's deadline cuts it
// off.
func (fakeCustomers) ListCustomers(ctx context.Context, _ *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func (fakeCustomers) GetCustomer(context.Context, *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	return nil, errors.New("select from customers: connection refused to db-secret-host")
}

// startGateway runs the gateway in front of a fake customer service and a
// fake access service; the other four services are down.
func startGateway(t *testing.T) string {
	t.Helper()
	return startGatewayWith(t, func(*gateway.Config) {})
}

// keyTrades counts the fake access service's trades of every gateway the
// tests start.
var keyTrades atomic.Int64

// startGatewayWith is startGateway with the configuration changed by set.
func startGatewayWith(t *testing.T, set func(*gateway.Config)) string {
	t.Helper()
	return startGatewayLogging(t, slog.New(slog.NewTextHandler(io.Discard, nil)), set)
}

// startGatewayLogging is startGatewayWith logging to logger (the gateway's
// and the fake services').
func startGatewayLogging(t *testing.T, logger *slog.Logger, set func(*gateway.Config)) string {
	t.Helper()
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(testAuth)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(logger)
	customerv1.RegisterCustomerServiceServer(srv, fakeCustomers{verifier: verifier})
	accessv1.RegisterAccessServiceServer(srv, fakeAccess{trades: &keyTrades})
	testkit.Background(t, func(ctx context.Context) error { return srv.Serve(ctx, grpcLis) })

	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close()

	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		CustomerAddr:    grpcLis.Addr().String(),
		InteractionAddr: downAddr, LoyaltyAddr: downAddr, SegmentationAddr: downAddr, NotificationAddr: downAddr,
		AccessAddr:   grpcLis.Addr().String(),
		MaxBodyBytes: 1024,
		Listener:     httpLis,
		Auth:         testAuth,
	}
	set(&cfg)
	testkit.Background(t, func(ctx context.Context) error { return gateway.Run(ctx, cfg, logger) })
	return "http://" + httpLis.Addr().String()
}

func request(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	resp, b := send(t, method, url, body, header)
	return resp.StatusCode, b
}

// send is request for tests that read the answer's headers too; the
// response's body is read and closed. Requests carry a valid token of
// subject "tester" unless header sets Authorization ("" for none).
func send(t *testing.T, method, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testkit.Token(t, testAuth, auth.Identity{Subject: "tester"}))
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Del("Authorization")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGateway(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		wantCode                 int
		wantIn, wantNotIn        string
	}{
		{"idempotency key reaches the service", "POST", "/v1/customers", `{"displayName":"Ada"}`,
			http.Header{"Idempotency-Key": {"key-42"}}, 200, `"id":"key-42"`, ""},
		{"token and reason reach the service, a claimed actor does not", "POST", "/v1/customers", `{"displayName":"Ada"}`,
			http.Header{"X-Guanxi-Actor": {"mallory"}, "X-Guanxi-Reason": {"ticket 7"}}, 200, `"ownerId":"tester/ticket 7"`, ""},
		{"unmapped service error is a 500 without detail", "GET", "/v1/customers/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f", "",
			nil, 500, "internal error", "db-secret-host"},
		{"service down is 503", "GET", "/v1/customers/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f/loyaltyAccount", "",
			nil, 503, `"code":14`, "dial"},
		{"service down names no address", "GET", "/v1/customers/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f/loyaltyAccount", "",
			nil, 503, "cannot be reached", "127.0.0.1"},
		{"body over the limit is refused", "POST", "/v1/customers", `{"displayName":"` + strings.Repeat("a", 2048) + `"}`,
			nil, 413, "too large", ""},
		{"unknown route", "GET", "/v2/anything", "", nil, 404, "no route", ""},
		{"not ready while services are down", "GET", "/readyz", "", nil, 503, `"customer":"SERVING"`, ""},
		{"alive", "GET", "/healthz", "", nil, 200, `"ok"`, ""},
		{"openapi", "GET", "/openapi.json", "", nil, 200, `"/v1/customers/{customerId}/loyaltyAccount"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := request(t, tc.method, base+tc.path, tc.body, tc.header)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", code, tc.wantCode, body)
			}
			if !strings.Contains(body, tc.wantIn) {
				t.Errorf("body %s lacks %s", body, tc.wantIn)
			}
			if tc.wantNotIn != "" && strings.Contains(body, tc.wantNotIn) {
				t.Errorf("body %s leaks %s", body, tc.wantNotIn)
			}
		})
	}
}

// TestGatewayBodyTooLargeWithoutLength: a body sent in chunks, with no
// declared length, that runs past the cap is 413 as well, not the 400 of a
// malformed body.
func TestGatewayBodyTooLargeWithoutLength(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	body := `{"displayName":"` + strings.Repeat("a", 2048) + `"}`
	req, err := http.NewRequest("POST", base+"/v1/customers", io.MultiReader(strings.NewReader(body))) // no ContentLength
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testkit.Token(t, testAuth, auth.Identity{Subject: "tester"}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "at most 1024 bytes") {
		t.Fatalf("chunked body over the cap: %d %s, want 413", resp.StatusCode, b)
	}
}

// TestGatewayRateLimit: with a rate set, the REST edge answers a caller's
// requests past the burst with 429 and Retry-After; the probes are not
// limited.
func TestGatewayRateLimit(t *testing.T) {
	t.Parallel()
	base := startGatewayWith(t, func(c *gateway.Config) { c.RateLimit, c.RateBurst = 0.5, 2 })
	actor := http.Header{"Content-Type": {"application/json"}}
	for i := range 2 {
		if code, body := request(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, actor); code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, code, body)
		}
	}
	resp, _ := send(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, actor)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("past the burst: %d, Retry-After %q; want 429 and 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := request(t, "GET", base+"/healthz", "", actor); code != http.StatusOK {
		t.Fatalf("healthz while limited: %d", code)
	}
}

// TestGatewayCORS: a listed origin gets its preflight answered and its
// answers marked readable; another origin's preflight is refused.
func TestGatewayCORS(t *testing.T) {
	t.Parallel()
	base := startGatewayWith(t, func(c *gateway.Config) { c.CORSOrigins = []string{"https://crm.example.com"} })
	preflight := func(origin string) *http.Response {
		resp, _ := send(t, "OPTIONS", base+"/v1/customers", "", http.Header{"Origin": {origin},
			"Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type, idempotency-key"}})
		return resp
	}
	ok := preflight("https://crm.example.com")
	if ok.StatusCode != http.StatusNoContent || ok.Header.Get("Access-Control-Allow-Origin") != "https://crm.example.com" ||
		!strings.Contains(ok.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Fatalf("preflight of a listed origin: %d %v", ok.StatusCode, ok.Header)
	}
	if bad := preflight("https://evil.example"); bad.StatusCode != http.StatusForbidden || bad.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight of another origin: %d %v", bad.StatusCode, bad.Header)
	}
	resp, _ := send(t, "POST", base+"/v1/customers", `{"displayName":"a"}`,
		http.Header{"Origin": {"https://crm.example.com"}, "Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://crm.example.com" {
		t.Fatalf("request from a listed origin: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestOpenAPIDocument: /openapi.json names the API and its release, and
// declares the two ways to authenticate, with the public routes open.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	code, body := request(t, "GET", base+"/openapi.json", "", http.Header{"Authorization": {""}})
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		Info struct {
			Title   string `json:"title"`
			Version string `json:"version"`
		} `json:"info"`
		SecurityDefinitions map[string]struct {
			Type string `json:"type"`
			In   string `json:"in"`
			Name string `json:"name"`
		} `json:"securityDefinitions"`
		Security []map[string][]string                            `json:"security"`
		Paths    map[string]map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "guanxi REST API" || doc.Info.Version != version.Version {
		t.Errorf("info: title %q version %q; want guanxi REST API and %q", doc.Info.Title, doc.Info.Version, version.Version)
	}
	for _, scheme := range []string{"Bearer", "ApiKey"} {
		d, ok := doc.SecurityDefinitions[scheme]
		if !ok || d.Type != "apiKey" || d.In != "header" || d.Name != "Authorization" {
			t.Errorf("security scheme %s: %+v (present %v)", scheme, d, ok)
		}
	}
	if len(doc.Security) != 2 {
		t.Errorf("document security %v, want Bearer or ApiKey", doc.Security)
	}
	if sec := string(doc.Paths["/v1/unsubscribe"]["post"]["security"]); sec != "[]" {
		t.Errorf("POST /v1/unsubscribe security %q, want [] (public)", sec)
	}
	if _, set := doc.Paths["/v1/customers"]["post"]["security"]; set {
		t.Error("POST /v1/customers overrides the document's security")
	}
}

// TestGatewayRedisDownFailsFast: with the rate limits' Redis down, requests
// go through, and after the first failure each takes well under 100 ms
// instead of waiting on redials (about 0.4 s each before).
func TestGatewayRedisDownFailsFast(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redisAddr := closed.Addr().String()
	closed.Close()
	base := startGatewayWith(t, func(c *gateway.Config) {
		c.RateLimit, c.RedisURL = 1000, "redis://"+redisAddr+"/0"
	})
	if code, body := request(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, nil); code != http.StatusOK {
		t.Fatalf("first request with Redis down: %d %s, want it let through", code, body)
	}
	var slowest time.Duration
	for range 5 {
		start := time.Now()
		if code, body := request(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, nil); code != http.StatusOK {
			t.Fatalf("request with Redis down: %d %s", code, body)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest >= 100*time.Millisecond {
		t.Errorf("with Redis down the slowest request took %s, want well under 100ms", slowest)
	}
	t.Logf("slowest request with Redis down: %s", slowest)
}
