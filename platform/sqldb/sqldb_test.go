package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
)

func open(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, os.DirFS("testdata/migrations")); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect sqldb.Dialect
		in      string
		want    string
	}{
		{sqldb.SQLite, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{sqldb.Postgres, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{sqldb.Postgres, "INSERT INTO t VALUES (?,?,?)", "INSERT INTO t VALUES ($1,$2,$3)"},
		{sqldb.Postgres, "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		db := &sqldb.DB{Dialect: tt.dialect}
		if got := db.Rebind(tt.in); got != tt.want {
			t.Errorf("%v Rebind(%q) = %q, want %q", tt.dialect, tt.in, got, tt.want)
		}
	}
}

func TestDialectString(t *testing.T) {
	t.Parallel()
	if sqldb.SQLite.String() != "sqlite" || sqldb.Postgres.String() != "postgres" {
		t.Fatalf("got %s, %s", sqldb.SQLite, sqldb.Postgres)
	}
}

func TestMicros(t *testing.T) {
	t.Parallel()
	in := time.Date(2025, 3, 1, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	got := sqldb.FromMicros(sqldb.Micros(in))
	if !got.Equal(in.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Fatalf("round trip = %v, want %v in UTC", got, in.Truncate(time.Microsecond))
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	t.Parallel()
	if _, err := sqldb.Open(context.Background(), "mysql://u:pw@h/db"); err == nil {
		t.Fatal("want error")
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs := filepath.Join(dir, "nested", "dir", "a.db")
	for _, url := range []string{"sqlite://" + abs, "sqlite::memory:"} {
		db := open(t, url)
		if db.Dialect != sqldb.SQLite {
			t.Fatalf("%s: dialect %v", url, db.Dialect)
		}
		if _, err := db.Exec(context.Background(), "INSERT INTO widgets (id, name, created_at) VALUES (?, ?, ?)", "1", "a", 1); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("sqlite file not created: %v", err)
	}
	// Two in-memory databases are separate.
	a, b := open(t, "sqlite::memory:"), open(t, "sqlite::memory:")
	if _, err := a.Exec(context.Background(), "INSERT INTO widgets (id, name, created_at) VALUES ('x', 'x', 1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(context.Background(), "SELECT COUNT(*) FROM widgets").Scan(&n); err != nil || n != 0 {
		t.Fatalf("second memory db sees %d rows (%v), want 0", n, err)
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	for _, d := range sqltest.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := open(t, d.URL)
			ctx := context.Background()

			t.Run("migrate is idempotent", func(t *testing.T) {
				for range 2 {
					if err := db.Migrate(ctx, os.DirFS("testdata")); err != nil { // nested "migrations" dir
						t.Fatal(err)
					}
				}
				if err := db.Migrate(ctx, nil); err != nil {
					t.Fatal(err)
				}
				for _, table := range []string{"outbox", "inbox", "widgets", "platform_db_version", "goose_db_version"} {
					var n int
					if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
						t.Errorf("table %s: %v", table, err)
					}
				}
			})

			t.Run("only this database.s file of a version runs", func(t *testing.T) {
				dialects, err := sqldb.QueryAll(ctx, db, func(s sqldb.Scanner) (string, error) {
					var d string
					return d, s.Scan(&d)
				}, "SELECT dialect FROM migrated_for")
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{d.Name}; !slices.Equal(dialects, want) {
					t.Errorf("migrated_for holds %q, want %q", dialects, want)
				}
			})

			t.Run("commit runs after-commit hooks", func(t *testing.T) {
				ran := 0
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					tx.AfterCommit(func() { ran++ })
					if tx.Dialect() != db.Dialect {
						t.Errorf("tx dialect %v", tx.Dialect())
					}
					_, err := tx.Exec(ctx, "INSERT INTO widgets (id, name, created_at) VALUES (?, ?, ?)", "c1", "committed", sqldb.Micros(time.Now()))
					if ran != 0 {
						t.Error("hook ran before commit")
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if ran != 1 {
					t.Fatalf("hook ran %d times, want 1", ran)
				}
				var name string
				if err := db.QueryRow(ctx, "SELECT name FROM widgets WHERE id = ?", "c1").Scan(&name); err != nil || name != "committed" {
					t.Fatalf("row = %q, %v", name, err)
				}
			})

			rollbacks := []struct {
				name string
				fn   func(tx *sqldb.Tx) error
			}{
				{"error rolls back", func(tx *sqldb.Tx) error { return errors.New("use case failed") }},
				{"panic rolls back", func(tx *sqldb.Tx) error { panic("bug") }},
			}
			for _, rb := range rollbacks {
				t.Run(rb.name, func(t *testing.T) {
					ran := false
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						tx.AfterCommit(func() { ran = true })
						if _, err := tx.Exec(ctx, "INSERT INTO widgets (id, name, created_at) VALUES (?, ?, ?)", "r1", "rolled back", 0); err != nil {
							t.Fatal(err)
						}
						return rb.fn(tx)
					})
					if err == nil {
						t.Fatal("InTx returned nil")
					}
					if ran {
						t.Error("after-commit hook ran on rollback")
					}
					var n int
					if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", "r1").Scan(&n); err != nil || n != 0 {
						t.Fatalf("rolled back row count = %d, %v", n, err)
					}
				})
			}

			t.Run("unique violation", func(t *testing.T) {
				insert := "INSERT INTO widgets (id, name, created_at) VALUES (?, ?, ?)"
				if _, err := db.Exec(ctx, insert, "u1", "unique", 0); err != nil {
					t.Fatal(err)
				}
				_, errPK := db.Exec(ctx, insert, "u1", "other", 0)
				_, errUnique := db.Exec(ctx, insert, "u2", "unique", 0)
				for _, err := range []error{errPK, errUnique} {
					if !sqldb.IsUniqueViolation(err) {
						t.Errorf("IsUniqueViolation(%v) = false", err)
					}
				}
				_, errOther := db.Exec(ctx, "INSERT INTO widgets (id) VALUES (?)", "u3") // NOT NULL
				if errOther == nil || sqldb.IsUniqueViolation(errOther) || sqldb.IsUniqueViolation(nil) {
					t.Errorf("non-unique error %v classified as unique violation", errOther)
				}
			})

			// A few rows go in as an INSERT, many as COPY on PostgreSQL:
			// both keep every value and refuse a duplicate.
			t.Run("insert rows", func(t *testing.T) {
				for _, n := range []int{1, 3, 100} {
					prefix := fmt.Sprintf("ir%d-", n)
					rows := make([][]any, n)
					for i := range rows {
						rows[i] = []any{prefix + fmt.Sprint(i), prefix + "name" + fmt.Sprint(i), int64(i)}
					}
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						return tx.InsertRows(ctx, "widgets", []string{"id", "name", "created_at"}, rows)
					})
					if err != nil {
						t.Fatalf("%d rows: %v", n, err)
					}
					var count, sum int64
					if err := db.QueryRow(ctx, "SELECT COUNT(*), SUM(created_at) FROM widgets WHERE id LIKE ?", prefix+"%").Scan(&count, &sum); err != nil {
						t.Fatal(err)
					}
					if count != int64(n) || sum != int64(n*(n-1)/2) {
						t.Errorf("%d rows: read back %d rows summing %d", n, count, sum)
					}
					err = db.InTx(ctx, func(tx *sqldb.Tx) error {
						return tx.InsertRows(ctx, "widgets", []string{"id", "name", "created_at"}, rows[n-1:])
					})
					if !sqldb.IsUniqueViolation(err) {
						t.Errorf("%d rows: inserting one again: %v, want a unique violation", n, err)
					}
				}
			})

			t.Run("one of a list", func(t *testing.T) {
				const n = 1200 // more than one SQLite list of 500
				rows := make([][]any, n)
				var want []string
				for i := range rows {
					rows[i] = []any{fmt.Sprintf("oneof-%d", i), fmt.Sprintf("oneof-name-%d", i), int64(i)}
					if i%3 != 0 {
						want = append(want, rows[i][0].(string))
					}
				}
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					return tx.InsertRows(ctx, "widgets", []string{"id", "name", "created_at"}, rows)
				}); err != nil {
					t.Fatal(err)
				}
				if got := db.Dialect.OneOf("id", nil); got != nil {
					t.Errorf("OneOf of nothing = %v, want no query", got)
				}
				var found int64
				for _, in := range db.Dialect.OneOf("id", append(want, "missing")) {
					var k int64
					if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM widgets WHERE "+in.SQL, in.Args...).Scan(&k); err != nil {
						t.Fatal(err)
					}
					found += k
				}
				if found != int64(len(want)) {
					t.Errorf("found %d widgets, want %d", found, len(want))
				}
			})

			t.Run("concurrent write transactions", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for i := range 8 {
					wg.Go(func() {
						errs <- db.InTx(ctx, func(tx *sqldb.Tx) error {
							var n int
							if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM widgets").Scan(&n); err != nil {
								return err
							}
							_, err := tx.Exec(ctx, "INSERT INTO widgets (id, name, created_at) VALUES (?, ?, ?)",
								string(rune('a'+i)), "w"+string(rune('a'+i)), n)
							return err
						})
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Error(err)
					}
				}
			})
		})
	}
}

