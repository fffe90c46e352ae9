package domain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

var ledgerNow = time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)

// testLedger is a Ledger at ledgerNow with ids e1, e2, ... for program p.
func testLedger(p domain.Program) domain.Ledger {
	n := 0
	return domain.Ledger{Program: p, Now: func() time.Time { return ledgerNow },
		NewID: func() string { n++; return fmt.Sprintf("e%d", n) }}
}

func ledgerProgram(pendingDays int, welcome int64, currency string) domain.Program {
	return domain.Program{ID: "p1", PendingDays: pendingDays, WelcomePoints: welcome, CurrencyCode: currency,
		ExpiryKind: domain.ExpiryRollingMonths, ExpiryMonths: 12, TimeZone: "UTC"}
}

func TestLedgerWelcome(t *testing.T) {
	t.Parallel()
	at := ledgerNow.Add(-time.Hour)
	tests := []struct {
		name    string
		welcome int64
		pending int
		wantOK  bool
		wantAv  time.Time
	}{
		{"none", 0, 0, false, time.Time{}},
		{"spendable at once", 100, 0, true, at},
		{"after the pending period", 100, 7, true, at.AddDate(0, 0, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok := testLedger(ledgerProgram(tt.pending, tt.welcome, "")).Welcome("c1", at)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if e.Points != tt.welcome || e.LifetimePoints != tt.welcome || e.Kind != domain.KindEarn ||
				e.Source != domain.SourceWelcome || e.Cause != domain.CauseWelcome("c1") || e.CustomerID != "c1" {
				t.Errorf("entry %+v", e)
			}
			if !e.AvailableTime.Equal(tt.wantAv) || !e.OccurTime.Equal(at) || !e.CreateTime.Equal(ledgerNow) {
				t.Errorf("times: occur %v available %v create %v, want available %v", e.OccurTime, e.AvailableTime, e.CreateTime, tt.wantAv)
			}
			if want := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC); !e.ExpireTime.Equal(want) {
				t.Errorf("expire %v, want %v", e.ExpireTime, want)
			}
		})
	}
}

func TestLedgerPurchase(t *testing.T) {
	t.Parallel()
	past, future := ledgerNow.Add(-2*time.Hour), ledgerNow.Add(2*time.Hour)
	tests := []struct {
		name       string
		currency   string
		total      domain.Money
		points     int64
		at         time.Time
		wantOK     bool
		wantSpend  int64
		wantAvFrom time.Time
	}{
		{"points and spend", "CNY", domain.Money{CurrencyCode: "CNY", AmountMinor: 5000}, 50, past, true, 5000, past},
		{"spend in another currency counts nothing", "CNY", domain.Money{CurrencyCode: "USD", AmountMinor: 5000}, 50, past, true, 0, past},
		{"spend only", "CNY", domain.Money{CurrencyCode: "CNY", AmountMinor: 5000}, 0, past, true, 5000, past},
		{"no spend counted by the program", "", domain.Money{CurrencyCode: "CNY", AmountMinor: 5000}, 50, past, true, 0, past},
		{"nothing to book", "CNY", domain.Money{CurrencyCode: "USD", AmountMinor: 5000}, 0, past, false, 0, time.Time{}},
		{"a fast clock's future purchase is pending from now", "", domain.Money{}, 10, future, true, 0, ledgerNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pu := domain.Purchase{InteractionID: "i1", CustomerID: "merged", OrderID: "o1", Total: tt.total, OccurTime: tt.at}
			earning := domain.PurchaseEarning{Points: tt.points, RuleIDs: []string{"r1"}, Day: "2025-03-10"}
			e, ok := testLedger(ledgerProgram(3, 0, tt.currency)).Purchase("survivor", pu, earning)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if e.Points != tt.points || e.LifetimePoints != tt.points || e.SpendMinor != tt.wantSpend {
				t.Errorf("points %d lifetime %d spend %d, want %d, %d, %d", e.Points, e.LifetimePoints, e.SpendMinor, tt.points, tt.points, tt.wantSpend)
			}
			if e.CustomerID != "survivor" || e.OriginCustomerID != "merged" || e.Cause != domain.CausePurchase("i1") ||
				e.OrderID != "o1" || e.InteractionID != "i1" || e.Day != "2025-03-10" || len(e.RuleIDs) != 1 {
				t.Errorf("entry %+v", e)
			}
			if want := tt.wantAvFrom.AddDate(0, 0, 3); !e.AvailableTime.Equal(want) {
				t.Errorf("available %v, want %v", e.AvailableTime, want)
			}
		})
	}
}

