package servicehost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// seen collects the ids a consumer handled, once each, and counts repeats.
type seen struct {
	mu      sync.Mutex
	ids     map[string]time.Time
	repeats int
}

func newSeen() *seen { return &seen{ids: map[string]time.Time{}} }

func (s *seen) handler(_ context.Context, m events.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[m.ID]; ok {
		s.repeats++
		return nil
	}
	s.ids[m.ID] = time.Now()
	return nil
}

func (s *seen) has(ids []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.ids[id]; !ok {
			return false
		}
	}
	return true
}

// enqueue writes n events in one transaction through the host's outbox, as
// a write RPC of the service does, and returns their ids.
func enqueue(t *testing.T, h *servicehost.Host, subject string, n int) []string {
	t.Helper()
	ids, err := tryEnqueue(h, subject, n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func tryEnqueue(h *servicehost.Host, subject string, n int) ([]string, error) {
	var evs []events.Event
	for i := range n {
		ev, err := events.NewEvent(context.Background(), "test", subject, &healthpb.HealthCheckRequest{Service: strconv.Itoa(i)})
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := h.DB.InTx(context.Background(), func(tx *sqldb.Tx) error {
		return h.Outbox.Enqueue(context.Background(), tx, evs...)
	}); err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids, nil
}

func healthOf(t *testing.T, conn *grpc.ClientConn, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatalf("health of %q: %v", service, err)
	}
	return resp.GetStatus()
}

// TestServesWithNATSDown: a service started while NATS is unreachable
// starts, serves (health SERVING, writes go to its outbox) and reports
// NATS as NOT_SERVING; once NATS answers it ensures its stream, drains the
// outbox and starts its consumers, without a restart. When NATS goes away
// again and comes back, the events written meanwhile go out too.
func TestServesWithNATSDown(t *testing.T) {
	t.Parallel()
	for _, db := range testinfra.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ports, err := natsembed.FreePorts("127.0.0.1", 1)
			if err != nil {
				t.Fatal(err)
			}
			natsCfg := natsembed.Config{Dir: t.TempDir(), Port: ports[0]}
			url := fmt.Sprintf("nats://127.0.0.1:%d", ports[0])

			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			opts := options(t, url)
			opts.DatabaseURL, opts.Listener = db.URL, lis
			begun := time.Now()
			h, err := servicehost.Start(context.Background(), opts, quiet())
			if err != nil {
				t.Fatalf("Start with NATS down: %v", err)
			}
			if took := time.Since(begun); took > 3*time.Second {
				t.Errorf("Start with NATS down took %v", took)
			}
			got := newSeen()
			h.Consume(events.ConsumerConfig{Stream: opts.Stream, Durable: "reader"}, got.handler)
			ctx, cancel := context.WithCancel(context.Background())
			done := runHost(ctx, h)
			defer func() {
				cancel()
				if err := wait(t, done); err != nil {
					t.Errorf("Run = %v", err)
				}
			}()

			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if s := healthOf(t, conn, ""); s != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("service health with NATS down = %v, want SERVING", s)
			}
			if s := healthOf(t, conn, servicehost.NATSHealthService); s != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("nats health with NATS down = %v, want NOT_SERVING", s)
			}
			written := enqueue(t, h, opts.Stream+".written", 5)
			if n, err := h.Outbox.Depth(context.Background()); err != nil || n != 5 {
				t.Fatalf("outbox depth with NATS down = %d, %v; want 5", n, err)
			}

			ns, err := natsembed.Start(natsCfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			testinfra.Eventually(t, 20*time.Second, "the outbox to drain to the consumer once NATS is up", func() bool {
				n, err := h.Outbox.Depth(context.Background())
				return err == nil && n == 0 && got.has(written)
			})
			testinfra.Eventually(t, 10*time.Second, "nats health SERVING", func() bool {
				return healthOf(t, conn, servicehost.NATSHealthService) == healthpb.HealthCheckResponse_SERVING
			})

			ns.Shutdown()
			ns.WaitForShutdown()
			testinfra.Eventually(t, 10*time.Second, "nats health NOT_SERVING after NATS stopped", func() bool {
				return healthOf(t, conn, servicehost.NATSHealthService) == healthpb.HealthCheckResponse_NOT_SERVING
			})
			if s := healthOf(t, conn, ""); s != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("service health with NATS stopped = %v, want SERVING", s)
			}
			later := enqueue(t, h, opts.Stream+".later", 3)
			ns, err = natsembed.Start(natsCfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ns.Shutdown()
				ns.WaitForShutdown()
			}()
			testinfra.Eventually(t, 20*time.Second, "the events written while NATS was away to arrive", func() bool {
				return got.has(later)
			})
			testinfra.Eventually(t, 10*time.Second, "nats health SERVING again", func() bool {
				return healthOf(t, conn, servicehost.NATSHealthService) == healthpb.HealthCheckResponse_SERVING
			})
			got.mu.Lock()
			defer got.mu.Unlock()
			if len(got.ids) != 8 {
				t.Errorf("consumer saw %d distinct events, want 8", len(got.ids))
			}
		})
	}
}

