package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Rewards keeps programs' reward catalogs and books redemptions and
// their cancellations.
type Rewards struct{ *core }

// RewardFields are the fields of a reward an update may name.
var RewardFields = []string{"name", "points_cost", "stock", "unlimited_stock", "min_tier_code", "member_day_only", "start_time", "end_time"}

// CreateReward adds a reward to a program's catalog; the same requestID
// returns the reward it created.
func (s *Rewards) CreateReward(ctx context.Context, r domain.Reward, requestID string) (domain.Reward, error) {
	if requestID != "" {
		if got, err := s.store.RewardByRequest(ctx, requestID); err == nil {
			return got, nil
		}
	}
	r.ProgramID = s.programID(r.ProgramID)
	if err := domain.ValidateID("reward.program_id", r.ProgramID); err != nil {
		return domain.Reward{}, fmt.Errorf("create reward: %w", err)
	}
	p, err := s.store.Program(ctx, r.ProgramID)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Reward{}, fmt.Errorf("create reward: %w", validation.Violations{{Field: "reward.program_id", Description: "no such program"}}.Err())
	}
	if err != nil {
		return domain.Reward{}, fmt.Errorf("create reward: %w", err)
	}
	if err := r.Validate(p); err != nil {
		return domain.Reward{}, fmt.Errorf("create reward: %w", nest(err, "reward"))
	}
	r.ID = s.id()
	r.CreateTime, r.UpdateTime = s.now(), s.now()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.InsertReward(ctx, r, requestID) }); err != nil {
		if requestID != "" {
			if got, gerr := s.store.RewardByRequest(ctx, requestID); gerr == nil {
				return got, nil
			}
		}
		return domain.Reward{}, fmt.Errorf("create reward: %w", err)
	}
	return r, nil
}

// Reward returns a reward.
func (s *Rewards) Reward(ctx context.Context, id string) (domain.Reward, error) {
	if err := domain.ValidateID("id", id); err != nil {
		return domain.Reward{}, fmt.Errorf("get reward: %w", err)
	}
	r, err := s.store.Reward(ctx, id)
	if err != nil {
		return domain.Reward{}, fmt.Errorf("get reward: %w", err)
	}
	return r, nil
}

// Rewards lists a program's rewards.
func (s *Rewards) Rewards(ctx context.Context, programID string) ([]domain.Reward, error) {
	programID = s.programID(programID)
	if err := domain.ValidateID("program_id", programID); err != nil {
		return nil, fmt.Errorf("list rewards: %w", err)
	}
	rs, err := s.store.Rewards(ctx, programID)
	if err != nil {
		return nil, fmt.Errorf("list rewards: %w", err)
	}
	return rs, nil
}

// UpdateReward copies the fields named in mask (every field when empty)
// from in to the stored reward.
func (s *Rewards) UpdateReward(ctx context.Context, in domain.Reward, mask []string) (domain.Reward, error) {
	if err := domain.ValidateID("reward.id", in.ID); err != nil {
		return domain.Reward{}, fmt.Errorf("update reward: %w", err)
	}
	if len(mask) == 0 {
		mask = RewardFields
	}
	var vs validation.Violations
	for _, f := range mask {
		if !slices.Contains(RewardFields, f) {
			vs.Add("update_mask", fmt.Sprintf("%q is not a field that can be updated", f))
		}
	}
	if err := vs.Err(); err != nil {
		return domain.Reward{}, fmt.Errorf("update reward: %w", err)
	}
	var out domain.Reward
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		r, err := tx.Reward(ctx, in.ID)
		if err != nil {
			return err
		}
		p, err := tx.Program(ctx, r.ProgramID)
		if err != nil {
			return err
		}
		for _, f := range mask {
			switch f {
			case "name":
				r.Name = in.Name
			case "points_cost":
				r.PointsCost = in.PointsCost
			case "stock":
				r.Stock = in.Stock
			case "unlimited_stock":
				r.UnlimitedStock = in.UnlimitedStock
			case "min_tier_code":
				r.MinTierCode = in.MinTierCode
			case "member_day_only":
				r.MemberDayOnly = in.MemberDayOnly
			case "start_time":
				r.Start = in.Start
			case "end_time":
				r.End = in.End
			}
		}
		if err := r.Validate(p); err != nil {
			return nest(err, "reward")
		}
		r.UpdateTime = s.now()
		out = r
		return tx.SaveReward(ctx, r)
	})
	if err != nil {
		return domain.Reward{}, fmt.Errorf("update reward: %w", err)
	}
	return out, nil
}