func TestLedgerReturn(t *testing.T) {
	t.Parallel()
	bought := func() domain.PurchaseEarning {
		return domain.PurchaseEarning{TotalMinor: 10000, Points: 100, Lines: []domain.LineEarning{
			{SKU: "a", Quantity: 2, Points: 60}, {SKU: "b", Quantity: 1, Points: 40},
		}}
	}
	at := ledgerNow.Add(-time.Minute)
	tests := []struct {
		name       string
		returns    []domain.Return
		wantPoints []int64 // per return; 0 with wantOK false
		wantSpend  []int64
	}{
		{"one of two units", []domain.Return{{Lines: []domain.Line{{SKU: "a", Quantity: 1}}, Refund: domain.Money{CurrencyCode: "CNY", AmountMinor: 3000}}},
			[]int64{30}, []int64{3000}},
		{"more units than bought take back what they earned, once", []domain.Return{
			{Lines: []domain.Line{{SKU: "a", Quantity: 5}}},
			{Lines: []domain.Line{{SKU: "a", Quantity: 1}}},
		}, []int64{60, 0}, []int64{0, 0}},
		{"refund share without lines, bounded by the total", []domain.Return{
			{Refund: domain.Money{CurrencyCode: "CNY", AmountMinor: 2500}},
			{Refund: domain.Money{CurrencyCode: "CNY", AmountMinor: 99999}},
		}, []int64{25, 75}, []int64{2500, 99999}},
		{"refund in another currency returns points, no spend", []domain.Return{{Refund: domain.Money{CurrencyCode: "USD", AmountMinor: 5000}}},
			[]int64{50}, []int64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := testLedger(ledgerProgram(0, 0, "CNY"))
			earning := bought()
			var total int64
			for i, r := range tt.returns {
				r.InteractionID, r.CustomerID, r.OrderID, r.OccurTime = fmt.Sprintf("r%d", i), "merged", "o1", at
				e, ok := l.Return("survivor", r, &earning)
				if want := tt.wantPoints[i] != 0 || tt.wantSpend[i] != 0; ok != want {
					t.Fatalf("return %d: ok = %v, want %v", i, ok, want)
				}
				if !ok {
					continue
				}
				total += -e.Points
				if e.Points != -tt.wantPoints[i] || e.LifetimePoints != -tt.wantPoints[i] || e.SpendMinor != -tt.wantSpend[i] {
					t.Errorf("return %d: points %d lifetime %d spend %d, want -%d, -%d, -%d", i, e.Points, e.LifetimePoints, e.SpendMinor,
						tt.wantPoints[i], tt.wantPoints[i], tt.wantSpend[i])
				}
				if e.Kind != domain.KindReverse || e.Cause != domain.CauseReturn(r.InteractionID) || e.CustomerID != "survivor" ||
					e.OriginCustomerID != "merged" || !e.OccurTime.Equal(at) || !e.ExpireTime.IsZero() {
					t.Errorf("return %d: entry %+v", i, e)
				}
			}
			if total > earning.Points || earning.Reversed() != total {
				t.Errorf("reversed %d of %d (earning says %d)", total, earning.Points, earning.Reversed())
			}
		})
	}
}

