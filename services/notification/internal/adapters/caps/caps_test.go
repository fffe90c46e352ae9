package caps_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/caps"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// TestCappers: the frequency caps count the same on the database, on one
// Redis and on a 3-node Redis Cluster (started by the test), where a batch
// of many customers' keys spans every node's slots: per key, a message is
// counted while its customer, channel and day are under the limit, in the
// batch's order, and never past the limit under concurrent batches.
func TestCappers(t *testing.T) {
	t.Parallel()
	cappers := map[string]func(t *testing.T) domain.Capper{
		"redis": func(t *testing.T) domain.Capper { return openRedis(t, testinfra.RedisURL(t)) },
		"redis-cluster": func(t *testing.T) domain.Capper {
			return openRedis(t, testinfra.RedisCluster(t))
		},
	}
	for _, d := range testinfra.Databases(t) {
		cappers[d.Name] = func(t *testing.T) domain.Capper { return caps.NewSQL(testinfra.OpenDB(t, d.URL, migrations.FS)) }
	}
	for name, open := range cappers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCapper(t, open(t))
		})
	}
}

func openRedis(t *testing.T, url string) domain.Capper {
	t.Helper()
	client, err := redisclient.Open(url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	// A fresh prefix: the shared test Redis keeps other runs' counters.
	return caps.NewRedis(client, testinfra.UniqueName("guanxi-test:caps:")+":")
}

func testCapper(t *testing.T, c domain.Capper) {
	ctx := context.Background()
	const day = "2026-12-07"

	// A campaign's batch: many customers, each once.
	batch := make([]domain.CapKey, 60)
	for i := range batch {
		batch[i] = domain.CapKey{CustomerID: fmt.Sprintf("customer-%03d", i), Channel: domain.ChannelEmail, Day: day}
	}
	for round, want := range []bool{true, true, false} {
		got, err := c.Reserve(ctx, batch, 2)
		if err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		for i, ok := range got {
			if ok != want {
				t.Fatalf("round %d, %s: counted %v, want %v", round+1, batch[i].CustomerID, ok, want)
			}
		}
	}

	// One customer several times in a batch, among others: counted in
	// order, each channel and day on its own.
	mixed := []domain.CapKey{
		{CustomerID: "mixed-a", Channel: domain.ChannelEmail, Day: day},
		{CustomerID: "mixed-b", Channel: domain.ChannelEmail, Day: day},
		{CustomerID: "mixed-a", Channel: domain.ChannelEmail, Day: day},
		{CustomerID: "mixed-a", Channel: domain.ChannelSMS, Day: day},
		{CustomerID: "mixed-a", Channel: domain.ChannelEmail, Day: day},
		{CustomerID: "mixed-a", Channel: domain.ChannelEmail, Day: "2026-12-08"},
	}
	got, err := c.Reserve(ctx, mixed, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mixed batch: counted %v, want %v", got, want)
		}
	}

	// Replicas racing for one customer's last slots: never past the limit.
	const limit, racers = 3, 8
	var counted atomic.Int64
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			got, err := c.Reserve(ctx, []domain.CapKey{{CustomerID: "raced", Channel: domain.ChannelEmail, Day: day}, batch[0]}, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if got[0] {
				counted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := counted.Load(); n != limit {
		t.Errorf("%d racing batches counted %d messages for one customer, want the limit %d", racers, n, limit)
	}
}
