package servicehost_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func options(t *testing.T, natsURL string) servicehost.Options {
	t.Helper()
	stream := testinfra.UniqueName("HOST")
	return servicehost.Options{
		Name:           "test",
		DatabaseURL:    testinfra.SQLiteURL(t),
		Broker:         servicehost.Broker{NATSURL: natsURL},
		Stream:         stream,
		StreamSubjects: []string{stream + ".>"},
		GRPCAddr:       "127.0.0.1:0",
		Auth:           testinfra.AuthConfig(t),
	}
}

// runHost runs h.Run in the background and returns its result channel.
func runHost(ctx context.Context, h *servicehost.Host) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20s")
		return nil
	}
}

func checkServing(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, want SERVING", resp.GetStatus())
	}
}

func TestCleanShutdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := servicehost.Start(ctx, options(t, testinfra.EmbeddedNATS(t)), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if h.Outbox == nil {
		t.Fatal("Outbox is nil for a service with a stream")
	}
	loopStopped := make(chan struct{})
	h.Go("idle", func(ctx context.Context) error {
		<-ctx.Done()
		close(loopStopped)
		return nil
	})
	runCtx, cancel := context.WithCancel(ctx)
	done := runHost(runCtx, h)
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	select {
	case <-loopStopped:
	default:
		t.Error("the added loop was not stopped")
	}
	if err := h.DB.SQL().PingContext(ctx); err == nil {
		t.Error("database still open after Run")
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close after Run = %v, want nil", err)
	}
}

func TestFailingLoopStopsRun(t *testing.T) {
	t.Parallel()
	h, err := servicehost.Start(context.Background(), options(t, testinfra.EmbeddedNATS(t)), quiet())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	h.Go("failing", func(context.Context) error { return boom })
	// Only the loop's failure can end Run: its context never ends.
	if err := wait(t, runHost(context.Background(), h)); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the loop's error", err)
	}
}

func TestStartFailureReleasesEverything(t *testing.T) {
	t.Parallel()
	ns, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	noClients := func() bool { return ns.NumClients() == 0 }

	t.Run("bad database url", func(t *testing.T) {
		opts := options(t, ns.ClientURL())
		opts.DatabaseURL = "nosuchdb://" + filepath.Join(t.TempDir(), "x.db")
		if _, err := servicehost.Start(context.Background(), opts, quiet()); err == nil {
			t.Fatal("Start with a bad database URL succeeded")
		}
		if !noClients() {
			t.Errorf("%d NATS connections left open", ns.NumClients())
		}
	})

	t.Run("address in use", func(t *testing.T) {
		// Everything but the listener opens, so this shows each is released.
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		opts := options(t, ns.ClientURL())
		opts.GRPCAddr = taken.Addr().String()
		if _, err := servicehost.Start(context.Background(), opts, quiet()); err == nil {
			t.Fatal("Start on an address in use succeeded")
		}
		testinfra.Eventually(t, 5*time.Second, "the NATS connection to close", noClients)
	})
}

func TestServesGivenListener(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := options(t, testinfra.EmbeddedNATS(t))
	opts.GRPCAddr = "unused:1" // the listener wins
	opts.Listener = lis
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := runHost(ctx, h)
	checkServing(t, lis.Addr().String())
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
}

