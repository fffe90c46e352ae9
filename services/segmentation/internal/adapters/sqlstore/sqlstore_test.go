package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

// TestStoreContract is the one suite every store must pass.
func TestStoreContract(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			// The outbox only writes rows here; its relay is not started.
			store := sqlstore.New(db, events.NewOutbox(db, nil, nil), eventsadapter.NewEncoder())
			t.Run("register customer", func(t *testing.T) { testRegisterCustomer(t, store) })
			t.Run("inbox", func(t *testing.T) { testInbox(t, store) })
			t.Run("purchase once per interaction", func(t *testing.T) { testPurchaseOnce(t, store) })
			t.Run("spend", func(t *testing.T) { testSpend(t, store) })
			t.Run("ranking", func(t *testing.T) { testRanking(t, store) })
			t.Run("rollback", func(t *testing.T) { testRollback(t, store, db) })
			t.Run("publish", func(t *testing.T) { testPublish(t, store, db) })
			t.Run("merge customer", func(t *testing.T) { testMergeCustomer(t, store) })
			t.Run("erasure recorded once", func(t *testing.T) { testRecordErasure(t, store) })
			t.Run("model fit", func(t *testing.T) { testModelFit(t, store) })
		})
	}
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func inTx(t *testing.T, s *sqlstore.Store, fn func(tx domain.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func record(t *testing.T, s *sqlstore.Store, p domain.Purchase) bool {
	t.Helper()
	var recorded bool
	inTx(t, s, func(tx domain.Tx) error {
		if err := tx.RegisterCustomer(context.Background(), p.CustomerID, p.OccurTime); err != nil {
			return err
		}
		var err error
		recorded, err = tx.RecordPurchase(context.Background(), p)
		return err
	})
	return recorded
}

func purchase(t *testing.T, customerID, currency string, minor int64, at time.Time) domain.Purchase {
	return domain.Purchase{
		InteractionID: newID(t),
		CustomerID:    customerID,
		Amount:        domain.Money{Currency: currency, Minor: minor},
		OccurTime:     at,
	}
}

func testRegisterCustomer(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	id := newID(t)
	if ok, err := s.CustomerExists(ctx, id); err != nil || ok {
		t.Fatalf("CustomerExists(unknown) = %v, %v; want false", ok, err)
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for range 2 {
		inTx(t, s, func(tx domain.Tx) error { return tx.RegisterCustomer(ctx, id, at) })
	}
	if ok, err := s.CustomerExists(ctx, id); err != nil || !ok {
		t.Fatalf("CustomerExists(registered) = %v, %v; want true", ok, err)
	}
}

func testInbox(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	ev := newID(t)
	for i, want := range []bool{true, false} {
		inTx(t, s, func(tx domain.Tx) error {
			first, err := tx.MarkHandled(ctx, "contract", ev)
			if err == nil && first != want {
				t.Errorf("MarkHandled #%d = %v, want %v", i+1, first, want)
			}
			return err
		})
	}
	// Another consumer handles the same event independently.
	inTx(t, s, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, "contract-other", ev)
		if err == nil && !first {
			t.Error("MarkHandled for another consumer = false, want true")
		}
		return err
	})
}

func testPurchaseOnce(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	cust := newID(t)
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	p := purchase(t, cust, "CNY", 1000, at)
	if !record(t, s, p) {
		t.Fatal("first RecordPurchase = false, want true")
	}
	again := p
	again.Amount.Minor = 5000 // a different payload under the same id changes nothing
	if record(t, s, again) {
		t.Fatal("second RecordPurchase = true, want false")
	}
	w := domain.Window{Currency: "CNY", Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}
	spend, err := s.Facts(ctx, cust, w)
	if err != nil {
		t.Fatal(err)
	}
	if spend.PurchaseCount != 1 || spend.Lifetime != 1000 || spend.Trailing != 1000 {
		t.Fatalf("spend after duplicate = %+v, want one purchase of 1000", spend)
	}
}

func testSpend(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	cust := newID(t)
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	w := domain.Window{Currency: "CNY", Since: now.AddDate(-1, 0, 0), Until: now}

	empty, err := s.Facts(ctx, cust, w)
	if err != nil {
		t.Fatal(err)
	}
	if empty != (domain.Facts{CustomerID: cust, Zone: time.UTC}) {
		t.Fatalf("spend of a customer without purchases = %+v, want zero", empty)
	}

	first := w.Since.Add(-24 * time.Hour)
	for _, p := range []domain.Purchase{
		purchase(t, cust, "CNY", 100, first),                          // before the window
		purchase(t, cust, "CNY", 200, w.Since.Add(-time.Microsecond)), // just before the window
		purchase(t, cust, "CNY", 400, w.Since),                        // on the closed lower bound: inside
		purchase(t, cust, "CNY", 800, now),                            // on the closed upper bound: inside
		purchase(t, cust, "USD", 1600, now.Add(-time.Hour)),           // other currency: counted, not summed
		purchase(t, cust, "CNY", 3200, now.Add(time.Hour)),            // after now: lifetime only
	} {
		record(t, s, p)
	}
	got, err := s.Facts(ctx, cust, w)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Facts{
		CustomerID:    cust,
		Trailing:      400 + 800,
		Lifetime:      100 + 200 + 400 + 800 + 3200,
		PurchaseCount: 6,
		// Days: first and just before the window (one day), the window's
		// first day, now-1h (the day before now), now and now+1h.
		PurchaseDays: 4,
		// Of which with CNY spend: not now-1h's, paid in USD only.
		SpendDays: 3,
		// Spend on the days after the first, in CNY.
		RepeatSpend: 400 + 800 + 3200,
		First:       first,
		Last:        now.Add(time.Hour),
		Zone:        time.UTC,
	}
	if got != want {
		t.Fatalf("Spend = %+v\nwant    %+v", got, want)
	}
}

func testRanking(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	// A currency of its own keeps this population apart from other tests'.
	const cur = "JPY"
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	w := domain.Window{Currency: cur, Since: now.AddDate(-1, 0, 0), Until: now}
	in := now.AddDate(0, -1, 0)

	a, b, c, d, e := newID(t), newID(t), newID(t), newID(t), newID(t)
	record(t, s, purchase(t, a, cur, 500, in))
	record(t, s, purchase(t, a, cur, 100, in)) // a: 600 over two purchases
	record(t, s, purchase(t, b, cur, 200, in))
	record(t, s, purchase(t, c, cur, 200, in))                                   // ties with b
	record(t, s, purchase(t, d, cur, 1_000_000, w.Since.Add(-time.Microsecond))) // just outside the window
	record(t, s, purchase(t, e, "CNY", 1_000_000, in))                           // other currency
	record(t, s, purchase(t, e, cur, 0, in))                                     // a zero purchase ranks nobody

	tests := []struct {
		spend, above int64
	}{
		{600, 0},
		{200, 600},
		{100, 1000},
		{0, 1000},
		{1000, 0},
	}
	var spends []int64
	for _, tt := range tests {
		spends = append(spends, tt.spend)
	}
	got, err := s.Rankings(ctx, w, spends)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		want := domain.Standing{Spend: tt.spend, Above: tt.above, Total: 1000}
		if got[tt.spend] != want {
			t.Errorf("Rankings(spend %d) = %+v, want %+v", tt.spend, got[tt.spend], want)
		}
	}
	none, err := s.Rankings(ctx, domain.Window{Currency: "EUR", Since: w.Since, Until: w.Until}, []int64{0, 5})
	if err != nil {
		t.Fatal(err)
	}
	if none[0] != (domain.Standing{}) || none[5] != (domain.Standing{Spend: 5}) {
		t.Errorf("Rankings with no purchases = %+v, want zero", none)
	}
}