// TestRefusesOldNATSServer: a service connecting to a nats-server older
// than 2.10 (Debian's 2.9) fails to start, naming the version it found and
// the one it needs; started while NATS is unreachable, it stops with the
// same reason once the old server answers.
func TestRefusesOldNATSServer(t *testing.T) {
	t.Parallel()
	const old = "/usr/sbin/nats-server"
	if _, err := os.Stat(old); err != nil {
		t.Skipf("no nats-server at %s: %v", old, err)
	}
	out, err := exec.Command(old, "--version").Output()
	if err != nil || !strings.Contains(string(out), "v2.9.") {
		t.Skipf("%s is not a 2.9 server: %q, %v", old, out, err)
	}
	ports, err := natsembed.FreePorts("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	startOld := func() {
		srv := exec.Command(old, "-a", "127.0.0.1", "-p", strconv.Itoa(ports[0]), "-js", "-sd", filepath.Join(t.TempDir(), "js"))
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = srv.Process.Kill()
			_ = srv.Wait()
		})
		testinfra.Eventually(t, 10*time.Second, "nats-server 2.9 to listen", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				_ = c.Close()
			}
			return err == nil
		})
	}
	refused := func(err error) {
		t.Helper()
		for _, want := range []string{"2.9.", "2.10.0"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
		t.Logf("refused: %v", err)
	}

	// Unreachable at start: the service runs, then stops once it finds
	// the old server.
	h, err := servicehost.Start(context.Background(), options(t, "nats://"+addr), quiet())
	if err != nil {
		t.Fatalf("Start with NATS down: %v", err)
	}
	done := runHost(context.Background(), h)
	startOld()
	err = wait(t, done)
	if err == nil {
		t.Fatal("Run against nats-server 2.9 returned nil")
	}
	refused(err)

	// Reachable at start: Start fails.
	_, err = servicehost.Start(context.Background(), options(t, "nats://"+addr), quiet())
	if err == nil {
		t.Fatal("Start against nats-server 2.9 succeeded")
	}
	refused(err)
}

// TestStreamLeaderKill: on a 3-node cluster with R3 streams, a service
// publishes through its outbox every 10ms and consumes its own events; the
// node leading the stream is stopped (as nats-server stops on SIGTERM),
// later started again, twice. Event flow, measured from publish through
// the outbox to the consumer, stops for under 5 s each time, and every
// event arrives, once in the stream.
func TestStreamLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster run of half a minute")
	}
	for _, db := range testinfra.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			cluster, err := natsembed.StartCluster("leaderkill", t.TempDir(), 3, natsembed.Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Shutdown()
			gaps := leaderKills(t, db.URL, cluster.ClientURL(), cluster.StreamLeader,
				func(i int) { cluster.Node(i).Stop() },
				func(i int) error { return cluster.Node(i).Start() })
			for _, gap := range gaps {
				if gap >= 5*time.Second {
					t.Errorf("event flow stopped for %v after the stream leader stopped, want under 5s", gap)
				}
			}
		})
	}
}

