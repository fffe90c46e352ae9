package sqlstore_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

// TestExistingPurchasesMigrate: purchases stored before the days were
// (schema 00005) keep their UTC days through the migration, as they were
// counted, and move to the company's days when the store is given its
// zone. The purchase at 23:30 on 10 March in Shanghai and the one at 00:30
// on the 11th are one UTC day but two in Shanghai.
func TestExistingPurchasesMigrate(t *testing.T) {
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrationsBefore(t, "00006"))
			cust := newID(t)
			late, early := time.Date(2026, 3, 10, 23, 30, 0, 0, shanghai), time.Date(2026, 3, 11, 0, 30, 0, 0, shanghai)
			if _, err := db.Exec(ctx, `INSERT INTO customers (id, register_time) VALUES (?, ?)`, cust, sqldb.Micros(late)); err != nil {
				t.Fatal(err)
			}
			for _, at := range []time.Time{late, early} {
				if _, err := db.Exec(ctx, `INSERT INTO purchases (interaction_id, customer_id, currency, amount_minor, occur_time) VALUES (?, ?, 'CNY', 100, ?)`,
					newID(t), cust, sqldb.Micros(at)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx, migrations.FS); err != nil {
				t.Fatal(err)
			}
			w := domain.Window{Currency: "CNY", Since: late.AddDate(-1, 0, 0), Until: early}
			store := sqlstore.New(db, events.NewOutbox(db, nil, nil), eventsadapter.NewEncoder())
			if f, err := store.Facts(ctx, cust, w); err != nil || f.PurchaseDays != 1 || f.SpendDays != 1 || f.Lifetime != 200 {
				t.Fatalf("migrated, in UTC days: %+v, %v", f, err)
			}
			if err := store.UseTimeZone(ctx, shanghai); err != nil {
				t.Fatal(err)
			}
			if f, err := store.Facts(ctx, cust, w); err != nil || f.PurchaseDays != 2 || f.SpendDays != 2 || f.RepeatSpend != 100 || f.Zone != shanghai {
				t.Fatalf("in Shanghai days: %+v, %v", f, err)
			}
			// A purchase the previous release stores during a rolling
			// update has no day: it counts in its UTC day until the next
			// start gives it its day in the zone.
			if _, err := db.Exec(ctx, `INSERT INTO purchases (interaction_id, customer_id, currency, amount_minor, occur_time) VALUES (?, ?, 'CNY', 100, ?)`,
				newID(t), cust, sqldb.Micros(late.Add(-time.Hour))); err != nil {
				t.Fatal(err)
			}
			if f, err := store.Facts(ctx, cust, w); err != nil || f.PurchaseDays != 2 || f.PurchaseCount != 3 {
				t.Fatalf("with a purchase without a day: %+v, %v", f, err)
			}
			if err := store.UseTimeZone(ctx, shanghai); err != nil {
				t.Fatal(err)
			}
			var missing int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM purchases WHERE local_day IS NULL`).Scan(&missing); err != nil || missing != 0 {
				t.Fatalf("%d purchases without a day after a start (%v)", missing, err)
			}
			if f, err := store.Facts(ctx, cust, w); err != nil || f.PurchaseDays != 2 || f.PurchaseCount != 3 {
				t.Fatalf("after a start: %+v, %v", f, err)
			}
			// Back to UTC: the days follow again.
			if err := store.UseTimeZone(ctx, time.UTC); err != nil {
				t.Fatal(err)
			}
			if f, err := store.Facts(ctx, cust, w); err != nil || f.PurchaseDays != 1 {
				t.Fatalf("back in UTC days: %+v, %v", f, err)
			}
		})
	}
}

// migrationsBefore is the service's migrations older than version.
func migrationsBefore(t *testing.T, version string) fs.FS {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		if name < version {
			raw, err := fs.ReadFile(migrations.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = &fstest.MapFile{Data: raw}
		}
	}
	return out
}