func testRollback(t *testing.T, s *sqlstore.Store, db *sqldb.DB) {
	ctx := context.Background()
	cust, ev := newID(t), newID(t)
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx domain.Tx) error {
		if _, err := tx.MarkHandled(ctx, "contract", ev); err != nil {
			return err
		}
		if err := tx.RegisterCustomer(ctx, cust, time.Now()); err != nil {
			return err
		}
		if _, err := tx.RecordPurchase(ctx, purchase(t, cust, "CNY", 1, time.Now())); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.ClassChanged{CustomerID: cust, Old: domain.ClassC, New: domain.ClassA}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if ok, err := s.CustomerExists(ctx, cust); err != nil || ok {
		t.Fatalf("customer after rollback: exists=%v err=%v", ok, err)
	}
	if n := outboxRows(t, db, cust); n != 0 {
		t.Fatalf("outbox rows after rollback = %d, want 0", n)
	}
	inTx(t, s, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, "contract", ev)
		if err == nil && !first {
			t.Error("inbox mark survived the rollback")
		}
		return err
	})
}

func testPublish(t *testing.T, s *sqlstore.Store, db *sqldb.DB) {
	ctx := context.Background()
	cust := newID(t)
	inTx(t, s, func(tx domain.Tx) error {
		return tx.Publish(ctx, domain.ClassChanged{CustomerID: cust, Old: domain.ClassC, New: domain.ClassB})
	})
	rows, err := db.Query(ctx, `SELECT subject, type, source, payload FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var subject, typ, source string
		var payload []byte
		if err := rows.Scan(&subject, &typ, &source, &payload); err != nil {
			t.Fatal(err)
		}
		var msg segmentationv1.CustomerClassChanged
		if err := proto.Unmarshal(payload, &msg); err != nil {
			t.Fatal(err)
		}
		if msg.GetCustomerId() != cust {
			continue
		}
		found++
		if subject != segmentationv1.SubjectCustomerClassChanged || typ != "guanxi.segmentation.v1.CustomerClassChanged" || source != "guanxi/segmentation" {
			t.Errorf("outbox row: subject %q type %q source %q", subject, typ, source)
		}
		if msg.GetOldClass() != segmentationv1.AbcClass_ABC_CLASS_C || msg.GetNewClass() != segmentationv1.AbcClass_ABC_CLASS_B {
			t.Errorf("payload classes %v -> %v, want C -> B", msg.GetOldClass(), msg.GetNewClass())
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if found != 1 {
		t.Fatalf("outbox rows for the customer = %d, want 1", found)
	}
}

// outboxRows counts outbox rows whose payload is about customerID.
func outboxRows(t *testing.T, db *sqldb.DB, customerID string) int {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT payload FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var msg segmentationv1.CustomerClassChanged
		if err := proto.Unmarshal(payload, &msg); err == nil && msg.GetCustomerId() == customerID {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func testMergeCustomer(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	earlier, merged, survivor := newID(t), newID(t), newID(t)
	record(t, s, purchase(t, merged, "CNY", 300, at))
	record(t, s, purchase(t, survivor, "CNY", 200, at))
	inTx(t, s, func(tx domain.Tx) error {
		if err := tx.RegisterCustomer(ctx, earlier, at); err != nil {
			return err
		}
		if err := tx.MergeCustomer(ctx, earlier, merged); err != nil {
			return err
		}
		return tx.MergeCustomer(ctx, merged, survivor)
	})
	for id, want := range map[string]string{earlier: survivor, merged: survivor, survivor: "", newID(t): ""} {
		got, err := s.MergedInto(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("MergedInto(%s) = %q, want %q", id, got, want)
		}
		inTx(t, s, func(tx domain.Tx) error {
			locked, err := tx.LockMergedInto(ctx, id)
			if err == nil && locked != want {
				t.Errorf("LockMergedInto(%s) = %q, want %q", id, locked, want)
			}
			return err
		})
	}
	w := domain.Window{Currency: "CNY", Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}
	sp, err := s.Facts(ctx, survivor, w)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Trailing != 500 || sp.PurchaseCount != 2 {
		t.Errorf("survivor spend = %+v, want 500 in 2 purchases", sp)
	}
	if sp, _ := s.Facts(ctx, merged, w); sp.PurchaseCount != 0 {
		t.Errorf("merged customer keeps %d purchases", sp.PurchaseCount)
	}
}

func testRecordErasure(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	id := newID(t)
	if _, err := s.Erasure(ctx, id); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("erasure before any: err = %v, want ErrNotFound", err)
	}
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		inTx(t, s, func(tx domain.Tx) error {
			return tx.RecordErasure(ctx, domain.Erasure{CustomerID: id, EraseTime: at.Add(time.Duration(i) * time.Hour)}, at)
		})
	}
	got, err := s.Erasure(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !got.EraseTime.Equal(at) {
		t.Errorf("erase time = %v, want the first %v", got.EraseTime, at)
	}
}

// testModelFit stores fits and reads back the latest, with its model and
// the reason it was chosen.
func testModelFit(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	older := domain.ModelFit{BGNBD: model.BGNBD{R: 1, Alpha: 2, A: 3, B: 4}, FitTime: at}
	newer := domain.ModelFit{Model: model.KindMBGNBD, Choice: "mbgnbd: holdout error 0.1 against bgnbd 0.2",
		BGNBD: model.BGNBD{R: 0.5, Alpha: 6, A: 0.9, B: 1.6}, Spend: model.GammaGamma{P: 6, Q: 4, Gamma: 15}, FitTime: at.Add(time.Hour), CalibrationEnd: at}
	inTx(t, s, func(tx domain.Tx) error { return tx.PutFit(ctx, older) })
	inTx(t, s, func(tx domain.Tx) error { return tx.PutFit(ctx, newer) })
	got, ok, err := s.CurrentFit(ctx)
	if err != nil || !ok || got.Model != model.KindMBGNBD || got.Choice != newer.Choice || got.BGNBD != newer.BGNBD || got.Spend != newer.Spend {
		t.Errorf("current fit %+v, %v, %v; want %+v", got, ok, err, newer)
	}
}
