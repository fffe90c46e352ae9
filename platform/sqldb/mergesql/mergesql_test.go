package mergesql_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/mergesql"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
)

// schema is the bookkeeping tables as the services' migrations create them.
var schema = fstest.MapFS{"00001_merges.sql": {Data: []byte(`-- +goose Up
CREATE TABLE customer_merges (
    merged_id   TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    merge_time  BIGINT NOT NULL
);
CREATE TABLE customer_erasures (
    customer_id TEXT PRIMARY KEY,
    erase_time  BIGINT NOT NULL,
    record_time BIGINT NOT NULL
);
`)}}

func TestBookkeeping(t *testing.T) {
	t.Parallel()
	for _, d := range sqltest.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := sqldb.Open(ctx, d.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx, schema); err != nil {
				t.Fatal(err)
			}
			at := time.UnixMicro(1_000_000).UTC()
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				// b was folded into c, then c into d: b's link is re-pointed at d.
				for _, m := range []merges.Merge{{MergedID: "b", SurvivorID: "c", At: at}, {MergedID: "c", SurvivorID: "d", At: at}} {
					if err := mergesql.RecordMerge(ctx, tx, m); err != nil {
						return err
					}
				}
				for range 2 {
					if err := mergesql.RecordErasure(ctx, tx, merges.Erasure{CustomerID: "e", EraseTime: at}, at.Add(time.Second)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"b": "d", "c": "d", "d": "", "x": ""} {
				if got, err := mergesql.MergedInto(ctx, db, id); err != nil || got != want {
					t.Errorf("MergedInto(%s) = %q, %v; want %q", id, got, err, want)
				}
			}
			for id, want := range map[string]bool{"e": true, "b": false} {
				if got, err := mergesql.Erased(ctx, db, id); err != nil || got != want {
					t.Errorf("Erased(%s) = %v, %v; want %v", id, got, err, want)
				}
			}
			// The set-based lookups answer as the single ones do.
			into, err := mergesql.MergedIntoMany(ctx, db, db.Dialect, []string{"b", "c", "d", "x"})
			if err != nil || len(into) != 2 || into["b"] != "d" || into["c"] != "d" {
				t.Errorf("MergedIntoMany = %v, %v; want b and c into d", into, err)
			}
			erased, err := mergesql.ErasedAmong(ctx, db, db.Dialect, []string{"e", "b"})
			if err != nil || len(erased) != 1 || !erased["e"] {
				t.Errorf("ErasedAmong = %v, %v; want e", erased, err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM customer_erasures`).Scan(&n); err != nil || n != 1 {
				t.Errorf("erasures recorded: %d, %v; want 1", n, err)
			}
		})
	}
}