func TestLedgerAdjust(t *testing.T) {
	t.Parallel()
	balanceErr := errors.New("store down")
	tests := []struct {
		name      string
		points    int64
		spendable int64
		readErr   error
		wantErr   error
		wantRead  bool
	}{
		{"credit, spendable at once, balance not read", 50, 0, nil, nil, false},
		{"debit within the balance", -40, 40, nil, nil, true},
		{"debit beyond the balance", -41, 40, nil, domain.ErrInsufficientPoints, true},
		{"debit with pending points counted out", -10, 0, nil, domain.ErrInsufficientPoints, true},
		{"balance unreadable", -1, 0, balanceErr, balanceErr, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			read := false
			e, err := testLedger(ledgerProgram(5, 0, "")).Adjust("c1", tt.points, domain.CauseAdjust("req"), func() (domain.Summary, error) {
				read = true
				return domain.Summary{Total: tt.spendable + 7, Pending: 7}, tt.readErr
			})
			if read != tt.wantRead {
				t.Errorf("balance read = %v, want %v", read, tt.wantRead)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if e.Points != tt.points || e.Kind != domain.KindAdjust || e.Source != domain.SourceManual || e.Cause != domain.CauseAdjust("req") {
				t.Errorf("entry %+v", e)
			}
			if !e.AvailableTime.Equal(ledgerNow) || e.LifetimePoints != 0 {
				t.Errorf("available %v lifetime %d, want spendable now and no lifetime points", e.AvailableTime, e.LifetimePoints)
			}
		})
	}
}

func TestLedgerRedeemAndRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cost    int64
		total   int64
		pending int64
		wantErr bool
	}{
		{"exact balance", 100, 100, 0, false},
		{"pending points are not spendable", 100, 150, 51, true},
		{"short by one", 100, 99, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := testLedger(ledgerProgram(3, 0, ""))
			err := l.CheckRedeem(domain.Reward{ID: "w1", PointsCost: tt.cost}, domain.Summary{Total: tt.total, Pending: tt.pending})
			if tt.wantErr != errors.Is(err, domain.ErrInsufficientPoints) || tt.wantErr != (err != nil) {
				t.Fatalf("err = %v, want insufficient points: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			rd := domain.Redemption{ID: "rd1", CustomerID: "survivor", Points: tt.cost}
			e := l.Redeem(rd, "merged")
			if e.Points != -tt.cost || e.Kind != domain.KindRedeem || e.Cause != domain.CauseRedeem("rd1") ||
				e.CustomerID != "survivor" || e.OriginCustomerID != "merged" {
				t.Errorf("redeem entry %+v", e)
			}
			back := l.Refund("survivor2", rd, ledgerNow)
			if back.Points != tt.cost || back.Kind != domain.KindReverse || back.Cause != domain.CauseCancel("rd1") ||
				back.CustomerID != "survivor2" || back.OriginCustomerID != "survivor" || !back.AvailableTime.Equal(ledgerNow) {
				t.Errorf("refund entry %+v", back)
			}
		})
	}
}

func TestLedgerExpire(t *testing.T) {
	t.Parallel()
	t1, t2 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   domain.ExpiryState
		want []domain.Expiration
	}{
		{"nothing due", domain.ExpiryState{}, nil},
		{"debits consume the oldest points first", domain.ExpiryState{
			Buckets: []domain.ExpiryBucket{{ExpireTime: t1, Credits: 100}, {ExpireTime: t2, Credits: 50}}, Debits: 120,
		}, []domain.Expiration{{ExpireTime: t2, Points: 30}}},
		{"in bucket order", domain.ExpiryState{
			Buckets: []domain.ExpiryBucket{{ExpireTime: t1, Credits: 10}, {ExpireTime: t2, Credits: 20}},
		}, []domain.Expiration{{ExpireTime: t1, Points: 10}, {ExpireTime: t2, Points: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan := tt.st.Plan(time.Time{}, ledgerNow)
			es := testLedger(ledgerProgram(0, 0, "")).Expire("c1", plan)
			if len(es) != len(tt.want) {
				t.Fatalf("entries %+v, want %+v", es, tt.want)
			}
			for i, e := range es {
				w := tt.want[i]
				if e.Points != -w.Points || !e.OccurTime.Equal(w.ExpireTime) || e.Kind != domain.KindExpire ||
					e.Source != domain.SourceExpiry || e.Cause != domain.CauseExpire("c1", w.ExpireTime) || !e.ExpireTime.IsZero() {
					t.Errorf("entry %d: %+v, want %+v", i, e, w)
				}
			}
		})
	}
}
