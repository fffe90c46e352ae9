package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
)

func countWidgets(t *testing.T, ctx context.Context, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM widgets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInBatch: the InTx calls in a batch's context run in its one
// transaction, reads in it see its writes (on a single-connection SQLite
// they would otherwise wait for the connection the batch holds), their
// after-commit hooks run after the batch commits, and a failure inside,
// even one its caller went on from, rolls the whole batch back.
func TestInBatch(t *testing.T) {
	t.Parallel()
	urls := map[string]string{"sqlite-memory": "sqlite::memory:"}
	for _, d := range sqltest.Databases(t) {
		urls[d.Name] = d.URL
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t, url)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			insert := func(ctx context.Context, id string) error {
				return db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO widgets (id, name, created_at) VALUES (?, ?, 0)`, id, id)
					return err
				})
			}

			hooks := 0
			held, released := 0, 0
			err := db.InBatch(ctx, func(ctx context.Context) error {
				if !sqldb.InBatch(ctx) {
					t.Error("InBatch(ctx) = false inside a batch")
				}
				for _, id := range []string{"a", "b", "c"} {
					if err := insert(ctx, id); err != nil {
						return err
					}
					defer sqldb.HoldForBatch(ctx, "lock", func() func() {
						held++
						return func() { released++ }
					})()
					if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						tx.AfterCommit(func() { hooks++ })
						return nil
					}); err != nil {
						return err
					}
				}
				if n := countWidgets(t, ctx, db); n != 3 {
					t.Errorf("read in the batch sees %d widgets, want 3", n)
				}
				if hooks != 0 || released != 0 {
					t.Errorf("before commit: %d hooks ran, %d holds released; want none", hooks, released)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if hooks != 3 || held != 1 || released != 1 {
				t.Errorf("after commit: %d hooks ran (want 3), held %d and released %d times (want once)", hooks, held, released)
			}
			if n := countWidgets(t, ctx, db); n != 3 {
				t.Fatalf("%d widgets committed, want 3", n)
			}

			// A failing InTx whose caller goes on spoils the batch.
			err = db.InBatch(ctx, func(ctx context.Context) error {
				if err := insert(ctx, "d"); err != nil {
					return err
				}
				if err := insert(ctx, "a"); err == nil {
					t.Error("a duplicate key was accepted")
				}
				if sqldb.BatchFailure(ctx) == nil {
					t.Error("BatchFailure = nil after a failed InTx")
				}
				if err := insert(ctx, "e"); !errors.Is(err, sqldb.ErrBatchFailed) {
					t.Errorf("InTx after a failure = %v, want ErrBatchFailed", err)
				}
				return nil
			})
			if !errors.Is(err, sqldb.ErrBatchFailed) || !sqldb.IsUniqueViolation(err) {
				t.Fatalf("InBatch = %v, want ErrBatchFailed with the unique violation", err)
			}
			if n := countWidgets(t, ctx, db); n != 3 {
				t.Fatalf("%d widgets after a failed batch, want the 3 from before", n)
			}
		})
	}
}

// TestPlanPerCall: on PostgreSQL a batch that asks for it plans each
// statement for its arguments and looks a list of keys up through the index
// even on a table without statistics, until it ends, and only that batch;
// elsewhere it is a no-op.
func TestPlanPerCall(t *testing.T) {
	t.Parallel()
	for _, d := range sqltest.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := open(t, d.URL)
			ctx := context.Background()
			settings := func(ctx context.Context) string {
				t.Helper()
				var mode, seqscan, bitmapscan string
				if err := db.QueryRow(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan'),
					current_setting('enable_bitmapscan')`).Scan(&mode, &seqscan, &bitmapscan); err != nil {
					t.Fatal(err)
				}
				return mode + " " + seqscan + " " + bitmapscan
			}
			if err := sqldb.PlanPerCall(ctx); err != nil {
				t.Fatalf("outside a batch: %v", err)
			}
			if db.Dialect != sqldb.Postgres {
				if err := db.InBatch(ctx, sqldb.PlanPerCall); err != nil {
					t.Fatal(err)
				}
				return
			}
			// A table filled and never analyzed, as one is while a
			// catch-up fills it, and a batch of keys to look up.
			if _, err := db.Exec(ctx, `CREATE TABLE keyed (grp TEXT NOT NULL, id TEXT NOT NULL, v BIGINT NOT NULL, PRIMARY KEY (grp, id))`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, `INSERT INTO keyed SELECT 'g', 'k' || i, i FROM generate_series(1, 20000) i`); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 256)
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i*7+1)
			}
			plan := func(ctx context.Context) string {
				t.Helper()
				var b strings.Builder
				rows, err := db.Query(ctx, `EXPLAIN SELECT v FROM keyed WHERE grp = ? AND id = ANY(?)`, "g", keys)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					b.WriteString(line + "\n")
				}
				return b.String()
			}
			// Through the index, both columns in its condition.
			byKeys := func(p string) bool {
				return strings.Contains(p, "Index Scan") && !strings.Contains(p, "Bitmap") && strings.Contains(p, "ANY")
			}
			if p := plan(ctx); byKeys(p) {
				t.Logf("without PlanPerCall the planner used the keys already; the check below proves less:\n%s", p)
			}
			err := db.InBatch(ctx, func(ctx context.Context) error {
				if err := sqldb.PlanPerCall(ctx); err != nil {
					return err
				}
				if got := settings(ctx); got != "force_custom_plan off off" {
					t.Errorf("in the batch: plan_cache_mode, enable_seqscan and enable_bitmapscan %s", got)
				}
				if p := plan(ctx); !byKeys(p) {
					t.Errorf("in the batch, 256 keys are not looked up through the index:\n%s", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // whichever pooled connection answers
				if got := settings(ctx); got != "auto on on" {
					t.Errorf("after the batch: plan_cache_mode, enable_seqscan and enable_bitmapscan %s", got)
				}
			}
		})
	}
}
