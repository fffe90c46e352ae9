package readcache_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/readcache"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// counter is a value source that counts its loads.
type counter struct{ loads atomic.Int64 }

func (c *counter) load(context.Context) (int64, error) { return c.loads.Add(1), nil }

var codec = readcache.Options[int64]{
	Encode: func(v int64) ([]byte, error) { return []byte(strconv.FormatInt(v, 10)), nil },
	Decode: func(b []byte) (int64, error) { return strconv.ParseInt(string(b), 10, 64) },
}

func TestInProcessKeepsForTheTTLAndDropsOnInvalidate(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	c := readcache.New(readcache.Options[int64]{TTL: time.Second, Now: func() time.Time { return now }})
	var src counter
	get := func() int64 {
		t.Helper()
		v, err := c.Get(ctx, "k", src.load)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get() != 1 || get() != 1 {
		t.Fatal("a second Get within the TTL loaded again")
	}
	now = now.Add(time.Second)
	if get() != 2 {
		t.Fatal("a Get at the TTL did not load")
	}
	c.Invalidate(ctx, "k")
	now = now.Add(time.Millisecond)
	if get() != 3 {
		t.Fatal("a Get after Invalidate did not load")
	}
	if _, err := c.Get(ctx, "e", func(context.Context) (int64, error) { return 0, errors.New("no") }); err == nil {
		t.Fatal("a load's error was not returned")
	}
}

// A load that began before an invalidation may have read the old value:
// it is returned but not kept.
func TestLoadRacingAnInvalidationKeepsNothing(t *testing.T) {
	ctx := context.Background()
	c := readcache.New(readcache.Options[int64]{TTL: time.Minute})
	_, _ = c.Get(ctx, "k", func(ctx context.Context) (int64, error) {
		c.Invalidate(ctx, "k") // the change commits while the read runs
		return 1, nil
	})
	var src counter
	if v, _ := c.Get(ctx, "k", src.load); v != 1 || src.loads.Load() != 1 {
		t.Fatalf("the value read before the invalidation was kept (got %d, %d loads)", v, src.loads.Load())
	}
}

func TestRedisSharedAndDownFallsBackToTheLoad(t *testing.T) {
	ctx := context.Background()
	url := testkit.RedisURL(t)
	rdb, err := redisclient.Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	opts := codec
	opts.TTL, opts.Redis, opts.Prefix = time.Minute, rdb, testkit.UniqueName("readcache")+":"
	a, b := readcache.New(opts), readcache.New(opts)
	var src counter
	if v, _ := a.Get(ctx, "k", src.load); v != 1 {
		t.Fatalf("first Get = %d", v)
	}
	if v, _ := b.Get(ctx, "k", src.load); v != 1 || src.loads.Load() != 1 {
		t.Fatal("a second replica did not read the first's value from Redis")
	}
	a.Invalidate(ctx, "k")
	if v, _ := b.Get(ctx, "k", src.load); v != 2 {
		t.Fatal("an invalidation by one replica did not reach the other")
	}

	// Nothing listens here: every Get loads, without an error.
	down, err := redisclient.Open("redis://127.0.0.1:1/0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	opts.Redis = down
	c := readcache.New(opts)
	for i := range 3 {
		v, err := c.Get(ctx, "k", src.load)
		if err != nil || v != int64(3+i) {
			t.Fatalf("Get with Redis down = %d, %v; want %d from the load", v, err, 3+i)
		}
	}
	c.Invalidate(ctx, "k") // no panic, no error to return
}
