package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"

	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// TestStoreContract runs the one store suite on every database.
func TestStoreContract(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			// The outbox only writes rows inside the tx here; no relay runs.
			s := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), eventsadapter.NewEncoder(), nil)
			p := domain.Program{ID: id(), Name: "p", TimeZone: "Asia/Shanghai", ExpiryKind: domain.ExpiryNever,
				Tiers: []domain.TierDef{{Code: "normal", Name: "Normal", MultiplierPercent: 100}}, CreateTime: t0, UpdateTime: t0}
			tx(t, s, func(tx domain.Tx) error { return tx.InsertProgram(context.Background(), p, "req-1") })

			t.Run("programs round-trip", func(t *testing.T) { testPrograms(t, s, p) })
			t.Run("members and numbers", func(t *testing.T) { testMembers(t, s, p) })
			t.Run("members, numbers, entries and sums by the set", func(t *testing.T) { testMembersSet(t, s, p) })
			t.Run("ledger is idempotent by cause and sums", func(t *testing.T) { testLedger(t, db, s, p) })
			t.Run("summary locked, then added to, equals the ledger's", func(t *testing.T) { testSummaryAdd(t, s, p) })
			t.Run("stock never below zero", func(t *testing.T) { testStock(t, s, p) })
			t.Run("rollback leaves nothing", func(t *testing.T) { testRollback(t, db, s, p) })
		})
	}
}

