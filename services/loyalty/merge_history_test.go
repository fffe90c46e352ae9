package loyalty_test

import (
	"context"
	"testing"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// TestMergeMovesHistoryAndTier merges a gold member with pending points
// and an open redemption into a normal member: the survivor gets the
// merged member's entries (so pending points stay pending), a transfer
// entry saying so, the higher tier, and the refund of the redemption
// cancelled after the merge.
func TestMergeMovesHistoryAndTier(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		ctx := context.Background()
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) { p.WelcomePoints, p.PendingDays = 0, 3 }))
		merged, survivor := newID(t), newID(t)
		h.enroll(t, prog.GetId(), survivor)
		// 3000 CNY: gold at once, 3000 points pending for 3 days.
		purchaseID := newID(t)
		id := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, id, id, purchase(merged, purchaseID, t0, line("F", "food", 1, 300000)))
		h.accountWhen(t, prog.GetId(), merged, "gold", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetTierCode() == "gold" })
		_, err := h.client.AdjustPoints(asActor(ctx, "agent"), &loyaltyv1.AdjustPointsRequest{ProgramId: prog.GetId(), CustomerId: merged,
			Points: 200, Reason: "goodwill", RequestId: newID(t)})
		if err != nil {
			t.Fatal(err)
		}
		rw := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "gift", PointsCost: 150, Stock: 1})
		red, err := h.client.RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{RewardId: rw.GetId(), CustomerId: merged})
		if err != nil {
			t.Fatal(err)
		}

		mergeID := newID(t)
		h.publish(t, customerv1.SubjectCustomerMerged, mergeID, mergeID, &customerv1.CustomerMerged{
			MergedCustomerId: merged, SurvivorCustomerId: survivor, Survivor: &customerv1.Customer{Id: survivor}})
		acc := h.accountWhen(t, prog.GetId(), survivor, "holding the merged history", func(a *loyaltyv1.LoyaltyAccount) bool {
			return a.GetLedgerTotal() == 3050
		})
		if acc.GetPointsBalance() != 50 || acc.GetPendingPoints() != 3000 || acc.GetTierCode() != "gold" || acc.GetLifetimePoints() != 3000 {
			t.Fatalf("survivor after the merge = %v, want 50 spendable, 3000 pending, gold", acc)
		}
		via := h.account(t, prog.GetId(), merged)
		if via.GetCustomerId() != survivor {
			t.Fatalf("account of the merged id names %s, want the survivor", via.GetCustomerId())
		}
		var moved, transfer bool
		for _, e := range h.ledger(t, prog.GetId(), survivor) {
			switch {
			case e.GetCause() == "purchase:"+purchaseID:
				moved = true
			case e.GetKind() == loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_TRANSFER:
				transfer = e.GetCounterpartCustomerId() == merged && e.GetPoints() == 0
			}
		}
		if !moved || !transfer {
			t.Fatalf("survivor's ledger: purchase moved %v, transfer entry %v", moved, transfer)
		}
		clock.Set(t0.AddDate(0, 0, 4))
		if _, err := h.client.CancelRedemption(ctx, &loyaltyv1.CancelRedemptionRequest{Id: red.GetRedemption().GetId()}); err != nil {
			t.Fatal(err)
		}
		if got := h.account(t, prog.GetId(), survivor); got.GetPointsBalance() != 3200 || got.GetPendingPoints() != 0 {
			t.Fatalf("survivor after the pending period and the refund = %v, want 3200 spendable", got)
		}
		changed := waitForEvents(t, h.js, loyaltyv1.SubjectTierChanged, 1, func() *loyaltyv1.TierChanged { return &loyaltyv1.TierChanged{} },
			func(m *loyaltyv1.TierChanged) bool {
				return m.GetCustomerId() == survivor && m.GetProgramId() == prog.GetId()
			})
		if changed[0].GetNewTierCode() != "gold" || changed[0].GetOldTierCode() != "normal" {
			t.Fatalf("survivor's tier change = %v", changed[0])
		}
	})
}
