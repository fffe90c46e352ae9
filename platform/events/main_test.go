package events_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func TestMain(m *testing.M) {
	// The W3C propagator is what carries traces across the bus.
	if _, err := telemetry.Setup(context.Background(), telemetry.Config{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// bus is one test's private stream on a (possibly shared) NATS server.
type bus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string // prefix: events go to subject + ".<name>"
}

func newBus(t *testing.T, url string) *bus {
	t.Helper()
	nc, js, err := events.Connect(url, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &bus{nc: nc, js: js, stream: testinfra.UniqueName("T"), subject: testinfra.UniqueName("t")}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := events.EnsureStream(ctx, js, b.stream, b.subject+".>"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, b.stream); err != nil {
			t.Errorf("delete stream %s: %v", b.stream, err)
		}
		nc.Close()
	})
	return b
}

// subscribe returns a core subscription on subject, so a test can wait for
// what JetStream stored there.
func (b *bus) subscribe(t *testing.T, subject string) *nats.Subscription {
	t.Helper()
	sub, err := b.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return sub
}

func next(t *testing.T, sub *nats.Subscription) *nats.Msg {
	t.Helper()
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("waiting for message on %s: %v", sub.Subject, err)
	}
	return m
}

func openDB(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// newRelay returns a private bus, the database at dbURL and an outbox
// relaying from one to the other (Run is not started).
func newRelay(t *testing.T, natsURL, dbURL string) (*bus, *sqldb.DB, *events.Outbox) {
	t.Helper()
	b := newBus(t, natsURL)
	db := openDB(t, dbURL)
	return b, db, events.NewOutbox(db, b.js, nil)
}

// runInBackground runs fn(ctx) until the test ends and fails the test if it
// returns an error.
func runInBackground(t *testing.T, fn func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("background run: %v", err)
		}
	})
}