// Several handles opening the same new SQLite file at once all succeed:
// the WAL switch's SQLITE_BUSY is waited out, not returned.
func TestOpenSameNewSQLiteFileConcurrently(t *testing.T) {
	t.Parallel()
	for round := range 5 {
		url := "sqlite://" + filepath.Join(t.TempDir(), fmt.Sprintf("race%d.db", round))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				db, err := sqldb.Open(context.Background(), url)
				if err != nil {
					errs <- err
					return
				}
				errs <- db.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

func TestQueryAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, "sqlite::memory:")
	scanInt := func(s sqldb.Scanner) (int, error) {
		var n int
		return n, s.Scan(&n)
	}
	got, err := sqldb.QueryAll(ctx, db, scanInt, `SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT ?`, 3)
	if err != nil || fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("QueryAll = %v, %v; want [1 2 3]", got, err)
	}
	if _, err := sqldb.QueryAll(ctx, db, scanInt, `SELECT 'x'`); err == nil {
		t.Fatal("a value that does not scan gave no error")
	}
	if _, err := sqldb.QueryAll(ctx, db, scanInt, `SELECT FROM nowhere`); err == nil {
		t.Fatal("a broken query gave no error")
	}
}

// TestOpenPostgresPoolSize shows pool_max_conns caps the connections a
// process opens (replicas times it must fit the server's max_connections)
// and is not passed on to the server.
func TestOpenPostgresPoolSize(t *testing.T) {
	ctx := context.Background()
	if _, err := sqldb.Open(ctx, "postgres://u@127.0.0.1:1/db?pool_max_conns=0"); err == nil {
		t.Fatal("pool_max_conns=0 accepted")
	}
	for _, d := range sqltest.Databases(t) {
		if d.Name != "postgres" {
			continue
		}
		sep := "?"
		if strings.Contains(d.URL, "?") {
			sep = "&"
		}
		db, err := sqldb.Open(ctx, d.URL+sep+"pool_max_conns=3")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := db.SQL().Stats().MaxOpenConnections; got != 3 {
			t.Fatalf("max open connections %d, want 3", got)
		}
	}
}
