package loyalty_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
)

// fastJobs runs the scheduled jobs every few milliseconds, so a test that
// moves the fake clock sees them act.
func fastJobs(cfg *loyalty.Config) { cfg.JobInterval = 20 * time.Millisecond }

func TestTierUpgradeAtOnceDowngradeAtReviewAfterGrace(t *testing.T) {
	onEveryDatabase(t, fastJobs, func(t *testing.T, h harness, clock *fakeClock) {
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) { p.WelcomePoints = 0 }))
		customer := newID(t)
		id := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, id, id, purchase(customer, newID(t), t0, line("F", "food", 1, 120000)))
		acc := h.accountWhen(t, prog.GetId(), customer, "silver", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetTierCode() == "silver" })
		if acc.GetTier() != loyaltyv1.Tier_TIER_NORMAL || acc.GetNextTierCode() != "gold" || acc.GetPointsToNextTier() != 3000-1200 {
			t.Fatalf("silver account = %v", acc)
		}
		isMine := func(m *loyaltyv1.TierChanged) bool {
			return m.GetCustomerId() == customer && m.GetProgramId() == prog.GetId()
		}
		newTC := func() *loyaltyv1.TierChanged { return &loyaltyv1.TierChanged{} }
		up := waitForEvents(t, h.js, loyaltyv1.SubjectTierChanged, 1, newTC, isMine)[0]
		if up.GetOldTierCode() != "normal" || up.GetNewTierCode() != "silver" || up.GetNewTierName() != "Silver" {
			t.Fatalf("upgrade event = %v", up)
		}

		// A year later the window holds nothing: the review keeps the tier
		// for the grace days...
		review := t0.AddDate(1, 0, 1)
		clock.Set(review)
		acc = h.accountWhen(t, prog.GetId(), customer, "in grace", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetGraceUntil() != nil })
		if acc.GetTierCode() != "silver" || !acc.GetGraceUntil().AsTime().Equal(review.AddDate(0, 0, 10)) || acc.GetWindowPoints() != 0 {
			t.Fatalf("account in grace = %v", acc)
		}
		// ...and moves it down at the first review after them.
		clock.Set(review.AddDate(0, 0, 11))
		h.accountWhen(t, prog.GetId(), customer, "normal again", func(a *loyaltyv1.LoyaltyAccount) bool {
			return a.GetTierCode() == "normal" && a.GetGraceUntil() == nil
		})
		down := waitForEvents(t, h.js, loyaltyv1.SubjectTierChanged, 2, newTC, isMine)[1]
		if down.GetOldTierCode() != "silver" || down.GetNewTierCode() != "normal" || down.GetNewTierName() != "Normal" {
			t.Fatalf("downgrade event = %v", down)
		}
	})
}

