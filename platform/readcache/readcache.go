// Package readcache is the read-through cache of a service's hot reads (a
// loyalty balance, a customer profile): in each process, or shared by a
// service's replicas in Redis when one is configured. Redis is never the
// only copy: a miss, and any Redis failure, reads the database instead.
//
// Staleness is bounded by the TTL: a value is served at most TTL after the
// read that produced it began, so a change committed at t shows in every
// read that begins after t + TTL, whatever invalidation was lost on the
// way. Invalidation makes it show sooner: the writer invalidates the keys
// it changed once its transaction commits, and other replicas invalidate
// on the service's own events (their composition root subscribes to its
// stream and calls Invalidate).
package readcache

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a Cache.
type Options[V any] struct {
	// TTL bounds how long a value is served; 0 or less disables the
	// cache (every Get loads).
	TTL time.Duration
	// MaxEntries bounds the values kept in process (0: 100,000).
	MaxEntries int
	// Redis, when set, holds the values instead of the process, shared
	// by every replica, under Prefix; Encode and Decode convert them.
	Redis  redis.UniversalClient
	Prefix string
	Encode func(V) ([]byte, error)
	Decode func([]byte) (V, error)
	// Logger notes Redis failures (once per outage; the reads go on from
	// the database).
	Logger *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Cache is a read-through cache of values of type V by string key.
type Cache[V any] struct {
	ttl        time.Duration
	maxEntries int
	rdb        redis.UniversalClient
	prefix     string
	encode     func(V) ([]byte, error)
	decode     func([]byte) (V, error)
	logger     *slog.Logger
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]entry[V]
	failing atomic.Bool // Redis failed last time: logged once an outage
}

// entry is a value with the time it stops being served, or, without a
// value, a tombstone: the key was invalidated at dropped, and a load that
// began before then must not store what it read.
type entry[V any] struct {
	val     V
	has     bool
	expires time.Time
	dropped time.Time
}

// New returns a cache configured by opts.
func New[V any](opts Options[V]) *Cache[V] {
	c := &Cache[V]{ttl: opts.TTL, maxEntries: opts.MaxEntries, rdb: opts.Redis, prefix: opts.Prefix,
		encode: opts.Encode, decode: opts.Decode, logger: opts.Logger, now: opts.Now, entries: map[string]entry[V]{}}
	if c.maxEntries <= 0 {
		c.maxEntries = 100_000
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.rdb != nil && (c.encode == nil || c.decode == nil) {
		panic("readcache: Redis needs Encode and Decode")
	}
	return c
}

// TTL is the staleness bound of the cache's values.
func (c *Cache[V]) TTL() time.Duration { return c.ttl }

// Get returns the value of key, from the cache when it holds one, else
// from load, keeping it. load's errors are returned and not kept (a
// not-found is read again next time).
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	if c == nil || c.ttl <= 0 {
		return load(ctx)
	}
	if c.rdb != nil {
		return c.getRedis(ctx, key, load)
	}
	start := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.has && start.Before(e.expires) {
		return e.val, nil
	}
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && !e.has && !e.dropped.Before(start) {
		return v, nil // invalidated while it was read: maybe older than the change
	}
	if len(c.entries) >= c.maxEntries {
		c.sweepLocked(start)
	}
	c.entries[key] = entry[V]{val: v, has: true, expires: start.Add(c.ttl)}
	return v, nil
}

// sweepLocked drops ended entries and, when that is not enough, all of
// them: a miss costs only a read.
func (c *Cache[V]) sweepLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= c.maxEntries {
		clear(c.entries)
	}
}

// Invalidate drops keys, so that the next Get of each loads it. Loads that
// began before and end after keep nothing.
func (c *Cache[V]) Invalidate(ctx context.Context, keys ...string) {
	if c == nil || c.ttl <= 0 || len(keys) == 0 {
		return
	}
	if c.rdb != nil {
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = c.prefix + k
		}
		// One DEL per key: on a cluster the keys live in different slots.
		pipe := c.rdb.Pipeline()
		for _, k := range full {
			pipe.Del(ctx, k)
		}
		_, err := pipe.Exec(ctx)
		c.noteRedis(err)
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries)+len(keys) > c.maxEntries {
		c.sweepLocked(now)
	}
	for _, k := range keys {
		// The tombstone lives as long as a load may: one begun before
		// the invalidation and ended after the TTL keeps nothing anyway.
		c.entries[k] = entry[V]{dropped: now, expires: now.Add(c.ttl)}
	}
}

func (c *Cache[V]) getRedis(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	start := c.now()
	raw, err := c.rdb.Get(ctx, c.prefix+key).Bytes()
	switch {
	case err == nil:
		if v, err := c.decode(raw); err == nil {
			c.noteRedis(nil)
			return v, nil
		}
		// Undecodable (an older version's form): read it afresh.
	case err == redis.Nil:
		c.noteRedis(nil)
	default:
		c.noteRedis(err)
	}
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	// The value lives until TTL after its read began, no longer.
	left := c.ttl - c.now().Sub(start)
	if left < time.Millisecond {
		return v, nil
	}
	raw, err = c.encode(v)
	if err != nil {
		return v, nil
	}
	c.noteRedis(c.rdb.Set(ctx, c.prefix+key, raw, left).Err())
	return v, nil
}

// noteRedis logs the first failure of an outage and the recovery; reads go
// on from the database meanwhile.
func (c *Cache[V]) noteRedis(err error) {
	switch {
	case err != nil && c.failing.CompareAndSwap(false, true):
		c.logger.Warn("read cache: Redis failed, reading from the database", slog.String("error", err.Error()))
	case err == nil && c.failing.Load() && c.failing.CompareAndSwap(true, false):
		c.logger.Info("read cache: Redis answers again")
	}
}
