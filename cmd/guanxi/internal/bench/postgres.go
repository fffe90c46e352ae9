package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// createDatabase creates a database with a fresh name on the server of
// adminURL and returns its URL and a function that drops it.
var createDatabase = deploy.CreateDatabase

// checkpoint flushes the server's dirty pages before a measured step, so
// the step does not pay for the writes of whatever ran before it (an
// earlier bench's gigabyte of WAL makes the next checkpoint come due in
// the middle of the next import). It needs a superuser, or on PostgreSQL
// 15 and later pg_checkpoint; without the right the step runs anyway.
func checkpoint(ctx context.Context, adminURL string, logf func(string, ...any)) {
	if err := adminExec(ctx, adminURL, "CHECKPOINT"); err != nil {
		logf("no CHECKPOINT before the import (%v); figures may vary more from run to run", err)
	}
}

var adminExec = deploy.AdminExec

// serverVersion is PostgreSQL's version string, e.g. "15.20".
func serverVersion(ctx context.Context, dbURL string) string {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "?"
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "?"
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// copyCSV loads the CSV file into a plain table with the file's columns
// (all text, no keys or indexes) with COPY FROM STDIN: the fastest way
// PostgreSQL takes rows, as the yardstick for the import.
func copyCSV(ctx context.Context, dbURL, path string, header []string) (int64, time.Duration, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = pgx.Identifier{h}.Sanitize() + " text"
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE customers_copy ("+strings.Join(cols, ", ")+")"); err != nil {
		return 0, 0, fmt.Errorf("create table: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	start := time.Now()
	tag, err := conn.PgConn().CopyFrom(ctx, f, "COPY customers_copy FROM STDIN WITH (FORMAT csv, HEADER true)")
	if err != nil {
		return 0, 0, fmt.Errorf("copy: %w", err)
	}
	return tag.RowsAffected(), time.Since(start), nil
}

// waitOutboxEmpty waits until the service's outbox at dbURL (PostgreSQL or
// SQLite) is empty, that is until every event written so far is on the
// bus; rows is what the step reports. It checks four times a second and
// gives up after ten minutes.
func waitOutboxEmpty(ctx context.Context, dbURL string, rows int64) step {
	start := time.Now()
	db, err := sqldb.Open(ctx, dbURL)
	if err != nil {
		return step{err: err, ran: true}
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var left bool
		if err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM outbox)").Scan(&left); err != nil {
			return step{err: fmt.Errorf("outbox depth: %w", err), ran: true}
		}
		if !left {
			return step{rows: rows, elapsed: time.Since(start), ran: true}
		}
		select {
		case <-ctx.Done():
			return step{err: fmt.Errorf("events still in the outbox: %w", ctx.Err()), ran: true}
		case <-tick.C:
		}
	}
}

// storedTables are the tables an import of new customers writes, but for
// the outbox, which the relay empties behind it.
var storedTables = []string{"customers", "customer_contacts", "ownership_changes"}

// copyStored times a COPY of the rows an import stored in the service's
// database at dbURL into empty tables like its own (columns, keys and
// indexes), table after table; rows is the customers'. No import into this
// schema can store its rows faster, so the gap between this and the raw
// COPY of the file is the schema's (wider rows, more rows, indexes), the
// gap between the import and this the import's. The rows wait in files
// in dir while they are not being timed.
func copyStored(ctx context.Context, dbURL, dir string) step {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return step{err: err, ran: true}
	}
	defer conn.Close(context.Background())
	s := step{ran: true}
	for _, table := range storedTables {
		n, elapsed, err := copyTable(ctx, conn, table, filepath.Join(dir, table+".copy"))
		if err != nil {
			s.err = fmt.Errorf("copy %s: %w", table, err)
			return s
		}
		s.elapsed += elapsed
		if table == "customers" {
			s.rows = n
		}
	}
	return s
}

// copyTable dumps table into path, then times loading it with COPY into
// stored_<table>, made like it.
func copyTable(ctx context.Context, conn *pgx.Conn, table, path string) (int64, time.Duration, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	if _, err := conn.PgConn().CopyTo(ctx, f, "COPY "+table+" TO STDOUT"); err != nil {
		return 0, 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, err
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE stored_"+table+" (LIKE "+table+" INCLUDING ALL)"); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	tag, err := conn.PgConn().CopyFrom(ctx, f, "COPY stored_"+table+" FROM STDIN")
	if err != nil {
		return 0, 0, err
	}
	return tag.RowsAffected(), time.Since(start), nil
}