func TestPendingPointsExpiryAndNotices(t *testing.T) {
	onEveryDatabase(t, fastJobs, func(t *testing.T, h harness, clock *fakeClock) {
		ctx := context.Background()
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) {
			p.WelcomePoints, p.PendingDays = 0, 7
			p.ExpiryKind, p.ExpiryMonths, p.ExpiryNoticeDays = loyaltyv1.ExpiryKind_EXPIRY_KIND_ROLLING_MONTHS, 1, 5
		}))
		customer := newID(t)
		id := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, id, id, purchase(customer, newID(t), t0, line("F", "food", 1, 10000)))
		acc := h.accountWhen(t, prog.GetId(), customer, "pending", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPendingPoints() == 100 })
		if acc.GetPointsBalance() != 0 || acc.GetLedgerTotal() != 100 {
			t.Fatalf("pending account = %v", acc)
		}
		rw := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "gift", PointsCost: 30, UnlimitedStock: true})
		_, err := h.client.RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{RewardId: rw.GetId(), CustomerId: customer})
		wantCode(t, "spending pending points", err, codes.FailedPrecondition)

		clock.Set(t0.AddDate(0, 0, 8))
		if acc := h.account(t, prog.GetId(), customer); acc.GetPointsBalance() != 100 || acc.GetPendingPoints() != 0 {
			t.Fatalf("after the pending period: %v", acc)
		}
		if _, err := h.client.RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{RewardId: rw.GetId(), CustomerId: customer}); err != nil {
			t.Fatal(err)
		}

		// Earned 2025-03-04 10:00 in Shanghai, one month: expires at the
		// start of 2025-04-05 there.
		shanghai, _ := time.LoadLocation("Asia/Shanghai")
		expireAt := time.Date(2025, 4, 5, 0, 0, 0, 0, shanghai)
		clock.Set(expireAt.AddDate(0, 0, -3))
		notices := waitForEvents(t, h.js, loyaltyv1.SubjectPointsExpiring, 1,
			func() *loyaltyv1.PointsExpiring { return &loyaltyv1.PointsExpiring{} },
			func(m *loyaltyv1.PointsExpiring) bool { return m.GetCustomerId() == customer })
		n := notices[0]
		if n.GetPoints() != 70 || !n.GetExpireTime().AsTime().Equal(expireAt) || n.GetPointsBalance() != 70 || n.GetProgramId() != prog.GetId() {
			t.Fatalf("notice = %v, want 70 points expiring at %v", n, expireAt)
		}
		acc = h.account(t, prog.GetId(), customer)
		if acc.GetExpiringPoints() != 70 || !acc.GetExpiringTime().AsTime().Equal(expireAt) {
			t.Fatalf("expiring soon = %d at %v, want 70 at %v", acc.GetExpiringPoints(), acc.GetExpiringTime().AsTime(), expireAt)
		}

		clock.Set(expireAt.Add(time.Minute))
		h.accountWhen(t, prog.GetId(), customer, "expired", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 0 })
		var expired []*loyaltyv1.LedgerEntry
		for _, e := range h.ledger(t, prog.GetId(), customer) {
			if e.GetKind() == loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EXPIRE {
				expired = append(expired, e)
			}
		}
		if len(expired) != 1 || expired[0].GetPoints() != -70 {
			t.Fatalf("expire entries = %v, want one of -70", expired)
		}
		if got := loyaltyEvents(t, h.js, loyaltyv1.SubjectPointsExpiring, func() *loyaltyv1.PointsExpiring { return &loyaltyv1.PointsExpiring{} }); len(got) != 1 {
			t.Fatalf("%d expiring notices, want 1", len(got))
		}
	})
}

// TestUpgradedInteractionsConsumer starts the service where an older
// release left the durable reading purchases only: the durable is recreated
// with the new subjects (the extra workers wait for that instead of
// resetting it again), surveys earn their points and purchases flow
// through the workers.
func TestUpgradedInteractionsConsumer(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	js := connect(t, natsURL)
	ctx := context.Background()
	if _, err := js.CreateOrUpdateConsumer(ctx, interactionv1.Stream, jetstream.ConsumerConfig{
		Durable: "loyalty-purchases", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: interactionv1.SubjectPurchaseRecorded,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig(t)
	cfg.Workers = 4
	h := startOn(t, cfg, "sqlite://"+t.TempDir()+"/loyalty.db", natsURL)
	prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) { p.WelcomePoints = 0 }))
	customer := newID(t)
	id := newID(t)
	h.publish(t, interactionv1.SubjectSurveyAnswered, id, id, &interactionv1.SurveyAnswered{SurveyId: newID(t), CustomerId: customer, Kind: "nps", Score: 9})
	h.accountWhen(t, prog.GetId(), customer, "survey points", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 20 })
	buyers := make([]string, 20)
	for i := range buyers {
		buyers[i] = newID(t)
		p := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, p, p, purchase(buyers[i], newID(t), t0, line("F", "food", 1, 1000)))
	}
	for _, c := range buyers {
		h.accountWhen(t, "", c, "credited", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 10 })
	}
	info, err := js.Consumer(ctx, interactionv1.Stream, "loyalty-purchases")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.FilterSubjects; len(got) != 3 {
		t.Fatalf("consumer filter subjects = %v, want purchase, return and survey", got)
	}
}
