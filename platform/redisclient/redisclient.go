// Package redisclient opens the Redis clients of what guanxi can do
// without Redis for a while (the REST edge's shared rate limits, the
// notification service's frequency caps): a request must not wait on a
// Redis that is down. Commands fail at once while Redis is known to be
// down, and a probe in the background finds it again.
//
// go-redis on its own dials five times 100 ms apart and retries a failed
// command three times with backoff: with Redis down every request waited
// about 0.4 s for an answer that was always the same error.
//
// The URL names one Redis (redis://[user:pass@]host:port/db, rediss:// for
// TLS) or a Redis Cluster (redis+cluster://[user:pass@]host:port?addr=host2:port2&addr=...,
// rediss+cluster:// for TLS): a cluster's nodes are found from any of the
// addresses given, and commands go to the node holding their keys' slot.
// On a cluster every key a script or transaction touches must hash to
// one slot: callers key by hash tag ("{customer}") where they need that.
package redisclient

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for what the URL does not set (go-redis reads dial_timeout,
// read_timeout, write_timeout, pool_timeout and max_retries from it).
const (
	// DialTimeout bounds the first failure when Redis's host is gone
	// (a connect that never completes) rather than refusing.
	DialTimeout = 250 * time.Millisecond
	// IOTimeout bounds a command on a connection that stopped answering.
	IOTimeout = 500 * time.Millisecond
	// ProbeInterval is how often a down Redis is tried again.
	ProbeInterval = time.Second
)

// ErrDown is the error of commands while Redis is down: callers treat it
// as any other Redis failure (let the request through, try again later).
var ErrDown = errors.New("redis is down; retrying in the background")

// Cluster URL schemes: redis+cluster:// and rediss+cluster:// name a Redis
// Cluster, redis:// and rediss:// one Redis.
const (
	ClusterScheme    = "redis+cluster"
	ClusterTLSScheme = "rediss+cluster"
)

// IsCluster reports whether url names a Redis Cluster.
func IsCluster(url string) bool {
	return strings.HasPrefix(url, ClusterScheme+"://") || strings.HasPrefix(url, ClusterTLSScheme+"://")
}

// Open returns a client of the Redis (or Redis Cluster, see package
// comment) at url that fails fast while Redis is down (see package
// comment). Close the client to stop its probe.
func Open(url string, logger *slog.Logger) (redis.UniversalClient, error) {
	var (
		client redis.UniversalClient
		addr   string
	)
	if IsCluster(url) {
		// go-redis reads a cluster's seeds from a redis:// URL with addr
		// parameters; the scheme says it is a cluster.
		opts, err := redis.ParseClusterURL(strings.Replace(url, "+cluster://", "://", 1))
		if err != nil {
			return nil, err
		}
		failFast(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout, &opts.DialerRetries, &opts.MaxRetries)
		client, addr = redis.NewClusterClient(opts), strings.Join(opts.Addrs, ",")
	} else {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return nil, err
		}
		failFast(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout, &opts.DialerRetries, &opts.MaxRetries)
		client, addr = redis.NewClient(opts), opts.Addr
	}
	if logger == nil {
		logger = slog.Default()
	}
	b := &breaker{client: client, addr: addr, logger: logger, interval: ProbeInterval}
	client.AddHook(b)
	return client, nil
}

// orDefault is d when the URL left the timeout unset (0).
// failFast sets the options of a client (one server or a cluster) so
// that a request waits on Redis no longer than the timeouts: go-redis
// dials five times, 100 ms apart, before a command fails (the 0.4 s every
// request waited with Redis down), so one attempt, the probe redialing;
// and the breaker is the retry, so a failed command is not tried again
// while the request waits.
func failFast(dial, read, write, pool *time.Duration, dialerRetries, maxRetries *int) {
	*dial, *read, *write, *pool = orDefault(*dial, DialTimeout), orDefault(*read, IOTimeout),
		orDefault(*write, IOTimeout), orDefault(*pool, IOTimeout)
	*dialerRetries = 1
	if *maxRetries == 0 {
		*maxRetries = -1
	}
}

func orDefault(set, d time.Duration) time.Duration {
	if set == 0 {
		return d
	}
	return set
}

// breaker is the go-redis hook that marks Redis down on a connection
// failure, fails every command while it is, and probes it back up.
type breaker struct {
	client   redis.UniversalClient
	addr     string
	logger   *slog.Logger
	interval time.Duration

	down    atomic.Bool
	probing sync.Mutex // held by the one probe goroutine
}

type probeKey struct{}

// DialHook implements redis.Hook.
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.down.Load() && ctx.Value(probeKey{}) == nil {
			cmd.SetErr(ErrDown)
			return ErrDown
		}
		err := next(ctx, cmd)
		b.observe(ctx, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		// A new connection's handshake is a pipeline too, with the
		// context of the command that dialled: the probe's gets through.
		if b.down.Load() && ctx.Value(probeKey{}) == nil {
			for _, c := range cmds {
				c.SetErr(ErrDown)
			}
			return ErrDown
		}
		err := next(ctx, cmds)
		b.observe(ctx, err)
		return err
	}
}

// observe marks Redis down after a failure that is Redis's, not the
// command's (an error reply, a missing key) nor the caller's (a canceled
// request), and starts the probe.
func (b *breaker) observe(ctx context.Context, err error) {
	var reply redis.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.As(err, &reply), ctx.Err() != nil,
		errors.Is(err, redis.ErrClosed), ctx.Value(probeKey{}) != nil:
		return
	}
	if b.down.CompareAndSwap(false, true) {
		b.logger.Warn("redis down: failing fast, probing in the background", slog.String("addr", b.addr), slog.String("error", err.Error()))
		go b.probe()
	}
}

// probe pings Redis every interval until it answers or the client is
// closed, then lets commands through again.
func (b *breaker) probe() {
	if !b.probing.TryLock() {
		return
	}
	defer b.probing.Unlock()
	ctx := context.WithValue(context.Background(), probeKey{}, true)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for range t.C {
		pctx, cancel := context.WithTimeout(ctx, b.interval)
		err := b.client.Ping(pctx).Err()
		cancel()
		switch {
		case errors.Is(err, redis.ErrClosed):
			return
		case err == nil:
			b.down.Store(false)
			b.logger.Info("redis up again", slog.String("addr", b.addr))
			return
		}
	}
}
