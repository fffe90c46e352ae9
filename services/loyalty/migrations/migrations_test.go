package migrations_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// TestUpgradeMovesAccountsIntoDefaultProgram migrates a database holding
// accounts and a ledger written before 00003 and checks that they become
// memberships of the default program whose ledgers add up to the old
// balances.
func TestUpgradeMovesAccountsIntoDefaultProgram(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			old := fstest.MapFS{}
			for _, name := range []string{"00001_init.sql", "00002_merge_erasure.sql"} {
				data, err := fs.ReadFile(migrations.FS, name)
				if err != nil {
					t.Fatal(err)
				}
				old[name] = &fstest.MapFile{Data: data}
			}
			db := testinfra.OpenDB(t, d.URL, old)
			for _, q := range []string{
				`INSERT INTO loyalty_accounts (customer_id, points_balance, lifetime_points, tier, create_time, update_time, merged_into)
					VALUES ('c1', 130, 130, 'VIP', 1, 2, NULL), ('c2', 0, 0, 'NORMAL', 1, 2, 'c1')`,
				`INSERT INTO points_ledger (id, customer_id, points, lifetime_points, reason, interaction_id, counterpart_id, event_id, credit_time)
					VALUES ('l1', 'c2', 100, 100, 'purchase', 'i1', '', 'e1', 0), ('l2', 'c1', 30, 30, 'purchase', 'i2', '', 'e2', 0),
					('l3', 'c2', -100, -100, 'merge_out', '', 'c1', 'e3', 0), ('l4', 'c1', 100, 100, 'merge_in', '', 'c2', 'e3', 0)`,
			} {
				if _, err := db.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx, migrations.FS); err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			var points, lifetime int64
			err := db.QueryRow(ctx, `SELECT SUM(points), SUM(lifetime_points) FROM ledger_entries WHERE customer_id = 'c1'`).Scan(&points, &lifetime)
			if err != nil {
				t.Fatal(err)
			}
			if points != 130 || lifetime != 130 {
				t.Errorf("c1's ledger adds up to %d/%d after the upgrade, want 130/130", points, lifetime)
			}
			var status, tier, mergedInto string
			err = db.QueryRow(ctx, `SELECT status, tier_code, COALESCE(merged_into, '') FROM members WHERE customer_id = 'c2'`).Scan(&status, &tier, &mergedInto)
			if err != nil {
				t.Fatal(err)
			}
			if status != "merged" || tier != "normal" || mergedInto != "c1" {
				t.Errorf("c2 = %s/%s/%s, want merged/normal/c1", status, tier, mergedInto)
			}
			var programs, members int
			if err := db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM programs), (SELECT COUNT(*) FROM members)`).Scan(&programs, &members); err != nil {
				t.Fatal(err)
			}
			if programs != 1 || members != 2 {
				t.Errorf("%d programs, %d members after the upgrade, want 1 and 2", programs, members)
			}
		})
	}
}

// TestFreshDatabaseHasNoProgram: the service creates the default program
// from its configuration, so the migration must not create one.
func TestFreshDatabaseHasNoProgram(t *testing.T) {
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM programs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d programs after migrating an empty database, want 0", n)
	}
}
