package sqlstore_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	eventsadapter "github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/migrations"
)

func (h *harness) testOrderIdentity(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	first := purchaseOf(t, customer, base)
	if err := h.record(ctx, first, domain.IdempotencyKey{}); err != nil {
		t.Fatal(err)
	}
	again := purchaseOf(t, customer, base)
	again.Purchase.OrderID = first.Purchase.OrderID
	if err := h.record(ctx, again, domain.IdempotencyKey{}); !errors.Is(err, domain.ErrDuplicate) {
		t.Errorf("second purchase of order %s: %v, want ErrDuplicate", first.Purchase.OrderID, err)
	}
	// The same order id in another system is another order, and purchases
	// without an order id never collide.
	elsewhere := purchaseOf(t, customer, base)
	elsewhere.Source, elsewhere.Purchase.OrderID = "web", first.Purchase.OrderID
	if err := h.record(ctx, elsewhere, domain.IdempotencyKey{}); err != nil {
		t.Errorf("order %s of another source: %v", first.Purchase.OrderID, err)
	}
	for range 2 {
		none := purchaseOf(t, customer, base)
		none.Purchase.OrderID = ""
		if err := h.record(ctx, none, domain.IdempotencyKey{}); err != nil {
			t.Errorf("purchase without an order id: %v", err)
		}
	}
	key := domain.OrderKey{Source: "pos", OrderID: first.Purchase.OrderID}
	found, err := h.store.FindOrders(ctx, []domain.OrderKey{key, {Source: "pos", OrderID: "unknown"}})
	if err != nil {
		t.Fatal(err)
	}
	want := domain.RecordedOrder{InteractionID: first.ID, CustomerID: customer, Total: first.Purchase.Total}
	if len(found) != 1 || found[key] != want {
		t.Errorf("FindOrders = %v, want only %v", found, want)
	}
}

func (h *harness) testConcurrentOrders(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	svc := app.New(h.store, knownCustomers{customer: true}, nil)
	order := "SO-" + newID(t)
	cmd := func() app.RecordInteraction {
		return app.RecordInteraction{Interaction: domain.Interaction{CustomerID: customer, Source: "pos",
			Purchase: &domain.Purchase{OrderID: order, Total: domain.Money{CurrencyCode: "CNY", AmountMinor: 500}}}}
	}
	before := h.depth(t)
	const n = 6
	type result struct {
		id  string
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			in, err := svc.Timeline.RecordInteraction(ctx, cmd())
			results <- result{in.ID, err}
		}()
	}
	var first string
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("concurrent post of one order: %v", r.err)
		}
		if first == "" {
			first = r.id
		}
		if r.id != first {
			t.Errorf("concurrent posts returned %s and %s, want one interaction", first, r.id)
		}
	}
	// InteractionRecorded and PurchaseRecorded of one purchase.
	if d := h.depth(t) - before; d != 2 {
		t.Errorf("outbox grew by %d, want the 2 events of one purchase", d)
	}
	conflict := cmd()
	conflict.Interaction.Purchase.Total.AmountMinor = 501
	var oc *domain.OrderConflictError
	if _, err := svc.Timeline.RecordInteraction(ctx, conflict); !errors.As(err, &oc) || !errors.Is(err, domain.ErrConflict) {
		t.Errorf("order %s with another total: %v, want an OrderConflictError", order, err)
	}
}

// TestOrderMigrationKeepsOldDuplicates upgrades a database holding the
// same order twice, as recorded before orders were unique: the migration
// succeeds, keeps both purchases, and the first is the one the order
// names from then on.
func TestOrderMigrationKeepsOldDuplicates(t *testing.T) {
	ctx := context.Background()
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n >= "00006" {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		before[n] = &fstest.MapFile{Data: b}
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, before)
			customer := newID(t)
			ins := []struct{ id, source, order string }{
				{newID(t), "pos", "OLD-1"}, // the first of OLD-1
				{newID(t), "pos", "OLD-1"}, // its copy
				{newID(t), "pos", "OLD-1"}, // another copy
				{newID(t), "web", "OLD-1"}, // another system's OLD-1
				{newID(t), "pos", ""},      // no order id
				{newID(t), "pos", ""},
			}
			for i, in := range ins {
				if _, err := db.Exec(ctx, `INSERT INTO interactions (id, customer_id, kind, channel, occur_time, summary, source, create_time)
					VALUES (?, ?, 'purchase', '', ?, '', ?, ?)`, in.id, customer, i, in.source, 1000+i); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(ctx, `INSERT INTO purchases (interaction_id, currency_code, total_minor, order_id)
					VALUES (?, 'CNY', 100, ?)`, in.id, in.order); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx, migrations.FS); err != nil {
				t.Fatalf("migrating data with duplicate orders: %v", err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM purchases`).Scan(&n); err != nil || n != len(ins) {
				t.Errorf("%d purchases after the migration (%v), want all %d kept", n, err, len(ins))
			}
			store := sqlstore.New(db, events.NewOutbox(db, nil, nil), eventsadapter.NewEncoder())
			found, err := store.FindOrders(ctx, []domain.OrderKey{{Source: "pos", OrderID: "OLD-1"}, {Source: "web", OrderID: "OLD-1"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := found[domain.OrderKey{Source: "pos", OrderID: "OLD-1"}].InteractionID; got != ins[0].id {
				t.Errorf("pos OLD-1 names %s, want the first purchase %s", got, ins[0].id)
			}
			if got := found[domain.OrderKey{Source: "web", OrderID: "OLD-1"}].InteractionID; got != ins[3].id {
				t.Errorf("web OLD-1 names %s, want %s", got, ins[3].id)
			}
			// From now on the order is taken.
			dup := purchaseOf(t, customer, base)
			dup.Purchase.OrderID = "OLD-1"
			err = store.InTx(ctx, func(tx domain.Tx) error { return tx.Insert(ctx, domain.Keyed{Interaction: dup}) })
			if !errors.Is(err, domain.ErrDuplicate) {
				t.Errorf("a new purchase of OLD-1: %v, want ErrDuplicate", err)
			}
			if strings.Contains(d.Name, "postgres") {
				// The index is the one that enforces it, not a leftover.
				var idx int
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'purchases_order_backfill'`).Scan(&idx); err != nil || idx != 0 {
					t.Errorf("the backfill index is left behind (%d, %v)", idx, err)
				}
			}
		})
	}
}
