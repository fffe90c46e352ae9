package redisclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// TestFailsFastWhileDown: with Redis down, the first command fails, and
// the next ones fail at once with ErrDown instead of redialling.
func TestFailsFastWhileDown(t *testing.T) {
	t.Parallel()
	client, err := redisclient.Open("redis://"+closedPort(t)+"/0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	start := time.Now()
	if err := client.Get(ctx, "k").Err(); err == nil {
		t.Fatal("a command to a closed port succeeded")
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("the first command to a closed port failed after %s, want well under 100ms", took)
	}
	for i := range 20 {
		start := time.Now()
		err := client.Incr(ctx, "k").Err()
		if took := time.Since(start); !errors.Is(err, redisclient.ErrDown) || took > 10*time.Millisecond {
			t.Fatalf("command %d while down: %v after %s, want ErrDown at once", i+2, err, took)
		}
	}
}

// TestFindsRedisAgain: once Redis answers again, the background probe lets
// commands through; errors Redis replies with do not count as Redis down.
func TestFindsRedisAgain(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testkit.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := closedPort(t)
	client, err := redisclient.Open("redis://"+addr+"/"+strconv.Itoa(opts.DB), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if err := client.Ping(ctx).Err(); !errors.Is(err, redisclient.ErrDown) {
		t.Fatalf("second ping: %v, want ErrDown", err)
	}
	// Redis comes back at the address: a proxy to the test's Redis.
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the closed port was taken meanwhile: %v", err)
	}
	defer lis.Close()
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", opts.Addr)
			if err != nil {
				in.Close()
				continue
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	testkit.Eventually(t, 5*time.Second, "commands go through again", func() bool {
		return client.Ping(ctx).Err() == nil
	})

	key := "guanxi-test:redisclient:" + time.Now().Format(time.RFC3339Nano)
	defer client.Del(ctx, key)
	if err := client.Set(ctx, key, "not a number", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	// An error reply (INCR of a string) leaves the client up.
	if err := client.Incr(ctx, key).Err(); err == nil || errors.Is(err, redisclient.ErrDown) {
		t.Fatalf("INCR of a string: %v, want Redis's error reply", err)
	}
	if err := client.Get(ctx, key).Err(); err != nil {
		t.Fatalf("after an error reply: %v", err)
	}
}

// TestCluster: a redis+cluster:// URL opens a cluster client that finds
// every node from the seeds and routes keys to their slots' nodes; a
// script over keys of two slots is refused by the cluster, keys sharing a
// hash tag are not.
func TestCluster(t *testing.T) {
	t.Parallel()
	url := testkit.RedisCluster(t)
	if !redisclient.IsCluster(url) {
		t.Fatalf("%s is not read as a cluster URL", url)
	}
	client, err := redisclient.Open(url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, ok := client.(*redis.ClusterClient); !ok {
		t.Fatalf("Open(%s) = %T, want a cluster client", url, client)
	}
	ctx := context.Background()
	masters := map[string]bool{}
	for i := range 30 {
		key := "k" + strconv.Itoa(i)
		if err := client.Set(ctx, key, i, time.Minute).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		if got, err := client.Get(ctx, key).Int(); err != nil || got != i {
			t.Fatalf("get %s = %d, %v", key, got, err)
		}
	}
	err = client.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		if n > 0 {
			masters[c.Options().Addr] = true
		}
		return err
	})
	if err != nil || len(masters) != 3 {
		t.Fatalf("keys on %d masters (%v), want all 3", len(masters), err)
	}
	script := redis.NewScript(`return #KEYS`)
	if err := script.Run(ctx, client, []string{"k1", "k2"}).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a script over two slots: %v, want CROSSSLOT", err)
	}
	if n, err := script.Run(ctx, client, []string{"{c1}:a", "{c1}:b"}).Int(); err != nil || n != 2 {
		t.Fatalf("a script over one hash tag: %d, %v", n, err)
	}
}
