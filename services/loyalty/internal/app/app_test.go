package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

type fixture struct {
	db    *sqldb.DB
	store *sqlstore.Store
	svc   *app.Service
}

func newFixture(t *testing.T, url string, rules app.Rules) fixture {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	store := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), "test/loyalty")
	svc, err := app.New(store, rules)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, store: store, svc: svc}
}

func cny(minor int64) domain.Money { return domain.Money{CurrencyCode: "CNY", AmountMinor: minor} }

func purchase(customer, interaction string, total domain.Money) domain.Purchase {
	return domain.Purchase{InteractionID: interaction, CustomerID: customer, Total: total}
}

// outbox returns the queued events' subjects and decoded payloads.
func outbox(t *testing.T, db *sqldb.DB) (subjects []string, payloads []proto.Message) {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT subject, payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			subject string
			raw     []byte
		)
		if err := rows.Scan(&subject, &raw); err != nil {
			t.Fatal(err)
		}
		var msg proto.Message
		switch subject {
		case loyaltyv1.SubjectPointsEarned:
			msg = &loyaltyv1.PointsEarned{}
		case loyaltyv1.SubjectTierChanged:
			msg = &loyaltyv1.TierChanged{}
		default:
			t.Fatalf("unexpected subject %q in outbox", subject)
		}
		if err := proto.Unmarshal(raw, msg); err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, subject)
		payloads = append(payloads, msg)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return subjects, payloads
}

var defaultRules = app.Rules{PointsPerUnit: 1, VIPThreshold: 10000}

// eachDatabase runs fn on a fresh fixture per database.
func eachDatabase(t *testing.T, rules app.Rules, fn func(t *testing.T, f fixture)) {
	t.Helper()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) { fn(t, newFixture(t, d.URL, rules)) })
	}
}

const (
	customer = "01890a5d-ac96-774b-bcce-b302099a8057"
	other    = "01890a5d-ac96-774b-bcce-b302099a8058"
)

func TestCreditPurchase(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if err := f.svc.OpenAccount(ctx, "ev-created", customer); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CreditPurchase(ctx, "ev-p1", purchase(customer, "i-1", cny(12850))); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.PointsBalance != 128 || acc.LifetimePoints != 128 || acc.Tier != domain.TierNormal {
			t.Fatalf("account = %+v, want 128 points, NORMAL", acc)
		}
		ledger, err := f.store.Ledger(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if len(ledger) != 1 {
			t.Fatalf("ledger = %+v, want one entry", ledger)
		}
		e := ledger[0]
		if e.Points != 128 || e.Reason != domain.ReasonPurchase || e.InteractionID != "i-1" || e.EventID != "ev-p1" || e.CustomerID != customer || e.ID == "" {
			t.Fatalf("ledger entry = %+v", e)
		}
		subjects, payloads := outbox(t, f.db)
		if len(subjects) != 1 || subjects[0] != loyaltyv1.SubjectPointsEarned {
			t.Fatalf("outbox = %v, want one points earned", subjects)
		}
		want := &loyaltyv1.PointsEarned{CustomerId: customer, Points: 128, PointsBalance: 128, InteractionId: "i-1"}
		if !proto.Equal(payloads[0], want) {
			t.Fatalf("payload = %v, want %v", payloads[0], want)
		}
	})
}

func TestReplayedPurchaseCreditsOnce(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		p := purchase(customer, "i-1", cny(12850))
		for range 2 {
			if err := f.svc.CreditPurchase(ctx, "ev-same", p); err != nil {
				t.Fatal(err)
			}
		}
		// The same purchase under a new event id is a new event.
		if err := f.svc.CreditPurchase(ctx, "ev-other", purchase(customer, "i-2", cny(100))); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.PointsBalance != 129 {
			t.Fatalf("balance = %d, want 129 (128 once + 1)", acc.PointsBalance)
		}
		ledger, err := f.store.Ledger(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if len(ledger) != 2 {
			t.Fatalf("ledger has %d entries, want 2", len(ledger))
		}
		if subjects, _ := outbox(t, f.db); len(subjects) != 2 {
			t.Fatalf("outbox = %v, want two points earned events", subjects)
		}
	})
}

func TestPurchaseBeforeCustomerCreated(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if err := f.svc.CreditPurchase(ctx, "ev-p1", purchase(customer, "i-1", cny(50000))); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.OpenAccount(ctx, "ev-created", customer); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.PointsBalance != 500 || acc.Tier != domain.TierNormal {
			t.Fatalf("account = %+v, want 500 points kept after the late created event", acc)
		}
	})
}

