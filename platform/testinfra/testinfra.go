// Package testinfra gives every module's tests their databases and NATS
// servers: SQLite and embedded NATS always, external PostgreSQL and NATS
// when GUANXI_TEST_POSTGRES_URL / GUANXI_TEST_NATS_URL are set. Without
// them such tests skip with a visible reason, unless
// GUANXI_TEST_REQUIRE_INFRA=1, when a missing server fails the test.
//
// It is its own module because embedded NATS needs nats-server: the helpers
// that need neither NATS nor a database live in platform/testkit, the
// database ones in platform/sqldb/sqltest, and this package re-exports both,
// so a module whose tests use neither embedded NATS nor testinfra's event
// helpers imports those packages and does not require nats-server.
package testinfra

import (
	"context"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// Environment variables read by this package (see platform/testkit).
const (
	EnvPostgresURL  = testkit.EnvPostgresURL
	EnvNATSURL      = testkit.EnvNATSURL
	EnvRedisURL     = testkit.EnvRedisURL
	EnvRequireInfra = testkit.EnvRequireInfra
)

// RequireInfra is testkit.RequireInfra.
func RequireInfra() bool { return testkit.RequireInfra() }

// SQLiteURL is sqltest.SQLiteURL.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return sqltest.SQLiteURL(t)
}

// PostgresURL is sqltest.PostgresURL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return sqltest.PostgresURL(t)
}

// Database is one database a contract test runs against (sqltest.Database).
type Database = sqltest.Database

// Databases is sqltest.Databases: a fresh SQLite database, plus a fresh
// PostgreSQL one when GUANXI_TEST_POSTGRES_URL is set.
func Databases(t testing.TB) []Database {
	t.Helper()
	return sqltest.Databases(t)
}

// OpenDB is sqltest.OpenDB.
func OpenDB(t testing.TB, url string, migrations fs.FS) *sqldb.DB {
	t.Helper()
	return sqltest.OpenDB(t, url, migrations)
}

// NATSURL is testkit.NATSURL.
func NATSURL(t testing.TB) string {
	t.Helper()
	return testkit.NATSURL(t)
}

// RedisURL is testkit.RedisURL.
func RedisURL(t testing.TB) string {
	t.Helper()
	return testkit.RedisURL(t)
}

// RedisCluster is testkit.RedisCluster: a 3-node Redis Cluster started for
// the test, as a redisclient URL.
func RedisCluster(t testing.TB) string {
	t.Helper()
	return testkit.RedisCluster(t)
}

// UniqueName is testkit.UniqueName.
func UniqueName(prefix string) string { return testkit.UniqueName(prefix) }

// Eventually is testkit.Eventually.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, timeout, what, cond)
}

// Background is testkit.Background.
func Background(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	testkit.Background(t, run)
}

// Buffer collects output written from several goroutines (testkit.Buffer).
type Buffer = testkit.Buffer

// AuthConfig is testkit.AuthConfig.
func AuthConfig(t testing.TB) auth.Config {
	t.Helper()
	return testkit.AuthConfig(t)
}

// Token is testkit.Token.
func Token(t testing.TB, cfg auth.Config, id auth.Identity) string {
	t.Helper()
	return testkit.Token(t, cfg, id)
}

// CallAs is testkit.CallAs.
func CallAs(t testing.TB, cfg auth.Config, id auth.Identity) grpc.DialOption {
	t.Helper()
	return testkit.CallAs(t, cfg, id)
}

// CallAsService is testkit.CallAsService.
func CallAsService(t testing.TB, cfg auth.Config) grpc.DialOption {
	t.Helper()
	return testkit.CallAsService(t, cfg)
}

// PKI is testkit.PKI.
func PKI(t testing.TB, dir string) tlsconfig.Files {
	t.Helper()
	return testkit.PKI(t, dir)
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
