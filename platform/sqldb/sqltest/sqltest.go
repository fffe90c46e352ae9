// Package sqltest gives tests their databases: a fresh SQLite file always,
// and a fresh PostgreSQL database on the server named by
// GUANXI_TEST_POSTGRES_URL when set (see platform/testkit for the skip/fail
// rule). It lives in the sqldb module so that a service's tests get
// databases without requiring NATS (platform/testinfra re-exports it).
package sqltest

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// SQLiteURL returns the URL of a fresh SQLite file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
}

// PostgresURL creates a fresh database on the server named by
// GUANXI_TEST_POSTGRES_URL, drops it when the test ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return createPostgresDB(t, testkit.Getenv(t, testkit.EnvPostgresURL, "postgres"))
}

func createPostgresDB(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: parse %s: %v", testkit.EnvPostgresURL, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: open: %v", err)
	}
	name := testkit.UniqueName("guanxi_test_")
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
//	for _, d := range sqltest.Databases(t) {
//		t.Run(d.Name, func(t *testing.T) { ... d.URL ... })
//	}
func Databases(t testing.TB) []Database {
	t.Helper()
	dbs := []Database{{Name: "sqlite", URL: SQLiteURL(t)}}
	base := os.Getenv(testkit.EnvPostgresURL)
	if base == "" {
		if testkit.RequireInfra() {
			t.Fatalf("postgres: %s not set and %s=1", testkit.EnvPostgresURL, testkit.EnvRequireInfra)
		}
		t.Logf("postgres: %s not set, contract tests run on SQLite only", testkit.EnvPostgresURL)
		return dbs
	}
	return append(dbs, Database{Name: "postgres", URL: createPostgresDB(t, base)})
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
