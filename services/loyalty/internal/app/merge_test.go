package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

const third = "01890a5d-ac96-774b-bcce-b302099a8059"

// ledgerSums adds up a customer's ledger, which must match the account.
func ledgerSums(t *testing.T, f fixture, customerID string) (points, lifetime int64) {
	t.Helper()
	ledger, err := f.store.Ledger(context.Background(), customerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ledger {
		points += e.Points
		lifetime += e.LifetimePoints
	}
	return points, lifetime
}

// checkLedgerAddsUp fails unless each account's ledger adds up to its stored
// balance and lifetime points.
func checkLedgerAddsUp(t *testing.T, f fixture, ids ...string) {
	t.Helper()
	for _, id := range ids {
		acc, err := f.store.Account(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		points, lifetime := ledgerSums(t, f, id)
		if points != acc.PointsBalance || lifetime != acc.LifetimePoints {
			t.Errorf("account %s holds %d/%d points but its ledger adds up to %d/%d", id, acc.PointsBalance, acc.LifetimePoints, points, lifetime)
		}
	}
}

func TestMergeAccounts(t *testing.T) {
	eachDatabase(t, app.Rules{PointsPerUnit: 1, VIPThreshold: 1000}, func(t *testing.T, f fixture) {
		ctx := context.Background()
		// customer (merged) has 600 points, other (survivor) 500: 1100
		// together, past the VIP threshold neither reached alone.
		if err := f.svc.CreditPurchase(ctx, "ev-p1", purchase(customer, "i-1", cny(60000))); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CreditPurchase(ctx, "ev-p2", purchase(other, "i-2", cny(50000))); err != nil {
			t.Fatal(err)
		}
		m := domain.Merge{MergedID: customer, SurvivorID: other}
		if err := f.svc.MergeAccounts(ctx, "ev-merge", m); err != nil {
			t.Fatal(err)
		}

		survivor, err := f.svc.Account(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if survivor.PointsBalance != 1100 || survivor.LifetimePoints != 1100 || survivor.Tier != domain.TierVIP {
			t.Fatalf("survivor = %+v, want 1100 points, VIP", survivor)
		}
		// Reading the merged customer's account answers with the survivor's.
		viaMerged, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if viaMerged != survivor {
			t.Fatalf("account of the merged customer = %+v, want the survivor's %+v", viaMerged, survivor)
		}
		stored, err := f.store.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if stored.PointsBalance != 0 || stored.LifetimePoints != 0 || stored.MergedInto != other {
			t.Fatalf("merged account = %+v, want empty and merged into %s", stored, other)
		}
		checkLedgerAddsUp(t, f, customer, other)
		ledger, err := f.store.Ledger(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		in := ledger[len(ledger)-1]
		if in.Reason != domain.ReasonMergeIn || in.Points != 600 || in.CounterpartID != customer || in.EventID != "ev-merge" {
			t.Fatalf("last survivor entry = %+v, want 600 points in from %s under ev-merge", in, customer)
		}

		subjects, payloads := outbox(t, f.db)
		last := len(subjects) - 1
		want := &loyaltyv1.TierChanged{CustomerId: other, OldTier: loyaltyv1.Tier_TIER_NORMAL, NewTier: loyaltyv1.Tier_TIER_VIP}
		if subjects[last] != loyaltyv1.SubjectTierChanged || !proto.Equal(payloads[last], want) {
			t.Fatalf("last event = %s %v, want %v", subjects[last], payloads[last], want)
		}

		// The same merge again, under the same and under a new event id,
		// changes nothing.
		for _, ev := range []string{"ev-merge", "ev-merge-again"} {
			if err := f.svc.MergeAccounts(ctx, ev, m); err != nil {
				t.Fatalf("replay %s: %v", ev, err)
			}
		}
		again, err := f.store.Account(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if again != survivor {
			t.Fatalf("survivor after replays = %+v, want unchanged %+v", again, survivor)
		}
		if n, _ := outbox(t, f.db); len(n) != len(subjects) {
			t.Fatalf("replays published %d more events", len(n)-len(subjects))
		}
		checkLedgerAddsUp(t, f, customer, other)

		// A purchase still naming the merged customer credits the survivor.
		if err := f.svc.CreditPurchase(ctx, "ev-p3", purchase(customer, "i-3", cny(1000))); err != nil {
			t.Fatal(err)
		}
		after, err := f.store.Account(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if after.PointsBalance != 1110 {
			t.Fatalf("survivor balance = %d, want 1110 after a purchase naming the merged customer", after.PointsBalance)
		}
		if merged, _ := f.store.Account(ctx, customer); merged.PointsBalance != 0 {
			t.Fatalf("merged account got %d points", merged.PointsBalance)
		}
		subjects, payloads = outbox(t, f.db)
		earned, ok := payloads[len(payloads)-1].(*loyaltyv1.PointsEarned)
		if !ok || earned.GetCustomerId() != other {
			t.Fatalf("last event = %s %v, want points earned by %s", subjects[len(subjects)-1], payloads[len(payloads)-1], other)
		}
		checkLedgerAddsUp(t, f, customer, other)
	})
}

func TestMergeChains(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		for i, id := range []string{customer, other, third} {
			if err := f.svc.CreditPurchase(ctx, fmt.Sprintf("ev-p%d", i), purchase(id, fmt.Sprintf("i-%d", i), cny(10000))); err != nil {
				t.Fatal(err)
			}
		}
		// customer into other, then other into third: customer's account
		// now stands for third's.
		if err := f.svc.MergeAccounts(ctx, "ev-m1", domain.Merge{MergedID: customer, SurvivorID: other}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.MergeAccounts(ctx, "ev-m2", domain.Merge{MergedID: other, SurvivorID: third}); err != nil {
			t.Fatal(err)
		}
		if acc, _ := f.store.Account(ctx, customer); acc.MergedInto != third {
			t.Fatalf("first merged account points at %q, want %s", acc.MergedInto, third)
		}
		if err := f.svc.CreditPurchase(ctx, "ev-p9", purchase(customer, "i-9", cny(100))); err != nil {
			t.Fatal(err)
		}
		// A late replay of the first merge names a survivor since merged.
		if err := f.svc.MergeAccounts(ctx, "ev-m1-late", domain.Merge{MergedID: customer, SurvivorID: other}); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.CustomerID != third || acc.PointsBalance != 301 {
			t.Fatalf("account = %+v, want %s with 301 points", acc, third)
		}
		checkLedgerAddsUp(t, f, customer, other, third)

		// Merging a survivor back into a customer merged into it is a
		// contradiction no retry fixes.
		err = f.svc.MergeAccounts(ctx, "ev-cycle", domain.Merge{MergedID: third, SurvivorID: customer})
		if !errors.Is(err, domain.ErrMergeConflict) {
			t.Fatalf("cyclic merge err = %v, want ErrMergeConflict", err)
		}
	})
}

func TestMergeOfUnseenCustomersLinksThem(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if err := f.svc.MergeAccounts(ctx, "ev-m", domain.Merge{MergedID: customer, SurvivorID: other}); err != nil {
			t.Fatal(err)
		}
		// The created event of the merged customer, late, opens nothing new.
		if err := f.svc.OpenAccount(ctx, "ev-created", customer); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CreditPurchase(ctx, "ev-p", purchase(customer, "i", cny(4200))); err != nil {
			t.Fatal(err)
		}
		acc, err := f.svc.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if acc.CustomerID != other || acc.PointsBalance != 42 {
			t.Fatalf("account = %+v, want the survivor's with 42 points", acc)
		}
		if ledger, _ := f.store.Ledger(ctx, customer); len(ledger) != 0 {
			t.Fatalf("empty merge booked entries on the merged account: %+v", ledger)
		}
	})
}

func TestRecordErasure(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if err := f.svc.CreditPurchase(ctx, "ev-p", purchase(customer, "i", cny(4200))); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
		for _, ev := range []string{"ev-erase", "ev-erase", "ev-erase-2"} {
			if err := f.svc.RecordErasure(ctx, ev, domain.Erasure{CustomerID: customer, EraseTime: at.Add(time.Duration(len(ev)) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.store.Erasure(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		if !got.EraseTime.Equal(at.Add(8 * time.Hour)) {
			t.Fatalf("erasure time = %v, want the first recorded one", got.EraseTime)
		}
		// Points are an aggregate without personal data: they stay.
		if acc, err := f.svc.Account(ctx, customer); err != nil || acc.PointsBalance != 42 {
			t.Fatalf("account after erasure = %+v, %v; want 42 points kept", acc, err)
		}
		var verr *validation.Error
		if err := f.svc.RecordErasure(ctx, "ev-bad", domain.Erasure{CustomerID: "nope"}); !errors.As(err, &verr) {
			t.Fatalf("erasure of a bad id: err = %v, want a validation error", err)
		}
	})
}

func TestMergeInvalidInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testinfra.SQLiteURL(t), defaultRules)
	var verr *validation.Error
	if err := f.svc.MergeAccounts(context.Background(), "ev", domain.Merge{MergedID: customer, SurvivorID: customer}); !errors.As(err, &verr) {
		t.Fatalf("merge into itself: err = %v, want a validation error", err)
	}
}

// TestPurchasesRacingAMergeReachTheSurvivor credits purchases naming the
// merged customer while the merge runs: none may be stranded on the merged
// account, whichever commits first.
func TestPurchasesRacingAMergeReachTheSurvivor(t *testing.T) {
	eachDatabase(t, defaultRules, func(t *testing.T, f fixture) {
		ctx := context.Background()
		if err := f.svc.OpenAccount(ctx, "ev-c1", customer); err != nil {
			t.Fatal(err)
		}
		const n = 10
		errs := make(chan error, n+1)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs <- f.svc.CreditPurchase(ctx, fmt.Sprintf("ev-%d", i), purchase(customer, fmt.Sprintf("i-%d", i), cny(1000)))
			})
			if i == n/2 {
				wg.Go(func() {
					errs <- f.svc.MergeAccounts(ctx, "ev-merge", domain.Merge{MergedID: customer, SurvivorID: other})
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		merged, err := f.store.Account(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		survivor, err := f.store.Account(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if merged.PointsBalance != 0 || survivor.PointsBalance != 10*n {
			t.Fatalf("merged holds %d, survivor %d; want 0 and %d", merged.PointsBalance, survivor.PointsBalance, 10*n)
		}
		checkLedgerAddsUp(t, f, customer, other)
	})
}
