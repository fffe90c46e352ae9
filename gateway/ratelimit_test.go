package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// TestRate walks the cell rate algorithm through a burst, the refusal
// after it, and the recovery one interval at a time.
func TestRate(t *testing.T) {
	t.Parallel()
	r := newRate(2, 3) // one request every 500 ms, three at once
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var tat time.Time
	for i := range 3 {
		var wait time.Duration
		if tat, wait = r.next(tat, now); wait != 0 {
			t.Fatalf("request %d of the burst waits %v", i+1, wait)
		}
	}
	if _, wait := r.next(tat, now); wait != 500*time.Millisecond {
		t.Fatalf("fourth request at once waits %v, want 500ms", wait)
	}
	if _, wait := r.next(tat, now.Add(499*time.Millisecond)); wait != time.Millisecond {
		t.Fatalf("after 499ms waits %v, want 1ms", wait)
	}
	if _, wait := r.next(tat, now.Add(500*time.Millisecond)); wait != 0 {
		t.Fatalf("after one interval waits %v, want none", wait)
	}
	if got := newRate(2.5, 0).burst; got != 3 {
		t.Fatalf("default burst of 2.5/s = %d, want 3 (one second's worth)", got)
	}
}

// TestLimitRate: past its burst a caller gets 429 with Retry-After, other
// callers do not, and the caller gets through again after the wait; on
// the in-process limiter and on Redis (shared by two gateways).
func TestLimitRate(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	redisLimiters := func(t *testing.T) (limiter, limiter) {
		opts, err := redis.ParseURL(testkit.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opts)
		t.Cleanup(func() { _ = client.Close() })
		prefix := "guanxi-test:" + t.Name() + time.Now().Format(time.RFC3339Nano) + ":"
		// A rate low enough that the test's own requests never see a slot
		// free up between them: 1 a second, 3 at once.
		return &redisLimiter{rate: newRate(1, 3), client: client, prefix: prefix},
			&redisLimiter{rate: newRate(1, 3), client: client, prefix: prefix}
	}
	for _, tc := range []struct {
		name     string
		limiters func(t *testing.T) (limiter, limiter)
	}{
		{"memory", func(*testing.T) (limiter, limiter) { l := newMemoryLimiter(newRate(1, 3)); return l, l }},
		{"redis", redisLimiters},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := tc.limiters(t)
			gateways := []http.Handler{limitRate(ok, a, logger), limitRate(ok, b, logger)}
			call := func(i int, actor string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", "/v1/customers", nil)
				req = req.WithContext(context.WithValue(req.Context(), subjectKey{}, actor))
				rec := httptest.NewRecorder()
				gateways[i%2].ServeHTTP(rec, req)
				return rec
			}
			for i := range 3 {
				if rec := call(i, "agent-a"); rec.Code != http.StatusNoContent {
					t.Fatalf("request %d within the burst: %d %s", i+1, rec.Code, rec.Body)
				}
			}
			refused := call(3, "agent-a")
			if refused.Code != http.StatusTooManyRequests || refused.Header().Get("Retry-After") != "1" {
				t.Fatalf("request past the burst: %d, Retry-After %q; want 429 and 1", refused.Code, refused.Header().Get("Retry-After"))
			}
			if rec := call(4, "agent-b"); rec.Code != http.StatusNoContent {
				t.Fatalf("another caller: %d, want through", rec.Code)
			}
			testkit.Eventually(t, 3*time.Second, "agent-a through again after Retry-After", func() bool {
				return call(5, "agent-a").Code == http.StatusNoContent
			})
		})
	}
}

// TestLimitRateFailsOpen: with Redis unreachable requests go through.
func TestLimitRateFailsOpen(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	h := limitRate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		&redisLimiter{rate: newRate(1, 1), client: client, prefix: "x:"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/customers", nil).WithContext(context.Background()))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("with Redis down: %d, want the request through", rec.Code)
		}
	}
}
