package suite_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// startGateways starts n more gateways in front of e's services, each
// configured by set, and returns their base URLs.
func startGateways(t *testing.T, e suite.Endpoints, n int, set func(*gateway.Config)) []string {
	t.Helper()
	var bases []string
	for range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := gateway.Config{
			CustomerAddr: serviceAddr(t, e, "customer"), InteractionAddr: serviceAddr(t, e, "interaction"),
			LoyaltyAddr: serviceAddr(t, e, "loyalty"), SegmentationAddr: serviceAddr(t, e, "segmentation"),
			NotificationAddr: serviceAddr(t, e, "notification"), AccessAddr: serviceAddr(t, e, "access"),
			MaxBodyBytes: gateway.DefaultMaxBodyBytes, Listener: lis, Auth: e.Auth,
		}
		set(&cfg)
		testinfra.Background(t, func(ctx context.Context) error {
			return gateway.Run(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
		})
		bases = append(bases, "http://"+lis.Addr().String())
	}
	return bases
}

// balanced is a client behind a load balancer that sends each request to
// the next of bases in turn.
type balanced struct {
	client
	bases []string
	next  *atomic.Int64
}

func (b balanced) at() client {
	c := b.client
	c.base = b.bases[int(b.next.Add(1)-1)%len(b.bases)]
	return c
}

func (b balanced) do(method, path, body string) (int, map[string]any) {
	b.t.Helper()
	return b.at().do(method, path, body)
}

func (b balanced) mustDo(method, path, body string) map[string]any {
	b.t.Helper()
	return b.at().mustDo(method, path, body)
}

// TestTwoGatewaysBehaveAsOne: two gateway replicas behind a load balancer
// that alternates between them serve the flows that carry state from one
// request to the next as one gateway would: a page token from one pages on
// at the other, an operation started through one is read through the
// other, an idempotency key repeated through the other makes nothing new,
// an API key works through both, and with Redis (here a 3-node Redis
// Cluster) the rate limit counts a caller's requests through both
// together.
func TestTwoGatewaysBehaveAsOne(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	bases := startGateways(t, e, 2, func(*gateway.Config) {})
	lb := balanced{client: adminClient(t, e), bases: bases, next: &atomic.Int64{}}

	// Idempotency: the key repeated through the other replica.
	first := lb.mustDo("POST", "/v1/customers", `{"displayName":"副本甲","email":"replica-a@example.com"}`)
	var made []string
	made = append(made, first["id"].(string))
	for _, name := range []string{"副本乙", "副本丙"} {
		made = append(made, lb.mustDo("POST", "/v1/customers", `{"displayName":"`+name+`"}`)["id"].(string))
	}
	keyed := func() string {
		c := lb.at()
		code, raw := c.rawWith("POST", "/v1/customers", `{"displayName":"幂等"}`, http.Header{"Idempotency-Key": {"replica-key-1"}})
		if code != http.StatusOK {
			t.Fatalf("create with an idempotency key through %s: %d %s", c.base, code, raw)
		}
		return string(raw)
	}
	if a, b := keyed(), keyed(); a != b {
		t.Errorf("the same idempotency key through two replicas made two answers:\n%s\n%s", a, b)
	}

	// Page tokens: each page through the other replica.
	var paged []string
	path := "/v1/customers?pageSize=1"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("still paging after %d pages: %v", pages, paged)
		}
		out := lb.mustDo("GET", path, "")
		for _, c := range out["customers"].([]any) {
			paged = append(paged, c.(map[string]any)["id"].(string))
		}
		tok, _ := out["nextPageToken"].(string)
		if tok == "" {
			break
		}
		path = "/v1/customers?pageSize=1&pageToken=" + url.QueryEscape(tok)
	}
	sort.Strings(paged)
	if len(paged) != len(made)+1 { // the three and the idempotent one
		t.Errorf("paged through %d customers %v, want %d", len(paged), paged, len(made)+1)
	}
	for _, id := range made {
		if i := sort.SearchStrings(paged, id); i == len(paged) || paged[i] != id {
			t.Errorf("customer %s not met paging through both replicas", id)
		}
	}

	// A long-running operation started through one, read through the other.
	op := lb.client.withBase(bases[0]).mustDo("POST", "/v1/customerValues:recompute", `{}`)
	op["done"] = false // read it through the other replica, even if already done
	if res := lb.client.withBase(bases[1]).awaitOperation(op); res["customerCount"] == nil {
		t.Errorf("recompute read through the other replica: %v", res)
	}

	// An API key traded for a token by each replica.
	key := lb.mustDo("POST", "/v1/apiKeys", `{"name":"replicas","subject":"agent-rep","roles":["admin"]}`)["key"].(string)
	for _, base := range bases {
		c := client{t: t, base: base, scheme: "ApiKey", token: key}
		if code, out := c.do("GET", "/v1/customers/"+made[0], ""); code != http.StatusOK {
			t.Errorf("the API key through %s: %d %v", base, code, out)
		}
	}

	// The rate limit, in a Redis Cluster: a caller's burst is shared.
	const burst = 5
	cluster := testinfra.RedisCluster(t)
	limited := startGateways(t, e, 2, func(c *gateway.Config) {
		c.RedisURL, c.RateLimit, c.RateBurst = cluster, 0.5, burst
	})
	caller := balanced{client: clientAs(t, e, auth.Identity{Subject: testinfra.UniqueName("rate-"), Roles: []auth.Role{auth.Admin}}),
		bases: limited, next: &atomic.Int64{}}
	allowed := 0
	for range 4 * burst {
		code, _ := caller.do("GET", "/v1/customers/"+made[0], "")
		switch code {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("rate-limited read: %d", code)
		}
	}
	t.Logf("two gateways on one Redis Cluster let %d of %d requests through (burst %d)", allowed, 4*burst, burst)
	if allowed < burst || allowed > burst+1 {
		t.Errorf("%d requests through two gateways allowed, want the one burst of %d (two replicas counting alone allow %d)", allowed, burst, 2*burst)
	}
}

// withBase returns c calling base.
func (c client) withBase(base string) client {
	c.base = base
	return c
}

// rawWith is raw with extra headers.
func (c client) rawWith(method, path, body string, header http.Header) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}
