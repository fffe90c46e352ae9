// Package testinfra gives every module's tests their databases and NATS
// servers: SQLite and embedded NATS always, external PostgreSQL and NATS
// when GUANXI_TEST_POSTGRES_URL / GUANXI_TEST_NATS_URL are set. Without
// them such tests skip with a visible reason, unless
// GUANXI_TEST_REQUIRE_INFRA=1, when a missing server fails the test.
package testinfra

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Environment variables read by this package.
const (
	EnvPostgresURL  = "GUANXI_TEST_POSTGRES_URL"
	EnvNATSURL      = "GUANXI_TEST_NATS_URL"
	EnvRedisURL     = "GUANXI_TEST_REDIS_URL"
	EnvRequireInfra = "GUANXI_TEST_REQUIRE_INFRA"
)

// RequireInfra reports whether missing external servers fail tests
// (GUANXI_TEST_REQUIRE_INFRA=1, as in CI) instead of skipping them.
func RequireInfra() bool { return os.Getenv(EnvRequireInfra) == "1" }

// lookup returns the variable's value, or skips (or fails, under
// RequireInfra) the test when it is unset.
func lookup(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if RequireInfra() {
		t.Fatalf("%s: %s not set and %s=1", what, name, EnvRequireInfra)
	}
	t.Skipf("%s: %s not set, skipping", what, name)
	return ""
}

// SQLiteURL returns the URL of a fresh SQLite file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
}

// PostgresURL creates a fresh database on the server named by
// GUANXI_TEST_POSTGRES_URL, drops it when the test ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return createPostgresDB(t, lookup(t, EnvPostgresURL, "postgres"))
}

func createPostgresDB(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: parse %s: %v", EnvPostgresURL, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: open: %v", err)
	}
	name := "guanxi_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("postgres: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Database is one database a contract test runs against.
type Database struct {
	// Name is "sqlite" or "postgres", for t.Run.
	Name string
	// URL is accepted by sqldb.Open.
	URL string
}

// Databases returns a fresh SQLite database, plus a fresh PostgreSQL
// database when GUANXI_TEST_POSTGRES_URL is set. Without it the test still
// runs on SQLite and logs that PostgreSQL was left out (a failure under
// GUANXI_TEST_REQUIRE_INFRA=1).
//
//	for _, d := range testinfra.Databases(t) {
//		t.Run(d.Name, func(t *testing.T) { ... d.URL ... })
//	}
func Databases(t testing.TB) []Database {
	t.Helper()
	dbs := []Database{{Name: "sqlite", URL: SQLiteURL(t)}}
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if RequireInfra() {
			t.Fatalf("postgres: %s not set and %s=1", EnvPostgresURL, EnvRequireInfra)
		}
		t.Logf("postgres: %s not set, contract tests run on SQLite only", EnvPostgresURL)
		return dbs
	}
	return append(dbs, Database{Name: "postgres", URL: createPostgresDB(t, base)})
}

// NATSURL returns GUANXI_TEST_NATS_URL. The server is shared with other
// tests: use unique stream names and subjects, and delete them in Cleanup.
func NATSURL(t testing.TB) string {
	t.Helper()
	return lookup(t, EnvNATSURL, "nats")
}

// NATSServer is one NATS server an event test runs against.
type NATSServer struct {
	// Name is "embedded" or "external", for t.Run.
	Name string
	// URL is the client URL.
	URL string
}

// NATSServers returns an embedded JetStream server, plus the external one
// from GUANXI_TEST_NATS_URL when set (logged when not, a failure under
// GUANXI_TEST_REQUIRE_INFRA=1). Tests on the external server share it with
// others: use unique stream names and subjects and delete them in Cleanup.
func NATSServers(t testing.TB) []NATSServer {
	t.Helper()
	servers := []NATSServer{{Name: "embedded", URL: EmbeddedNATS(t)}}
	external := os.Getenv(EnvNATSURL)
	if external == "" {
		if RequireInfra() {
			t.Fatalf("nats: %s not set and %s=1", EnvNATSURL, EnvRequireInfra)
		}
		t.Logf("nats: %s not set, event tests run on embedded NATS only", EnvNATSURL)
		return servers
	}
	return append(servers, NATSServer{Name: "external", URL: external})
}

// RedisURL returns GUANXI_TEST_REDIS_URL (skip/fail rule as NATSURL).
func RedisURL(t testing.TB) string {
	t.Helper()
	return lookup(t, EnvRedisURL, "redis")
}

// EmbeddedNATS starts an embedded JetStream server on a random port with its
// store in t.TempDir(), stops it when the test ends, and returns its URL.
func EmbeddedNATS(t testing.TB) string {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: -1}, nil)
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv.ClientURL()
}

// UniqueName returns prefix followed by random hex, for streams, subjects
// and durables that must not collide on a shared server.
func UniqueName(prefix string) string { return prefix + randomHex(6) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Eventually re-checks cond every 20ms until it holds, and fails the test
// (naming what it waited for) once timeout has passed; it is for state that
// changes asynchronously with no event to wait on.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-ticker.C
	}
}

// OpenDB opens the database at url (see SQLiteURL, Databases), applies
// migrations as a service would at start, and closes it when the test ends.
func OpenDB(t testing.TB, url string, migrations fs.FS) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, migrations); err != nil {
		t.Fatal(err)
	}
	return db
}

// Background runs run (a service's Run, a relay) until the test ends: its
// context is cancelled in t.Cleanup, which then waits up to 20s and fails
// the test unless run returned nil, because every guanxi loop must stop
// cleanly when asked.
func Background(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("returned %v on shutdown, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("did not return within 20s of shutdown")
		}
	})
}

// PublishEvent publishes msg on subject with the headers a service's outbox
// relay sets (events.NewEvent), as event ceID under JetStream dedupe id
// msgID: a replay past the stream's duplicate window is the same ceID under
// a new msgID. It fails the test unless JetStream stored the message.
func PublishEvent(t testing.TB, js jetstream.JetStream, subject string, msg proto.Message, ceID, msgID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := events.NewEvent(ctx, "test", subject, msg)
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = ceID
	ack, err := js.PublishMsg(ctx, ev.NATSMsg(), jetstream.WithMsgID(msgID))
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	if ack.Duplicate {
		t.Fatalf("publish %s: JetStream dropped msg id %s as a duplicate", subject, msgID)
	}
}
