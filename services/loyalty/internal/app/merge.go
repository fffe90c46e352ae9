package app

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/merges"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Merges applies the customer service's merges and erasures to
// memberships and ledgers.
type Merges struct{ *core }

// MergeAccounts folds, in every program, the merged customer's membership
// into the survivor's: the merged member's ledger entries move to the
// survivor (balance, pending points, expiry dates and tier history move
// with them, and each entry keeps whom it was booked for), a transfer
// entry on the survivor records the move, the survivor keeps the higher of
// both tiers, and the merged membership is left linked to the survivor so
// later events naming it reach the survivor. Memberships are created as
// needed, so a merge of customers loyalty has not seen yet still links
// them. Seeing the event again, or the same merge under another event,
// moves nothing.
func (s *Merges) MergeAccounts(ctx context.Context, eventID string, mg domain.Merge) error {
	if err := mg.Validate().Err(); err != nil {
		return fmt.Errorf("merge accounts: %w", err)
	}
	err := s.inEveryProgram(ctx, inboxCustomerMerged, eventID, func(tx domain.Tx, p domain.Program) error {
		return s.mergeIn(ctx, tx, p, mg)
	})
	if err != nil {
		return fmt.Errorf("merge accounts: %w", err)
	}
	return nil
}

func (s *Merges) mergeIn(ctx context.Context, tx domain.Tx, p domain.Program, mg domain.Merge) error {
	now := s.now()
	for _, id := range []string{mg.MergedID, mg.SurvivorID} {
		if _, err := tx.Member(ctx, p.ID, id); err == nil {
			continue
		}
		n, err := tx.TakeMemberNumbers(ctx, p.ID, 1)
		if err != nil {
			return err
		}
		if _, err := tx.InsertMembers(ctx, []domain.Member{domain.NewMember(p, id, n, now)}); err != nil {
			return err
		}
	}
	// Lock in customer id order so two merges over the same members cannot
	// deadlock on PostgreSQL.
	var merged, survivor domain.Member
	err := merges.InIDOrder(mg, func() (err error) {
		merged, err = tx.LockMember(ctx, p.ID, mg.MergedID)
		return err
	}, func() (err error) {
		survivor, err = s.resolveMember(ctx, tx, p, mg.SurvivorID, false, now)
		return err
	})
	if err != nil {
		return err
	}
	apply, err := mg.Decide(merged.MergedInto, survivor.CustomerID)
	if err != nil {
		return fmt.Errorf("%w: %w", domain.ErrMergeConflict, err)
	}
	if !apply {
		return nil
	}
	entries, points, err := tx.MoveLedger(ctx, p.ID, merged.CustomerID, survivor.CustomerID)
	if err != nil {
		return err
	}
	if _, err := tx.AddEntry(ctx, domain.LedgerEntry{
		ID: s.id(), ProgramID: p.ID, CustomerID: survivor.CustomerID, OriginCustomerID: merged.CustomerID,
		Kind: domain.KindTransfer, Source: domain.SourceMerge, Cause: domain.CauseMerge(merged.CustomerID),
		CounterpartID: merged.CustomerID, Reason: fmt.Sprintf("merged: %d entries, %d points moved here", entries, points),
		OccurTime: now, CreateTime: now, AvailableTime: now,
	}); err != nil {
		return err
	}
	oldTier := p.TierIndex(survivor.TierCode)
	if mt := p.TierIndex(merged.TierCode); mt > oldTier {
		survivor.TierCode, survivor.TierSince, survivor.UpdateTime = merged.TierCode, now, now
	}
	// The moved entries may be due before the survivor's last expiry run;
	// planning from the earlier of both is safe (the plan counts what
	// expired already) and makes them expire.
	if merged.ExpiredThrough.Before(survivor.ExpiredThrough) {
		survivor.ExpiredThrough = merged.ExpiredThrough
	}
	merged.Status, merged.MergedInto, merged.UpdateTime = domain.MemberMerged, survivor.CustomerID, now
	if err := tx.SaveMember(ctx, merged); err != nil {
		return err
	}
	if err := tx.RepointMerged(ctx, p.ID, merged.CustomerID, survivor.CustomerID); err != nil {
		return err
	}
	if err := tx.SaveMember(ctx, survivor); err != nil {
		return err
	}
	if newTier := p.TierIndex(survivor.TierCode); newTier != oldTier {
		if err := tx.Publish(ctx, domain.TierChanged{ProgramID: p.ID, CustomerID: survivor.CustomerID, Old: p.Tier(oldTier), New: p.Tier(newTier)}); err != nil {
			return err
		}
	}
	_, err = s.settle(ctx, tx, p, &survivor)
	return err
}

// RecordErasure records that a customer's erasure reached the service; see
// domain.Erasure for why nothing else changes.
func (s *Merges) RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate().Err(); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Once(ctx, tx, inboxCustomerErased, eventID, func() error {
			return tx.RecordErasure(ctx, e, s.now())
		})
	})
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}
