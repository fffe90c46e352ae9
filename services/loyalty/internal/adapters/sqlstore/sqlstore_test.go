package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

const (
	customerA = "01890a5d-ac96-774b-bcce-b302099a8057"
	customerB = "01890a5d-ac96-774b-bcce-b302099a8058"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC)

// TestStoreContract runs the one store suite on every database.
func TestStoreContract(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			// The outbox only writes rows inside the tx here; no relay runs.
			s := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), "test/loyalty")

			t.Run("open account", func(t *testing.T) { testOpenAccount(t, s) })
			t.Run("credit with ledger and events", func(t *testing.T) { testCredit(t, db, s) })
			t.Run("idempotent by event id", func(t *testing.T) { testMarkHandled(t, s) })
			t.Run("rollback leaves nothing", func(t *testing.T) { testRollback(t, db, s) })
			t.Run("ledger event id unique", func(t *testing.T) { testLedgerEventUnique(t, s) })
			t.Run("merge links and transfers", func(t *testing.T) { testMergeLinks(t, s) })
			t.Run("erasure recorded once", func(t *testing.T) { testRecordErasure(t, s) })
		})
	}
}

func testOpenAccount(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	if _, err := s.Account(ctx, customerA); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Account before open: err = %v, want ErrNotFound", err)
	}
	var opened [2]bool
	for i := range opened {
		err := s.InTx(ctx, func(tx domain.Tx) error {
			var err error
			opened[i], err = tx.OpenAccount(ctx, domain.NewAccount(customerA, t0.Add(time.Duration(i)*time.Hour)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !opened[0] || opened[1] {
		t.Fatalf("opened = %v, want first only", opened)
	}
	got, err := s.Account(ctx, customerA)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.NewAccount(customerA, t0)
	if got != want {
		t.Fatalf("account = %+v, want %+v (second open must not overwrite)", got, want)
	}
}

func testCredit(t *testing.T, db *sqldb.DB, s *sqlstore.Store) {
	ctx := context.Background()
	t1 := t0.Add(time.Minute)
	entry := domain.LedgerEntry{
		ID: "01890a5d-ac96-774b-bcce-000000000001", CustomerID: customerB, Points: 10000,
		Reason: domain.ReasonPurchase, InteractionID: "i-1", EventID: "e-credit-1", Time: t1,
	}
	err := s.InTx(ctx, func(tx domain.Tx) error {
		if _, err := tx.OpenAccount(ctx, domain.NewAccount(customerB, t0)); err != nil {
			return err
		}
		acc, err := tx.LockAccount(ctx, customerB)
		if err != nil {
			return err
		}
		old, err := acc.Credit(entry.Points, t1, 10000)
		if err != nil {
			return err
		}
		if err := tx.SaveAccount(ctx, acc); err != nil {
			return err
		}
		if err := tx.AddLedgerEntry(ctx, entry); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{CustomerID: customerB, Points: entry.Points, PointsBalance: acc.PointsBalance, InteractionID: "i-1"}); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.TierChanged{CustomerID: customerB, OldTier: old, NewTier: acc.Tier})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Account(ctx, customerB)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Account{CustomerID: customerB, PointsBalance: 10000, LifetimePoints: 10000, Tier: domain.TierVIP, CreateTime: t0, UpdateTime: t1}
	if got != want {
		t.Fatalf("account = %+v, want %+v", got, want)
	}
	ledger, err := s.Ledger(ctx, customerB)
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 1 || ledger[0] != entry {
		t.Fatalf("ledger = %+v, want [%+v]", ledger, entry)
	}
	subjects := outboxSubjects(t, db)
	if len(subjects) != 2 || subjects[0] != loyaltyv1.SubjectPointsEarned || subjects[1] != loyaltyv1.SubjectTierChanged {
		t.Fatalf("outbox subjects = %v, want points earned then tier changed", subjects)
	}

	err = s.InTx(ctx, func(tx domain.Tx) error {
		return tx.SaveAccount(ctx, domain.NewAccount("01890a5d-ac96-774b-bcce-ffffffffffff", t0))
	})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("SaveAccount of a missing account: err = %v, want ErrNotFound", err)
	}
	err = s.InTx(ctx, func(tx domain.Tx) error {
		_, err := tx.LockAccount(ctx, "01890a5d-ac96-774b-bcce-ffffffffffff")
		return err
	})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("LockAccount of a missing account: err = %v, want ErrNotFound", err)
	}
}

func testMarkHandled(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	mark := func(consumer, id string) bool {
		t.Helper()
		var first bool
		if err := s.InTx(ctx, func(tx domain.Tx) error {
			var err error
			first, err = tx.MarkHandled(ctx, consumer, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !mark("c1", "ev-1") {
		t.Fatal("first mark not first")
	}
	if mark("c1", "ev-1") {
		t.Fatal("second mark of the same event was first again")
	}
	if !mark("c2", "ev-1") {
		t.Fatal("another consumer's mark of the same event was not first")
	}
}

func testRollback(t *testing.T, db *sqldb.DB, s *sqlstore.Store) {
	ctx := context.Background()
	const customer = "01890a5d-ac96-774b-bcce-b302099a8059"
	before := len(outboxSubjects(t, db))
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx domain.Tx) error {
		if _, err := tx.MarkHandled(ctx, "rb", "ev-rb"); err != nil {
			return err
		}
		if _, err := tx.OpenAccount(ctx, domain.NewAccount(customer, t0)); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{CustomerID: customer, Points: 1, PointsBalance: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, err := s.Account(ctx, customer); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("account after rollback: err = %v, want ErrNotFound", err)
	}
	if after := len(outboxSubjects(t, db)); after != before {
		t.Fatalf("outbox grew from %d to %d in a rolled back tx", before, after)
	}
	var first bool
	if err := s.InTx(ctx, func(tx domain.Tx) error {
		var err error
		first, err = tx.MarkHandled(ctx, "rb", "ev-rb")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !first {
		t.Fatal("inbox mark survived the rollback: the event would never be applied")
	}
}

func testLedgerEventUnique(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	add := func(id string) error {
		return s.InTx(ctx, func(tx domain.Tx) error {
			return tx.AddLedgerEntry(ctx, domain.LedgerEntry{
				ID: id, CustomerID: customerA, Points: 1, Reason: domain.ReasonPurchase,
				InteractionID: "i-u", EventID: "e-unique", Time: t0,
			})
		})
	}
	if err := add("01890a5d-ac96-774b-bcce-000000000010"); err != nil {
		t.Fatal(err)
	}
	if err := add("01890a5d-ac96-774b-bcce-000000000011"); !sqldb.IsUniqueViolation(err) {
		t.Fatalf("second entry for the same event: err = %v, want unique violation", err)
	}
}

func outboxSubjects(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT subject FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func testMergeLinks(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	const (
		merged   = "01890a5d-ac96-774b-bcce-b3020990aa01"
		earlier  = "01890a5d-ac96-774b-bcce-b3020990aa02"
		survivor = "01890a5d-ac96-774b-bcce-b3020990aa03"
	)
	t1 := t0.Add(time.Hour)
	err := s.InTx(ctx, func(tx domain.Tx) error {
		for _, id := range []string{merged, earlier, survivor} {
			if _, err := tx.OpenAccount(ctx, domain.NewAccount(id, t0)); err != nil {
				return err
			}
		}
		// earlier was merged into merged before; merged now goes to survivor.
		e := domain.NewAccount(earlier, t0)
		e.MergedInto = merged
		if err := tx.SaveAccount(ctx, e); err != nil {
			return err
		}
		m := domain.NewAccount(merged, t0)
		m.MergedInto, m.UpdateTime = survivor, t1
		if err := tx.SaveAccount(ctx, m); err != nil {
			return err
		}
		if err := tx.RepointMerged(ctx, merged, survivor); err != nil {
			return err
		}
		entries := domain.TransferEntries(domain.Merge{MergedID: merged, SurvivorID: survivor},
			domain.Transfer{Points: 5, LifetimePoints: 7},
			"01890a5d-ac96-774b-bcce-0000000000a1", "01890a5d-ac96-774b-bcce-0000000000a2", "e-merge", t1)
		for _, e := range entries {
			if err := tx.AddLedgerEntry(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{merged: survivor, earlier: survivor, survivor: ""} {
		got, err := s.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.MergedInto != want {
			t.Errorf("account %s merged into %q, want %q", id, got.MergedInto, want)
		}
	}
	in, err := s.Ledger(ctx, survivor)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.LedgerEntry{
		ID: "01890a5d-ac96-774b-bcce-0000000000a2", CustomerID: survivor, Points: 5, LifetimePoints: 7,
		Reason: domain.ReasonMergeIn, CounterpartID: merged, EventID: "e-merge", Time: t1,
	}
	if len(in) != 1 || in[0] != want {
		t.Fatalf("survivor ledger = %+v, want [%+v]", in, want)
	}
	out, err := s.Ledger(ctx, merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Points != -5 || out[0].LifetimePoints != -7 || out[0].CounterpartID != survivor {
		t.Fatalf("merged ledger = %+v, want one transfer of -5/-7 to the survivor", out)
	}
}

func testRecordErasure(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	if _, err := s.Erasure(ctx, customerA); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("erasure before any: err = %v, want ErrNotFound", err)
	}
	for i := range 2 {
		err := s.InTx(ctx, func(tx domain.Tx) error {
			return tx.RecordErasure(ctx, domain.Erasure{CustomerID: customerA, EraseTime: t0.Add(time.Duration(i) * time.Hour)}, t0)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Erasure(ctx, customerA)
	if err != nil {
		t.Fatal(err)
	}
	if !got.EraseTime.Equal(t0) {
		t.Fatalf("erase time = %v, want the first one %v", got.EraseTime, t0)
	}
}
