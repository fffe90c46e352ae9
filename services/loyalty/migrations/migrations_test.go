package migrations_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// TestUpgradeKeepsLedgerConsistent migrates a database holding a ledger
// written before 00002 and checks that the purchase entries' lifetime
// points are filled in, so ledgers still add up to their accounts.
func TestUpgradeKeepsLedgerConsistent(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			first, err := fs.ReadFile(migrations.FS, "00001_init.sql")
			if err != nil {
				t.Fatal(err)
			}
			db := testinfra.OpenDB(t, d.URL, fstest.MapFS{"00001_init.sql": {Data: first}})
			for _, q := range []string{
				`INSERT INTO loyalty_accounts (customer_id, points_balance, lifetime_points, tier, create_time, update_time)
					VALUES ('c1', 130, 130, 'NORMAL', 0, 0), ('c2', 0, 0, 'NORMAL', 0, 0)`,
				`INSERT INTO points_ledger (id, customer_id, points, reason, interaction_id, event_id, credit_time)
					VALUES ('l1', 'c1', 100, 'purchase', 'i1', 'e1', 0), ('l2', 'c1', 30, 'purchase', 'i2', 'e2', 0)`,
			} {
				if _, err := db.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx, migrations.FS); err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			var points, lifetime int64
			var mergedInto *string
			err = db.QueryRow(ctx, `SELECT SUM(points), SUM(lifetime_points) FROM points_ledger WHERE customer_id = 'c1'`).Scan(&points, &lifetime)
			if err != nil {
				t.Fatal(err)
			}
			if points != 130 || lifetime != 130 {
				t.Errorf("ledger adds up to %d/%d after the upgrade, want 130/130", points, lifetime)
			}
			if err := db.QueryRow(ctx, `SELECT merged_into FROM loyalty_accounts WHERE customer_id = 'c1'`).Scan(&mergedInto); err != nil {
				t.Fatal(err)
			}
			if mergedInto != nil {
				t.Errorf("existing account merged into %q, want NULL", *mergedInto)
			}
			// A merge event books one entry on each of two accounts.
			if _, err := db.Exec(ctx, `INSERT INTO points_ledger (id, customer_id, points, reason, interaction_id, event_id, credit_time)
				VALUES ('l3', 'c2', 1, 'merge_in', '', 'e1', 0)`); err != nil {
				t.Errorf("second account's entry for an event: %v", err)
			}
			_, err = db.Exec(ctx, `INSERT INTO points_ledger (id, customer_id, points, reason, interaction_id, event_id, credit_time)
				VALUES ('l4', 'c1', 1, 'purchase', '', 'e1', 0)`)
			if !sqldb.IsUniqueViolation(err) {
				t.Errorf("second entry for one event on one account: err = %v, want a unique violation", err)
			}
		})
	}
}
