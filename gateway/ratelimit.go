package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/guanxi-crm/guanxi/platform/redisclient"
)

// A rate is Limit requests a second per caller, with bursts of up to Burst
// requests at once. The limiters below implement it as the generic cell
// rate algorithm: each caller has a theoretical arrival time (tat), which
// every request pushes one interval later; a request is refused while
// tat would run more than Burst intervals ahead of now, and told to retry
// once it no longer would. One timestamp per caller, no counters to reset.
type rate struct {
	interval time.Duration // 1/Limit
	burst    int
}

func newRate(limit float64, burst int) rate {
	if burst < 1 {
		burst = max(1, int(math.Ceil(limit)))
	}
	return rate{interval: time.Duration(float64(time.Second) / limit), burst: burst}
}

// next returns the caller's new tat when a request at now is allowed, or
// how long it must wait.
func (r rate) next(tat, now time.Time) (time.Time, time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(r.interval)
	if allowAt := newTAT.Add(-time.Duration(r.burst) * r.interval); now.Before(allowAt) {
		return tat, allowAt.Sub(now)
	}
	return newTAT, 0
}

// limiter decides whether a caller's request may go on; wait is how long
// a refused caller should wait before trying again.
type limiter interface {
	allow(ctx context.Context, caller string, now time.Time) (wait time.Duration, err error)
}

// memoryLimiter keeps the callers' tats in this process: each gateway
// replica limits on its own.
type memoryLimiter struct {
	rate  rate
	mu    sync.Mutex
	tats  map[string]time.Time
	swept time.Time // when tats was last swept of idle callers
}

func newMemoryLimiter(r rate) *memoryLimiter {
	return &memoryLimiter{rate: r, tats: map[string]time.Time{}}
}

// Past sweepAbove callers, the limiter forgets those whose tat has passed
// (they are back to a full burst anyway), at most once a sweepEvery.
const (
	sweepAbove = 10_000
	sweepEvery = time.Second
)

func (l *memoryLimiter) allow(_ context.Context, caller string, now time.Time) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, wait := l.rate.next(l.tats[caller], now)
	if wait > 0 {
		return wait, nil
	}
	if len(l.tats) >= sweepAbove && now.Sub(l.swept) >= sweepEvery {
		l.swept = now
		for k, t := range l.tats {
			if t.Before(now) {
				delete(l.tats, k)
			}
		}
	}
	l.tats[caller] = tat
	return 0, nil
}

// redisLimiter keeps the tats in Redis, so every gateway replica counts a
// caller's requests together. Times come from the gateways' clocks.
type redisLimiter struct {
	rate   rate
	client redis.UniversalClient
	prefix string
}

// gcraScript is rate.next in Redis, in microseconds: it returns 0 and
// stores the new tat (expiring once it has passed), or returns the wait.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
`)

func (l *redisLimiter) allow(ctx context.Context, caller string, now time.Time) (time.Duration, error) {
	wait, err := gcraScript.Run(ctx, l.client, []string{l.prefix + caller},
		now.UnixMicro(), l.rate.interval.Microseconds(), l.rate.burst).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate limit: %w", err)
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// newLimiter returns the limiter cfg asks for, nil when it sets no limit,
// and a function that releases it.
func newLimiter(cfg Config, logger *slog.Logger) (limiter, func(), error) {
	switch {
	case cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0):
		return nil, nil, fmt.Errorf("GUANXI_GATEWAY_RATE_LIMIT must be a number of requests a second, 0 for none; got %v", cfg.RateLimit)
	case cfg.RateLimit == 0:
		return nil, func() {}, nil
	case cfg.RedisURL == "":
		return newMemoryLimiter(newRate(cfg.RateLimit, cfg.RateBurst)), func() {}, nil
	}
	// Should Redis fail, requests go through (see limitRate); the client
	// fails fast while it is down rather than redialling per request.
	client, err := redisclient.Open(cfg.RedisURL, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("GUANXI_GATEWAY_REDIS_URL: %w", err)
	}
	return &redisLimiter{rate: newRate(cfg.RateLimit, cfg.RateBurst), client: client, prefix: "guanxi:ratelimit:"},
		func() { _ = client.Close() }, nil
}

// callerKey is who a request counts against: the subject of its verified
// token (see authenticate), or else its client address.
func callerKey(r *http.Request) string {
	if sub := subjectOf(r); sub != "" {
		return "sub:" + sub
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// limitRate refuses a caller's requests beyond its rate with 429 Too Many
// Requests and a Retry-After in whole seconds. Should the limiter fail
// (Redis down), requests go through: the limit guards the services from
// abuse, and an outage of Redis must not become an outage of the API.
func limitRate(next http.Handler, l limiter, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, err := l.allow(r.Context(), callerKey(r), time.Now())
		// While Redis is known to be down the client said so once; a
		// line per request would bury the log.
		if err != nil && !errors.Is(err, redisclient.ErrDown) {
			logger.WarnContext(r.Context(), "rate limiter failed, letting the request through", slog.Any("error", err))
		}
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{
				"code": 8, "message": fmt.Sprintf("rate limit exceeded: retry after %d s", secs)})
			return
		}
		next.ServeHTTP(w, r)
	})
}
