package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
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

// waitOutboxEmpty waits until the service's outbox at dbURL is empty, that
// is until every event written so far is on the bus; rows is what the
// step reports. It checks four times a second and gives up after ten
// minutes.
func waitOutboxEmpty(ctx context.Context, dbURL string, rows int64) step {
	start := time.Now()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return step{err: err, ran: true}
	}
	defer conn.Close(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var left bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM outbox)").Scan(&left); err != nil {
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
