package servicehost_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

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
		NATSURL:        natsURL,
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