// Redeem spends a member's points on one unit of a reward: under the
// member's lock it checks eligibility and the spendable balance, takes one
// unit of stock in a conditional update, and books the debit, all in one
// transaction, so concurrent redemptions can neither overspend the points
// nor the stock. The same requestID redeems once and returns that
// redemption.
func (s *Rewards) Redeem(ctx context.Context, rewardID, customerID, requestID string) (domain.Redemption, error) {
	var vs validation.Violations
	if err := domain.ValidateID("reward_id", rewardID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := domain.ValidateCustomerID("customer_id", customerID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := vs.Err(); err != nil {
		return domain.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	if requestID != "" {
		if got, err := s.store.RedemptionByRequest(ctx, requestID); err == nil {
			return got, nil
		}
	}
	var out domain.Redemption
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		r, err := tx.Reward(ctx, rewardID)
		if err != nil {
			return err
		}
		p, err := tx.Program(ctx, r.ProgramID)
		if err != nil {
			return err
		}
		now := s.now()
		m, err := s.resolveMember(ctx, tx, p, customerID, false, now)
		if err != nil {
			return err
		}
		if err := r.CheckEligible(p, m, now); err != nil {
			return err
		}
		sum, err := tx.Summary(ctx, p.ID, m.CustomerID, now, p.TierWindowStart(now))
		if err != nil {
			return err
		}
		if err := s.ledger(p).CheckRedeem(r, sum); err != nil {
			return err
		}
		took, err := tx.TakeStock(ctx, r.ID)
		if err != nil {
			return err
		}
		if !took {
			return fmt.Errorf("reward %s: %w", r.ID, domain.ErrOutOfStock)
		}
		out = domain.Redemption{
			ID: s.id(), ProgramID: p.ID, CustomerID: m.CustomerID, RewardID: r.ID, Points: r.PointsCost,
			State: domain.RedemptionActive, RequestID: requestID, CreateTime: now,
		}
		if err := tx.InsertRedemption(ctx, out); err != nil {
			return err
		}
		_, err = tx.AddEntry(ctx, s.ledger(p).Redeem(out, customerID))
		return err
	})
	if err != nil {
		if requestID != "" {
			// A concurrent call with the same request id won the insert.
			if got, gerr := s.store.RedemptionByRequest(ctx, requestID); gerr == nil {
				return got, nil
			}
		}
		return domain.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	return out, nil
}

// CancelRedemption puts the unit back in stock and refunds the points (to
// the survivor, when the member was merged since); cancelling a cancelled
// redemption returns it unchanged.
func (s *Rewards) CancelRedemption(ctx context.Context, id string) (domain.Redemption, error) {
	if err := domain.ValidateID("id", id); err != nil {
		return domain.Redemption{}, fmt.Errorf("cancel redemption: %w", err)
	}
	var out domain.Redemption
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		rd, err := tx.Redemption(ctx, id)
		if err != nil {
			return err
		}
		p, err := tx.Program(ctx, rd.ProgramID)
		if err != nil {
			return err
		}
		m, err := s.resolveMember(ctx, tx, p, rd.CustomerID, false, s.now())
		if err != nil {
			return err
		}
		// Read again under the member's lock: a concurrent cancel has
		// committed by now.
		if rd, err = tx.Redemption(ctx, id); err != nil {
			return err
		}
		if rd.State == domain.RedemptionCancelled {
			out = rd
			return nil
		}
		if err := tx.ReturnStock(ctx, rd.RewardID); err != nil {
			return err
		}
		now := s.now()
		rd.State, rd.CancelTime = domain.RedemptionCancelled, now
		if err := tx.SaveRedemption(ctx, rd); err != nil {
			return err
		}
		if _, err := tx.AddEntry(ctx, s.ledger(p).Refund(m.CustomerID, rd, now)); err != nil {
			return err
		}
		out = rd
		return nil
	})
	if err != nil {
		return domain.Redemption{}, fmt.Errorf("cancel redemption: %w", err)
	}
	return out, nil
}
