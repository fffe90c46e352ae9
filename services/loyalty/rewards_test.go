package loyalty_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// fund enrolls a new member of prog and brings the balance to points.
func (h harness) fund(t *testing.T, programID string, points int64) string {
	t.Helper()
	customer := newID(t)
	acc := h.enroll(t, programID, customer)
	if d := points - acc.GetPointsBalance(); d != 0 {
		_, err := h.client.AdjustPoints(asActor(context.Background(), "test"), &loyaltyv1.AdjustPointsRequest{
			ProgramId: programID, CustomerId: customer, Points: d, Reason: "test balance", RequestId: newID(t)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return customer
}

func (h harness) reward(t *testing.T, r *loyaltyv1.Reward) *loyaltyv1.Reward {
	t.Helper()
	resp, err := h.client.CreateReward(context.Background(), &loyaltyv1.CreateRewardRequest{Reward: r})
	if err != nil {
		t.Fatalf("create reward: %v", err)
	}
	return resp.GetReward()
}

func TestRedeemAndCancel(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		ctx := context.Background()
		c := h.client
		prog := h.createProgram(t, testProgram(nil))
		_, err := c.CreateReward(ctx, &loyaltyv1.CreateRewardRequest{Reward: &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "杯子", PointsCost: 0}})
		wantInvalid(t, "free reward", err, "reward.points_cost")
		_, err = c.CreateReward(ctx, &loyaltyv1.CreateRewardRequest{Reward: &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "x", PointsCost: 1, MinTierCode: "platinum"}})
		wantInvalid(t, "unknown tier", err, "reward.min_tier_code")
		mug := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "杯子", PointsCost: 100, Stock: 2})
		lounge := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "Lounge", PointsCost: 10, UnlimitedStock: true, MinTierCode: "silver"})
		wedGift := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "会员日礼品", PointsCost: 10, UnlimitedStock: true, MemberDayOnly: true})
		list, err := c.ListRewards(ctx, &loyaltyv1.ListRewardsRequest{ProgramId: prog.GetId()})
		if err != nil || len(list.GetRewards()) != 3 {
			t.Fatalf("list rewards = %d, %v", len(list.GetRewards()), err)
		}

		customer := h.fund(t, prog.GetId(), 250)
		redeem := func(rewardID, requestID string) (*loyaltyv1.Redemption, error) {
			resp, err := c.RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{RewardId: rewardID, CustomerId: customer, RequestId: requestID})
			return resp.GetRedemption(), err
		}
		req1 := newID(t)
		r1, err := redeem(mug.GetId(), req1)
		if err != nil || r1.GetPoints() != 100 || r1.GetState() != loyaltyv1.RedemptionState_REDEMPTION_STATE_ACTIVE {
			t.Fatalf("redeem = %v, %v", r1, err)
		}
		if again, err := redeem(mug.GetId(), req1); err != nil || again.GetId() != r1.GetId() {
			t.Fatalf("same request id redeemed again: %v, %v", again, err)
		}
		if got := h.account(t, prog.GetId(), customer).GetPointsBalance(); got != 150 {
			t.Fatalf("balance after one mug = %d, want 150", got)
		}
		_, err = redeem(lounge.GetId(), "")
		wantCode(t, "tier-restricted reward", err, codes.FailedPrecondition)
		_, err = redeem(wedGift.GetId(), "")
		wantCode(t, "member-day reward on a Tuesday", err, codes.FailedPrecondition)
		clock.Set(time.Date(2025, 3, 4, 16, 30, 0, 0, time.UTC)) // Wednesday 00:30 in Shanghai
		if _, err := redeem(wedGift.GetId(), ""); err != nil {
			t.Fatalf("member-day reward on a member day: %v", err)
		}
		r2, err := redeem(mug.GetId(), "")
		if err != nil {
			t.Fatal(err)
		}
		other := h.fund(t, prog.GetId(), 1000)
		_, err = c.RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{RewardId: mug.GetId(), CustomerId: other})
		wantCode(t, "out of stock", err, codes.FailedPrecondition)
		if s := status.Convert(err).Message(); s != "reward out of stock" {
			t.Errorf("message = %q", s)
		}
		_, err = redeem(mug.GetId(), "")
		wantCode(t, "insufficient points (and stock)", err, codes.FailedPrecondition)

		// Cancelling refunds both, once.
		for range 2 {
			resp, err := c.CancelRedemption(ctx, &loyaltyv1.CancelRedemptionRequest{Id: r2.GetId()})
			if err != nil || resp.GetRedemption().GetState() != loyaltyv1.RedemptionState_REDEMPTION_STATE_CANCELLED {
				t.Fatalf("cancel = %v, %v", resp.GetRedemption(), err)
			}
		}
		if got := h.account(t, prog.GetId(), customer).GetPointsBalance(); got != 140 {
			t.Fatalf("balance after cancel = %d, want 250-100-10 = 140", got)
		}
		rw, err := c.GetReward(ctx, &loyaltyv1.GetRewardRequest{Id: mug.GetId()})
		if err != nil || rw.GetReward().GetStock() != 1 {
			t.Fatalf("mug stock after cancel = %d, %v; want 1", rw.GetReward().GetStock(), err)
		}
		_, err = c.CancelRedemption(ctx, &loyaltyv1.CancelRedemptionRequest{Id: newID(t)})
		wantCode(t, "unknown redemption", err, codes.NotFound)

		// Stock can be topped up.
		upd, err := c.UpdateReward(ctx, &loyaltyv1.UpdateRewardRequest{Reward: &loyaltyv1.Reward{Id: mug.GetId(), Stock: 50},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"stock"}}})
		if err != nil || upd.GetReward().GetStock() != 50 || upd.GetReward().GetName() != "杯子" {
			t.Fatalf("update reward = %v, %v", upd.GetReward(), err)
		}
	})
}