// leaderKills runs a service on the cluster at url with R3 streams, writing
// an event through its outbox every 10ms and consuming its own events, and
// twice stops the node leading its stream (leader, stop), waits for events
// to flow again, and starts the node again. It checks that every event
// arrived and the stream holds each once, prints the figures and returns
// the longest pause of event flow of each round.
func leaderKills(t *testing.T, dbURL, url string, leader func(stream string) int, stop func(i int), start func(i int) error) []time.Duration {
	t.Helper()
	opts := options(t, url)
	opts.DatabaseURL = dbURL
	opts.Streams = events.StreamOptions{Replicas: 3}
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	info, err := streamInfo(h, opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if info.replicas != 3 {
		t.Fatalf("stream has %d replicas, want 3", info.replicas)
	}
	got := newSeen()
	h.Consume(events.ConsumerConfig{Stream: opts.Stream, Durable: "reader", Concurrency: 4}, got.handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := runHost(ctx, h)
	defer func() {
		cancel()
		if err := wait(t, done); err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	// The writer: one event per transaction, every 10ms.
	var (
		pubMu     sync.Mutex
		published []string
	)
	stopWriting := make(chan struct{})
	writerDone := make(chan struct{})
	var stopOnce sync.Once
	stopWriter := func() {
		stopOnce.Do(func() { close(stopWriting) })
		<-writerDone
	}
	// Before Run's defer closes the database under the writer.
	defer stopWriter()
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWriting:
				return
			case <-tick.C:
			}
			ids, err := tryEnqueue(h, opts.Stream+".tick", 1)
			if err != nil {
				t.Errorf("write an event: %v", err)
				return
			}
			pubMu.Lock()
			published = append(published, ids...)
			pubMu.Unlock()
		}
	}()
	count := func() int {
		got.mu.Lock()
		defer got.mu.Unlock()
		return len(got.ids)
	}
	testinfra.Eventually(t, 20*time.Second, "events to flow", func() bool { return count() >= 50 })

	var gaps []time.Duration
	for round := range 2 {
		node := -1
		testinfra.Eventually(t, 30*time.Second, "a stream leader", func() bool {
			node = leader(opts.Stream)
			return node >= 0
		})
		before := count()
		stopped := time.Now()
		stop(node)
		testinfra.Eventually(t, 30*time.Second, "events to flow after the leader stopped", func() bool { return count() >= before+100 })
		if err := start(node); err != nil {
			t.Fatal(err)
		}
		testinfra.Eventually(t, 30*time.Second, "events to flow after the node returned", func() bool { return count() >= before+300 })
		gap := got.maxGapAfter(stopped.Add(-time.Second))
		gaps = append(gaps, gap)
		t.Logf("round %d: stopped node %d (stream leader); event flow stopped for %v at most (publish -> outbox -> consumer)", round+1, node, gap.Round(time.Millisecond))
	}
	stopWriter()
	pubMu.Lock()
	all := published
	pubMu.Unlock()
	testinfra.Eventually(t, 30*time.Second, "every published event to arrive", func() bool { return got.has(all) })
	testinfra.Eventually(t, 10*time.Second, "the stream to hold every event once", func() bool {
		info, err := streamInfo(h, opts.Stream)
		return err == nil && info.msgs == uint64(len(all))
	})
	got.mu.Lock()
	repeats := got.repeats
	got.mu.Unlock()
	fmt.Printf("%s: events=%d lost=0 redelivered=%d flow stopped for at most %v\n", t.Name(), len(all), repeats, gaps)
	return gaps
}

type jetstreamInfo struct {
	replicas int
	msgs     uint64
}

func streamInfo(h *servicehost.Host, stream string) (*jetstreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.JS.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info := s.CachedInfo()
	return &jetstreamInfo{replicas: info.Config.Replicas, msgs: info.State.Msgs}, nil
}