func tx(t *testing.T, s *sqlstore.Store, fn func(tx domain.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func testPrograms(t *testing.T, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	got, err := s.Program(ctx, p.ID)
	if err != nil || got.Name != "p" || got.TimeZone != "Asia/Shanghai" || len(got.Tiers) != 1 || !got.CreateTime.Equal(t0) {
		t.Fatalf("program = %+v, %v", got, err)
	}
	if byReq, err := s.ProgramByRequest(ctx, "req-1"); err != nil || byReq.ID != p.ID {
		t.Fatalf("program by request = %+v, %v", byReq, err)
	}
	if _, err := s.Program(ctx, id()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown program: err = %v", err)
	}
	// Ensuring an existing program changes nothing.
	changed := p
	changed.Name = "other"
	tx(t, s, func(tx domain.Tx) error { return tx.EnsureProgram(ctx, changed) })
	if got, _ := s.Program(ctx, p.ID); got.Name != "p" {
		t.Fatalf("EnsureProgram overwrote the program: %+v", got)
	}
}

func testMembers(t *testing.T, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	c := id()
	var numbers []int64
	for range 2 {
		tx(t, s, func(tx domain.Tx) error {
			n, err := tx.TakeMemberNumbers(ctx, p.ID, 1)
			numbers = append(numbers, n)
			if err != nil {
				return err
			}
			_, err = tx.InsertMembers(ctx, []domain.Member{domain.NewMember(p, c, n, t0)})
			return err
		})
	}
	if numbers[1] != numbers[0]+1 {
		t.Fatalf("member numbers %v do not follow each other", numbers)
	}
	m, err := s.Member(ctx, p.ID, c)
	if err != nil || m.Number != domain.NewMember(p, c, numbers[0], t0).Number || m.Status != domain.MemberActive || !m.JoinTime.Equal(t0) {
		t.Fatalf("member = %+v, %v; the second insert must not replace the first", m, err)
	}
	var nf *domain.AccountNotFoundError
	if _, err := s.Member(ctx, p.ID, id()); !errors.As(err, &nf) {
		t.Fatalf("unknown member: err = %v", err)
	}
	m.GraceUntil, m.TierCode, m.MergedInto, m.Status = t0.Add(time.Hour), "normal", "x", domain.MemberMerged
	tx(t, s, func(tx domain.Tx) error { return tx.SaveMember(ctx, m) })
	got, sum, err := s.MemberSummary(ctx, p.ID, c, t0, t0)
	if err != nil || !got.GraceUntil.Equal(m.GraceUntil) || got.MergedInto != "x" || sum.Total != 0 {
		t.Fatalf("member summary = %+v %+v, %v", got, sum, err)
	}
}

// testMembersSet checks the set-based writes of a batch: n numbers in one
// draw, members inserted together except those who are members already,
// entries added together except causes booked already, and summaries read
// together, zero for a member without entries.
func testMembersSet(t *testing.T, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	a, b, c, stranger := id(), id(), id(), id()
	var lastA, last int64
	tx(t, s, func(tx domain.Tx) (err error) {
		if lastA, err = tx.TakeMemberNumbers(ctx, p.ID, 1); err != nil {
			return err
		}
		_, err = tx.InsertMembers(ctx, []domain.Member{domain.NewMember(p, a, lastA, t0)})
		return err
	})
	var stored map[string]bool
	tx(t, s, func(tx domain.Tx) (err error) {
		if _, err := tx.TakeMemberNumbers(ctx, p.ID, 0); err == nil {
			t.Error("TakeMemberNumbers(0) did not fail")
		}
		if last, err = tx.TakeMemberNumbers(ctx, p.ID, 3); err != nil {
			return err
		}
		stored, err = tx.InsertMembers(ctx, []domain.Member{
			domain.NewMember(p, b, last-2, t0), domain.NewMember(p, a, last-1, t0), domain.NewMember(p, c, last, t0),
		})
		return err
	})
	if last != lastA+3 || len(stored) != 2 || !stored[b] || !stored[c] {
		t.Fatalf("numbers drawn to %d after %d, stored %v: want %d and b, c", last, lastA, stored, lastA+3)
	}
	tx(t, s, func(tx domain.Tx) error {
		ms, err := tx.Members(ctx, p.ID, []string{a, b, c, stranger})
		if err != nil {
			return err
		}
		if len(ms) != 3 || ms[a].Number != domain.NewMember(p, a, lastA, t0).Number || ms[c].Number != domain.NewMember(p, c, last, t0).Number {
			t.Errorf("members = %+v: want a with its first number, b and c, no stranger", ms)
		}
		if err := tx.AddEntries(ctx, []domain.LedgerEntry{entry(p, a, "welcome:"+a, 10, t0), entry(p, b, "welcome:"+b, 20, t0)}); err != nil {
			return err
		}
		// Booked already: skipped, not doubled.
		if err := tx.AddEntries(ctx, []domain.LedgerEntry{entry(p, a, "welcome:"+a, 10, t0)}); err != nil {
			return err
		}
		sums, err := tx.Summaries(ctx, p.ID, []string{a, b, c}, t0.Add(time.Hour), t0.Add(-time.Hour))
		if err != nil {
			return err
		}
		if len(sums) != 3 || sums[a].Total != 10 || sums[b].Total != 20 || sums[c] != (domain.Summary{}) {
			t.Errorf("summaries = %+v: want a 10, b 20, c zero", sums)
		}
		return nil
	})
}

func entry(p domain.Program, customer, cause string, points int64, at time.Time) domain.LedgerEntry {
	return domain.LedgerEntry{ID: id(), ProgramID: p.ID, CustomerID: customer, Kind: domain.KindEarn, Source: domain.SourcePurchase,
		Points: points, LifetimePoints: points, Cause: cause, RuleIDs: []string{"a", "b"}, OccurTime: at, CreateTime: at, AvailableTime: at,
		ExpireTime: at.AddDate(0, 1, 0), Day: "2025-03-01"}
}

func testLedger(t *testing.T, db *sqldb.DB, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	a, b := id(), id()
	var added []bool
	tx(t, s, func(tx domain.Tx) error {
		for _, e := range []domain.LedgerEntry{
			entry(p, a, "purchase:1", 100, t0),
			entry(p, a, "purchase:1", 100, t0), // the same cause again
			entry(p, a, "purchase:2", 50, t0.Add(time.Hour)),
			entry(p, b, "purchase:3", 7, t0),
		} {
			ok, err := tx.AddEntry(ctx, e)
			if err != nil {
				return err
			}
			added = append(added, ok)
		}
		return nil
	})
	if added[0] != true || added[1] != false || added[2] != true {
		t.Fatalf("added = %v, want the repeated cause refused", added)
	}
	sum, err := s.Summary(ctx, p.ID, a, t0.Add(30*time.Minute), t0.Add(-time.Hour))
	if err != nil || sum.Total != 150 || sum.Pending != 50 || sum.Lifetime != 150 || sum.WindowPoints != 150 {
		t.Fatalf("summary = %+v, %v; want 150 total, 50 pending", sum, err)
	}
	if n, _ := s.EarnedOnDay(ctx, p.ID, a, "2025-03-01"); n != 150 {
		t.Fatalf("earned on day = %d, want 150", n)
	}
	entries, err := s.Ledger(ctx, p.ID, a, "", 1)
	if err != nil || len(entries) != 1 || entries[0].Cause != "purchase:2" || len(entries[0].RuleIDs) != 2 {
		t.Fatalf("newest entry = %+v, %v", entries, err)
	}
	older, err := s.Ledger(ctx, p.ID, a, entries[0].ID, 10)
	if err != nil || len(older) != 1 || older[0].Cause != "purchase:1" || !older[0].ExpireTime.Equal(t0.AddDate(0, 1, 0)) {
		t.Fatalf("older entries = %+v, %v", older, err)
	}
	st, err := s.ExpiryState(ctx, p.ID, a)
	if err != nil || len(st.Buckets) != 2 || st.Buckets[0].Credits != 100 {
		t.Fatalf("expiry state = %+v, %v", st, err)
	}
	// Moving a's entries to b keeps whom they were booked for.
	var moved int
	tx(t, s, func(tx domain.Tx) error {
		var err error
		moved, _, err = tx.MoveLedger(ctx, p.ID, a, b)
		return err
	})
	totals, err := s.LedgerTotals(ctx, p.ID)
	if err != nil || moved != 2 || totals[b] != 157 || totals[a] != 0 {
		t.Fatalf("after the move: %d moved, totals %v, %v", moved, totals, err)
	}
	if e, err := s.Entry(ctx, p.ID, "purchase:1"); err != nil || e.CustomerID != b || e.OriginCustomerID != a {
		t.Fatalf("moved entry = %+v, %v", e, err)
	}
	var first [2]bool
	for i := range first {
		tx(t, s, func(tx domain.Tx) error {
			var err error
			first[i], err = tx.RecordNotice(ctx, p.ID, b, t0)
			return err
		})
	}
	if first != [2]bool{true, false} {
		t.Fatalf("notices recorded %v, want once", first)
	}
	pe := domain.PurchaseEarning{ProgramID: p.ID, InteractionID: "i-1", CustomerID: b, Points: 9, Lines: []domain.LineEarning{{SKU: "s", Quantity: 1, Points: 9}}}
	var inserted [2]bool
	for i := range inserted {
		tx(t, s, func(tx domain.Tx) error {
			var err error
			inserted[i], err = tx.BookPurchase(ctx, pe, nil)
			return err
		})
	}
	got, err := s.PurchaseEarning(ctx, p.ID, "i-1")
	if inserted != [2]bool{true, false} || err != nil || got.Points != 9 || got.Lines[0].SKU != "s" {
		t.Fatalf("purchase earning inserted %v, read %+v, %v", inserted, got, err)
	}

	// With its entry (one statement on PostgreSQL): booked once.
	pe.InteractionID = "i-2"
	cause := domain.CausePurchase("i-2")
	var booked [2]bool
	for i := range booked {
		e := domain.LedgerEntry{ID: id(), ProgramID: p.ID, CustomerID: b, Kind: domain.KindEarn, Source: domain.SourcePurchase,
			Points: 9, LifetimePoints: 9, Cause: cause, InteractionID: "i-2", OccurTime: t0, CreateTime: t0, AvailableTime: t0}
		tx(t, s, func(tx domain.Tx) error {
			var err error
			booked[i], err = tx.BookPurchase(ctx, pe, &e)
			return err
		})
	}
	var entry domain.LedgerEntry
	tx(t, s, func(tx domain.Tx) error {
		var err error
		entry, err = tx.Entry(ctx, p.ID, cause)
		return err
	})
	if booked != [2]bool{true, false} || entry.Points != 9 || entry.InteractionID != "i-2" {
		t.Fatalf("purchase with entry booked %v, entry %+v", booked, entry)
	}
}

// testSummaryAdd: the summary read with the member's lock, plus each new
// entry counted by Summary.Add, is what summing the ledger gives, whether
// the entry is pending, outside the tier window or of a source that does
// not qualify.
func testSummaryAdd(t *testing.T, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	c := id()
	now, window := t0.Add(time.Hour), t0.Add(-time.Hour)
	tx(t, s, func(tx domain.Tx) error {
		n, err := tx.TakeMemberNumbers(ctx, p.ID, 1)
		if err != nil {
			return err
		}
		_, err = tx.InsertMembers(ctx, []domain.Member{domain.NewMember(p, c, n, t0)})
		return err
	})
	pending := entry(p, c, "purchase:pending", 40, t0)
	pending.AvailableTime = now.Add(time.Microsecond)
	old := entry(p, c, "purchase:old", 30, window.Add(-time.Microsecond))
	old.SpendMinor = 500
	manual := entry(p, c, "manual:1", 20, t0)
	manual.Source = domain.SourceManual
	spent := entry(p, c, "redemption:1", -25, t0)
	spent.Source, spent.LifetimePoints = domain.SourceRedemption, 0
	bought := entry(p, c, "purchase:now", 60, window)
	bought.SpendMinor = 700
	for _, e := range []domain.LedgerEntry{pending, old, manual, spent, bought} {
		tx(t, s, func(tx domain.Tx) error {
			m, sum, err := tx.LockMemberSummary(ctx, p.ID, c, now, window)
			if err != nil || m.CustomerID != c {
				return fmt.Errorf("lock member summary: %+v, %w", m, err)
			}
			if _, err := tx.AddEntry(ctx, e); err != nil {
				return err
			}
			sum.Add(e, now, window)
			want, err := tx.Summary(ctx, p.ID, c, now, window)
			if err != nil {
				return err
			}
			if sum != want {
				t.Errorf("after %s: summary plus the entry = %+v, ledger sums %+v", e.Cause, sum, want)
			}
			return nil
		})
	}
	var missing *domain.AccountNotFoundError
	tx(t, s, func(tx domain.Tx) error {
		if _, _, err := tx.LockMemberSummary(ctx, p.ID, id(), now, window); !errors.As(err, &missing) {
			t.Errorf("no member: err = %v, want AccountNotFoundError", err)
		}
		return nil
	})
}

func testStock(t *testing.T, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	r := domain.Reward{ID: id(), ProgramID: p.ID, Name: "r", PointsCost: 1, Stock: 1, CreateTime: t0, UpdateTime: t0}
	tx(t, s, func(tx domain.Tx) error { return tx.InsertReward(ctx, r, "") })
	var took []bool
	for range 2 {
		tx(t, s, func(tx domain.Tx) error {
			ok, err := tx.TakeStock(ctx, r.ID)
			took = append(took, ok)
			return err
		})
	}
	if took[0] != true || took[1] != false {
		t.Fatalf("took %v, want one unit only", took)
	}
	tx(t, s, func(tx domain.Tx) error { return tx.ReturnStock(ctx, r.ID) })
	if got, err := s.Reward(ctx, r.ID); err != nil || got.Stock != 1 {
		t.Fatalf("stock after return = %d, %v", got.Stock, err)
	}
}

func testRollback(t *testing.T, db *sqldb.DB, s *sqlstore.Store, p domain.Program) {
	ctx := context.Background()
	c := id()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx domain.Tx) error {
		if _, err := tx.AddEntry(ctx, entry(p, c, "rollback:1", 5, t0)); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{ProgramID: p.ID, CustomerID: c, Points: 5}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Entry(ctx, p.ID, "rollback:1"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("rolled-back entry found: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("outbox holds %d rows after a rollback, %v", n, err)
	}
}