func TestNoPointsForZeroOrNegativeTotals(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		for i, total := range []int64{0, -12850, 99} {
			if err := f.svc.CreditPurchase(ctx, fmt.Sprintf("ev-%d", i), purchase(customer, "i", cny(total))); err != nil {
				t.Fatal(err)
			}
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatalf("account not opened by the purchases: %v", err)
		}
		if acc.PointsBalance != 0 || acc.LifetimePoints != 0 {
			t.Fatalf("account = %+v, want no points", acc)
		}
		if ledger, _ := f.store.Ledger(ctx, customer); len(ledger) != 0 {
			t.Fatalf("ledger = %+v, want empty", ledger)
		}
		if subjects, _ := outbox(t, f.db); len(subjects) != 0 {
			t.Fatalf("outbox = %v, want no events", subjects)
		}
	})
}

func TestTierChangesAtThreshold(t *testing.T) {
	eachDatabase(t, app.Rules{PointsPerUnit: 2, VIPThreshold: 1000}, func(t *testing.T, f fixture) {
		ctx := context.Background()
		// 499.99 CNY at 2 points per unit: 998 points, still NORMAL.
		if err := f.svc.CreditPurchase(ctx, "ev-1", purchase(customer, "i-1", cny(49999))); err != nil {
			t.Fatal(err)
		}
		// 1 JPY more is 2 points: 1000 lifetime points, VIP.
		if err := f.svc.CreditPurchase(ctx, "ev-2", purchase(customer, "i-2", domain.Money{CurrencyCode: "JPY", AmountMinor: 1})); err != nil {
			t.Fatal(err)
		}
		// Already VIP: no second tier change.
		if err := f.svc.CreditPurchase(ctx, "ev-3", purchase(customer, "i-3", cny(100))); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.LifetimePoints != 1002 || acc.Tier != domain.TierVIP {
			t.Fatalf("account = %+v, want 1002 lifetime points, VIP", acc)
		}
		subjects, payloads := outbox(t, f.db)
		wantSubjects := []string{
			loyaltyv1.SubjectPointsEarned,
			loyaltyv1.SubjectPointsEarned, loyaltyv1.SubjectTierChanged,
			loyaltyv1.SubjectPointsEarned,
		}
		if fmt.Sprint(subjects) != fmt.Sprint(wantSubjects) {
			t.Fatalf("outbox = %v, want %v", subjects, wantSubjects)
		}
		want := &loyaltyv1.TierChanged{CustomerId: customer, OldTier: loyaltyv1.Tier_TIER_NORMAL, NewTier: loyaltyv1.Tier_TIER_VIP}
		if !proto.Equal(payloads[2], want) {
			t.Fatalf("tier changed = %v, want %v", payloads[2], want)
		}
	})
}

func TestConcurrentCreditsAllCount(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- f.svc.CreditPurchase(ctx, fmt.Sprintf("ev-%d", i), purchase(other, fmt.Sprintf("i-%d", i), cny(1000)))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		acc, err := f.svc.Account(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if acc.PointsBalance != 10*n {
			t.Fatalf("balance = %d, want %d: a concurrent credit was lost", acc.PointsBalance, 10*n)
		}
	})
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testinfra.SQLiteURL(t), defaultRules)
	ctx := context.Background()
	var verr *validation.Error
	if err := f.svc.CreditPurchase(ctx, "ev", purchase("not-a-uuid", "i", cny(1))); !errors.As(err, &verr) {
		t.Errorf("CreditPurchase(bad customer) err = %v, want *validation.Error", err)
	}
	if err := f.svc.OpenAccount(ctx, "ev", ""); !errors.As(err, &verr) {
		t.Errorf("OpenAccount(empty) err = %v, want *validation.Error", err)
	}
	_, err := f.svc.Account(ctx, "x")
	if !errors.As(err, &verr) || verr.Violations[0].Field != "customer_id" {
		t.Errorf("Account(bad id) err = %v, want *validation.Error on customer_id", err)
	}
	if _, err := f.svc.Account(ctx, customer); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Account(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rules   app.Rules
		wantErr bool
	}{
		{app.Rules{PointsPerUnit: 1, VIPThreshold: 10000}, false},
		{app.Rules{PointsPerUnit: 0, VIPThreshold: 1}, false},
		{app.Rules{PointsPerUnit: -1, VIPThreshold: 10000}, true},
		{app.Rules{PointsPerUnit: 1, VIPThreshold: 0}, true},
	}
	for _, tt := range tests {
		if err := tt.rules.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%+v.Validate() = %v, wantErr %v", tt.rules, err, tt.wantErr)
		}
	}
}