// TestConcurrentRedemptions is the acceptance test: 100 concurrent
// redemptions against a balance that covers 10 leave exactly the remainder
// and 10 redemptions; against a stock of 5 they leave 5 redemptions and an
// empty stock. It matters on PostgreSQL, where the calls really run at once.
func TestConcurrentRedemptions(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) { p.WelcomePoints = 0 }))
		tests := []struct {
			name          string
			balance       int64
			stock         int64
			wantRedeemed  int
			wantBalance   int64
			wantStockLeft int64
		}{
			{"points run out", 1050, 20, 10, 50, 10},
			{"stock runs out", 1050, 5, 5, 550, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				customer := h.fund(t, prog.GetId(), tt.balance)
				rw := h.reward(t, &loyaltyv1.Reward{ProgramId: prog.GetId(), Name: "gift", PointsCost: 100, Stock: tt.stock})
				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					ok      int
					refused int
					other   []error
				)
				start := make(chan struct{})
				for range 100 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, err := h.client.RedeemReward(context.Background(), &loyaltyv1.RedeemRewardRequest{RewardId: rw.GetId(), CustomerId: customer})
						mu.Lock()
						defer mu.Unlock()
						switch status.Code(err) {
						case codes.OK:
							ok++
						case codes.FailedPrecondition:
							refused++
						default:
							other = append(other, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				if len(other) > 0 {
					t.Fatalf("%d redemptions failed unexpectedly, first: %v", len(other), other[0])
				}
				acc := h.account(t, prog.GetId(), customer)
				got, err := h.client.GetReward(context.Background(), &loyaltyv1.GetRewardRequest{Id: rw.GetId()})
				if err != nil {
					t.Fatal(err)
				}
				var redeems int
				var sum int64
				for _, e := range h.ledger(t, prog.GetId(), customer) {
					sum += e.GetPoints()
					if e.GetKind() == loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_REDEEM {
						redeems++
					}
				}
				if ok != tt.wantRedeemed || refused != 100-tt.wantRedeemed || redeems != tt.wantRedeemed {
					t.Errorf("%d redeemed (%d ledger entries), %d refused; want %d", ok, redeems, refused, tt.wantRedeemed)
				}
				if acc.GetPointsBalance() != tt.wantBalance || sum != tt.wantBalance {
					t.Errorf("balance %d, ledger sum %d; want %d", acc.GetPointsBalance(), sum, tt.wantBalance)
				}
				if got.GetReward().GetStock() != tt.wantStockLeft {
					t.Errorf("stock left %d, want %d", got.GetReward().GetStock(), tt.wantStockLeft)
				}
			})
		}
	})
}