// maxGapAfter is the longest time between two events arriving one after
// the other, from the first that arrived after from on.
func (s *seen) maxGapAfter(from time.Time) time.Duration {
	s.mu.Lock()
	times := make([]time.Time, 0, len(s.ids))
	for _, at := range s.ids {
		if !at.Before(from) {
			times = append(times, at)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	for i := 1; i < len(times); i++ {
		gap = max(gap, times[i].Sub(times[i-1]))
	}
	return gap
}

// TestStreamReplicas: a service's stream made with one replica on a
// cluster is raised to three when the service starts again with Replicas
// 3, keeping its messages and storage; on a single server, Replicas 3 is
// refused at start with the setting named.
func TestStreamReplicas(t *testing.T) {
	t.Parallel()
	cluster, err := natsembed.StartCluster("replicas", t.TempDir(), 3, natsembed.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Shutdown()
	opts := options(t, cluster.ClientURL())
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := h.JS.Publish(ctx, opts.Stream+".x", []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if info, err := streamInfo(h, opts.Stream); err != nil || info.replicas != 1 {
		t.Fatalf("stream info = %+v, %v; want 1 replica", info, err)
	}
	if _, err := h.JS.CreateOrUpdateConsumer(ctx, opts.Stream, jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	opts.Streams = events.StreamOptions{Replicas: 3}
	h, err = servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := h.JS.Stream(ctx, opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.CachedInfo().Config; cfg.Replicas != 3 || cfg.Storage.String() != "File" {
		t.Fatalf("stream config after Replicas 3: %d replicas, %s storage; want 3, File", cfg.Replicas, cfg.Storage)
	}
	testinfra.Eventually(t, 20*time.Second, "the two new replicas to catch up with 3 messages", func() bool {
		info, err := s.Info(ctx)
		if err != nil || info.State.Msgs != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return false
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current {
				return false
			}
		}
		return true
	})

	// A durable made on the R1 stream follows it to three replicas.
	testinfra.Eventually(t, 20*time.Second, "the consumer to have two replicas besides its leader", func() bool {
		c, err := h.JS.Consumer(ctx, opts.Stream, "reader")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		if err != nil {
			return false
		}
		return info.Cluster != nil && len(info.Cluster.Replicas) == 2
	})

	single := options(t, testinfra.EmbeddedNATS(t))
	single.Streams = events.StreamOptions{Replicas: 3}
	if h, err := servicehost.Start(context.Background(), single, quiet()); err == nil {
		_ = h.Close()
		t.Fatal("Replicas 3 on a single server: Start succeeded")
	} else if !strings.Contains(err.Error(), "NATS_STREAM_REPLICAS=3") {
		t.Errorf("Replicas 3 on a single server: %v, want the setting named", err)
	}
}

// nodeProcess is a NATS cluster node run as a process of its own (the test
// binary, see TestMain), so it can be killed outright.
type nodeProcess struct {
	cfg   natsembed.Config
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (n *nodeProcess) start(t *testing.T) error {
	cfg, err := json.Marshal(n.cfg)
	if err != nil {
		return err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNATSNode+"="+string(cfg))
	cmd.Stderr = os.Stderr
	if n.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd = cmd
	addr := net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
	testinfra.Eventually(t, 20*time.Second, "node "+n.cfg.Name+" to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return nil
}

// kill kills the node with SIGKILL: no leader steps down, no connection
// is closed cleanly.
func (n *nodeProcess) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
	_ = n.stdin.Close()
	n.cmd = nil
}

// TestStreamLeaderKill9 is TestStreamLeaderKill with the nodes as
// processes and the leader killed with SIGKILL. Nothing is lost; the pause
// is bounded by nats-server's Raft election timeout (a follower calls an
// election 4 to 9 s after it last heard from the leader, not configurable),
// so it is reported, and held under 15 s.
func TestStreamLeaderKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster run of half a minute")
	}
	for _, db := range testinfra.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			cfgs, err := natsembed.PlanCluster("kill9", t.TempDir(), 3, natsembed.Config{})
			if err != nil {
				t.Fatal(err)
			}
			nodes := make([]*nodeProcess, len(cfgs))
			urls := make([]string, len(cfgs))
			for i, cfg := range cfgs {
				nodes[i] = &nodeProcess{cfg: cfg}
				urls[i] = fmt.Sprintf("nats://%s:%d", cfg.Host, cfg.Port)
				defer nodes[i].kill()
			}
			for _, n := range nodes {
				if err := n.start(t); err != nil {
					t.Fatal(err)
				}
			}
			url := strings.Join(urls, ",")
			nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			testinfra.Eventually(t, 30*time.Second, "a JetStream meta leader", func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err := js.AccountInfo(ctx)
				return err == nil
			})
			leader := func(stream string) int {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				s, err := js.Stream(ctx, stream)
				if err != nil {
					return -1
				}
				info, err := s.Info(ctx)
				if err != nil || info.Cluster == nil {
					return -1
				}
				for i, cfg := range cfgs {
					if cfg.Name == info.Cluster.Leader {
						return i
					}
				}
				return -1
			}
			gaps := leaderKills(t, db.URL, url, leader,
				func(i int) { nodes[i].kill() },
				func(i int) error { return nodes[i].start(t) })
			for _, gap := range gaps {
				if gap >= 15*time.Second {
					t.Errorf("event flow stopped for %v after the stream leader was killed, want under 15s", gap)
				}
			}
		})
	}
}

// TestStopsCleanlyWithNATSDown: a service that never reached NATS stops
// cleanly (Run returns nil), its consumers never started and its outbox
// keeping what was written.
func TestStopsCleanlyWithNATSDown(t *testing.T) {
	t.Parallel()
	ports, err := natsembed.FreePorts("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	opts := options(t, fmt.Sprintf("nats://127.0.0.1:%d", ports[0]))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listener = lis
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h.GoWithNATS("needs nats", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return nil
	})
	enqueue(t, h, opts.Stream+".kept", 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := runHost(ctx, h)
	checkServing(t, lis.Addr().String())
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run with NATS down, stopped: %v, want nil", err)
	}
	select {
	case <-started:
		t.Error("a loop needing NATS started without it")
	default:
	}
	db := testinfra.OpenDB(t, opts.DatabaseURL, nil)
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("outbox rows after stopping = %d, %v; want 2 kept", n, err)
	}
}