func TestNoStreamNoOutbox(t *testing.T) {
	t.Parallel()
	opts := options(t, testinfra.EmbeddedNATS(t))
	opts.Stream, opts.StreamSubjects = "", nil
	h, err := servicehost.Start(context.Background(), opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if h.Outbox != nil {
		t.Error("Outbox set for a service that publishes nothing")
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestRunClosesInReverseOrder shows what a service registers with OnClose
// and Dial is closed once, in reverse order, after its loops stopped and
// while the database is still open.
func TestRunClosesInReverseOrder(t *testing.T) {
	t.Parallel()
	var order []string
	var conn *grpc.ClientConn
	var loopStopped bool
	ctx, cancel := context.WithCancel(context.Background())
	build := func(_ context.Context, h *servicehost.Host) error {
		closer := func(name string) func() error {
			return func() error {
				if !loopStopped {
					t.Errorf("%s closed before the loops stopped", name)
				}
				if err := h.DB.SQL().PingContext(context.Background()); err != nil {
					t.Errorf("%s closed after the database: %v", name, err)
				}
				order = append(order, name)
				return nil
			}
		}
		h.OnClose(closer("first"))
		var err error
		// Nothing listens there: Dial connects lazily and must not fail.
		if conn, err = h.Dial("127.0.0.1:1"); err != nil {
			return err
		}
		h.OnClose(closer("last"))
		h.Go("idle", func(ctx context.Context) error {
			<-ctx.Done()
			loopStopped = true
			return nil
		})
		cancel() // Run serves, then stops at once
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- servicehost.Run(ctx, options(t, testinfra.EmbeddedNATS(t)), quiet(), build) }()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := strings.Join(order, ","); got != "last,first" {
		t.Errorf("closed %s, want last,first", got)
	}
	if conn == nil || conn.GetState() != connectivity.Shutdown {
		t.Error("the dialed connection is still open after Run")
	}
}

// TestRunBuildFailureReleases shows a failing build stops the service
// before it serves, names the service in the error and releases both what
// the host opened and what the build registered.
func TestRunBuildFailureReleases(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	closed := false
	var h *servicehost.Host
	err := servicehost.Run(context.Background(), options(t, testinfra.EmbeddedNATS(t)), quiet(),
		func(_ context.Context, host *servicehost.Host) error {
			h = host
			h.OnClose(func() error { closed = true; return nil })
			return boom
		})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "run test: ") {
		t.Fatalf("Run = %v, want run test: boom", err)
	}
	if !closed {
		t.Error("the registered closer did not run")
	}
	if err := h.DB.SQL().PingContext(context.Background()); err == nil {
		t.Error("database still open after a failed build")
	}
}

// TestRunValidateOpensNothing shows a configuration that fails Validate
// is refused before the database is created or anything is built.
func TestRunValidateOpensNothing(t *testing.T) {
	t.Parallel()
	dbFile := filepath.Join(t.TempDir(), "never.db")
	opts := options(t, "nats://127.0.0.1:1") // not reached either
	opts.DatabaseURL = "sqlite://" + dbFile
	bad := errors.New("bad setting")
	opts.Validate = func() error { return bad }
	err := servicehost.Run(context.Background(), opts, quiet(), func(context.Context, *servicehost.Host) error {
		t.Error("build ran after a failed Validate")
		return nil
	})
	if !errors.Is(err, bad) || !strings.HasPrefix(err.Error(), "run test: ") {
		t.Fatalf("Run = %v, want run test: bad setting", err)
	}
	if _, err := os.Stat(dbFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("database file: %v, want it never created", err)
	}
}

// TestEveryRetriesAfterFailure shows a scheduled job runs on its ticks and
// that a failed run does not stop the schedule or the service.
func TestEveryRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	h, err := servicehost.Start(context.Background(), options(t, testinfra.EmbeddedNATS(t)), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runs := make(chan int, 8)
	n := 0
	h.Every("flaky", 5*time.Millisecond, func(context.Context) error {
		n++
		runs <- n
		if n == 1 {
			return errors.New("first run fails")
		}
		return nil
	})
	h.Every("off", 0, func(context.Context) error {
		t.Error("a job with interval 0 ran")
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := runHost(ctx, h)
	for want := 1; want <= 2; want++ {
		select {
		case got := <-runs:
			if got != want {
				t.Fatalf("run %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not come within 10s", want)
		}
	}
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestLoadConfig shows a service's variables and the shared GUANXI_AUTH_*
// ones are read into one configuration.
func TestLoadConfig(t *testing.T) {
	type cfg struct {
		GRPCAddr string      `env:"GRPC_ADDR" envDefault:"127.0.0.1:7100"`
		Auth     auth.Config `env:"-"`
	}
	t.Setenv("GUANXI_HOSTTEST_GRPC_ADDR", "127.0.0.1:9999")
	t.Setenv("GUANXI_AUTH_SECRET", "s3cret")
	got, err := servicehost.LoadConfig("GUANXI_HOSTTEST_", func(c *cfg) *auth.Config { return &c.Auth })
	if err != nil {
		t.Fatal(err)
	}
	if got.GRPCAddr != "127.0.0.1:9999" || got.Auth.Secret != "s3cret" {
		t.Errorf("LoadConfig = %+v", got)
	}
}
