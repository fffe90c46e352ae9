package natsembed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

// TestClusterRestartKeepsStore: a 3-node cluster holds an R3 stream; its
// leader is stopped and started again on the same ports and store, and the
// stream keeps every message, with a new leader meanwhile.
func TestClusterRestartKeepsStore(t *testing.T) {
	t.Parallel()
	c, err := natsembed.StartCluster("t", t.TempDir(), 3, natsembed.Config{SyncInterval: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if got := strings.Count(c.ClientURL(), "nats://127.0.0.1:"); got != 3 {
		t.Fatalf("ClientURL %q: want 3 loopback URLs", c.ClientURL())
	}
	nc, err := nats.Connect(c.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(n int) {
		for i := range n {
			for {
				if _, err := js.Publish(ctx, "s.x", []byte("m"), jetstream.WithMsgID(time.Now().String()+string(rune('a'+i)))); err == nil {
					break
				} else if ctx.Err() != nil {
					t.Fatal(err)
				}
			}
		}
	}
	publish(5)
	leader := -1
	waitFor(t, ctx, func() bool { leader = c.StreamLeader("S"); return leader >= 0 })
	node := c.Node(leader)
	dir, port := node.Config().Dir, node.Config().Port
	node.Stop()
	if node.Server() != nil {
		t.Fatal("stopped node still has a server")
	}
	waitFor(t, ctx, func() bool { l := c.StreamLeader("S"); return l >= 0 && l != leader })
	publish(5)
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	if node.Config().Dir != dir || node.Config().Port != port || node.ClientURL() != node.Server().ClientURL() {
		t.Fatalf("restarted node: dir %s port %d url %s/%s, want dir %s port %d", node.Config().Dir, node.Config().Port, node.ClientURL(), node.Server().ClientURL(), dir, port)
	}
	waitFor(t, ctx, func() bool {
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 10 && len(info.Cluster.Replicas) == 2 && allCurrent(info.Cluster.Replicas)
	})
}

func allCurrent(rs []*jetstream.PeerInfo) bool {
	for _, r := range rs {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
