package natsembed_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

func TestStartRunsJetStream(t *testing.T) {
	t.Parallel()
	srv, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: -1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":4222") {
		t.Fatalf("client URL %q: want a random loopback port", url)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.x", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream state = %+v, %v", info, err)
	}
}

func TestStartRequiresDir(t *testing.T) {
	t.Parallel()
	if _, err := natsembed.Start(natsembed.Config{Port: -1}, nil); err == nil {
		t.Fatal("want error without Dir")
	}
}

func TestStartRefusesNonLoopbackHost(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"0.0.0.0", "::", "192.0.2.1", "example.com"} {
		if srv, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Host: host, Port: -1}, nil); err == nil {
			srv.Shutdown()
			t.Errorf("host %q: started, want refused", host)
		}
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if !natsembed.IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = false", host)
		}
	}
}

// TestUsersAndPermissions: with users, a client without a key or with an
// unknown one is refused, and a user publishes and subscribes only where
// its permissions say.
func TestUsersAndPermissions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svcSeed, pubSeed, strangerSeed := dir+"/svc.nk", dir+"/pub.nk", dir+"/stranger.nk"
	svcKey, err := natsembed.KeepSeed(svcSeed)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := natsembed.KeepSeed(svcSeed); err != nil || again != svcKey {
		t.Fatalf("KeepSeed again = %q, %v; want the kept key %q", again, err, svcKey)
	}
	pubKey, err := natsembed.KeepSeed(pubSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsembed.KeepSeed(strangerSeed); err != nil {
		t.Fatal(err)
	}
	srv, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: -1, Users: []natsembed.User{
		natsembed.ServiceUser("svc", svcKey, "svc.>"),
		natsembed.PublisherUser("pub", pubKey, "in.>"),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	url := srv.ClientURL()

	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Error("connected without credentials")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("no credentials: %v, want an authorization violation", err)
	}
	if nc, err := connectAs(url, strangerSeed, "", nil); err == nil {
		nc.Close()
		t.Error("connected with an unknown key")
	}

	svcErrs := make(chan error, 10)
	svc, err := connectAs(url, svcSeed, natsembed.InboxPrefix("svc"), svcErrs)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	js, err := jetstream.New(svc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SVC", Subjects: []string{"svc.>"}}); err != nil {
		t.Fatalf("service creates its stream: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}}); err != nil {
		t.Fatalf("service creates the inbound stream: %v", err)
	}
	if _, err := js.Publish(ctx, "svc.x", []byte("own")); err != nil {
		t.Fatalf("service publishes to its stream: %v", err)
	}
	refused(t, svc, svcErrs, "in.x")

	pubErrs := make(chan error, 10)
	pub, err := connectAs(url, pubSeed, natsembed.InboxPrefix("pub"), pubErrs)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	pjs, err := jetstream.New(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pjs.Publish(ctx, "in.x", []byte("event")); err != nil {
		t.Fatalf("publisher publishes an event: %v", err)
	}
	refused(t, pub, pubErrs, "svc.x")
	// Another user's inbox is closed to it: it cannot read the service's
	// JetStream answers and deliveries.
	if _, err := pub.Subscribe(natsembed.InboxPrefix("svc")+".>", func(*nats.Msg) {}); err == nil {
		if err := pub.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-pubErrs:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Errorf("subscribe to the service's inbox: %v, want a permission violation", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("subscribe to the service's inbox was not refused")
		}
	}

	// What the stream holds is what was allowed, and nothing else.
	for name, want := range map[string]uint64{"SVC": 1, "IN": 1} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := s.Info(ctx); err != nil || info.State.Msgs != want {
			t.Errorf("stream %s: %+v, %v; want %d messages", name, info.State, err, want)
		}
	}
}

// connectAs connects with the NKey seed in seedFile, sending async errors
// (permission violations) to errs.
func connectAs(url, seedFile, inboxPrefix string, errs chan<- error) (*nats.Conn, error) {
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{opt, nats.MaxReconnects(0)}
	if inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(inboxPrefix))
	}
	if errs != nil {
		opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	}
	return nats.Connect(url, opts...)
}

// refused publishes to subject and wants the server's permission violation.
func refused(t *testing.T, nc *nats.Conn, errs <-chan error, subject string) {
	t.Helper()
	if err := nc.Publish(subject, []byte("not allowed")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("publish to %s: %v, want a permission violation", subject, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("publish to %s was not refused", subject)
	}
}
