// Package app holds the loyalty service's use cases: opening accounts,
// crediting points for purchases, and reading accounts. Every change runs in
// one store transaction together with its inbox mark and its events.
package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Inbox consumer names: each consumed event kind is de-duplicated on its
// own, so the same event id seen by two handlers is handled by both.
const (
	inboxCustomerCreated  = "loyalty.customer-created"
	inboxPurchaseRecorded = "loyalty.purchase-recorded"
	inboxCustomerMerged   = "loyalty.customer-merged"
	inboxCustomerErased   = "loyalty.customer-erased"
)

// Rules are the earning and tier settings of the loyalty program.
type Rules struct {
	// PointsPerUnit is the points earned per whole currency unit spent.
	PointsPerUnit int64
	// VIPThreshold is the lifetime points from which a member is VIP.
	VIPThreshold int64
}

// Validate rejects settings that would make points meaningless.
func (r Rules) Validate() error {
	if r.PointsPerUnit < 0 {
		return fmt.Errorf("points per unit %d: must not be negative", r.PointsPerUnit)
	}
	if r.VIPThreshold <= 0 {
		return fmt.Errorf("vip threshold %d: must be positive", r.VIPThreshold)
	}
	return nil
}

// Service runs the loyalty use cases.
type Service struct {
	store domain.Store
	rules Rules
	now   func() time.Time
	newID func() (uuid.UUID, error)
}

// New returns a Service over store applying rules.
func New(store domain.Store, rules Rules) (*Service, error) {
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("new loyalty service: %w", err)
	}
	return &Service{
		store: store,
		rules: rules,
		// Stored times have microsecond precision; keep ours the same so
		// what we return equals what we read back.
		now:   func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		newID: uuid.NewV7,
	}, nil
}

// OpenAccount opens a NORMAL account with no points for a newly created
// customer. eventID is the id of the event announcing the customer; seeing
// it again, or finding the account already opened by an earlier purchase,
// changes nothing.
func (s *Service) OpenAccount(ctx context.Context, eventID, customerID string) error {
	if err := domain.ValidateCustomerID("customer.id", customerID); err != nil {
		return fmt.Errorf("open account: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, inboxCustomerCreated, eventID)
		if err != nil || !first {
			return err
		}
		_, err = tx.OpenAccount(ctx, domain.NewAccount(customerID, s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("open account: %w", err)
	}
	return nil
}

// CreditPurchase credits the points a purchase earns, opening the account
// if the purchase arrived before the customer's created event. A purchase
// naming a customer merged into another credits the survivor. eventID is
// the id of the event announcing the purchase: a redelivered or replayed
// event with the same id credits nothing again.
func (s *Service) CreditPurchase(ctx context.Context, eventID string, p domain.Purchase) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	points, err := domain.PointsForPurchase(p.Total, s.rules.PointsPerUnit)
	if err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	entryID, err := s.newID()
	if err != nil {
		return fmt.Errorf("credit purchase: new ledger id: %w", err)
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, inboxPurchaseRecorded, eventID)
		if err != nil || !first {
			return err
		}
		now := s.now()
		if _, err := tx.OpenAccount(ctx, domain.NewAccount(p.CustomerID, now)); err != nil {
			return err
		}
		if points == 0 {
			return nil
		}
		acc, err := lockSurvivor(ctx, tx, p.CustomerID)
		if err != nil {
			return err
		}
		oldTier, err := acc.Credit(points, now, s.rules.VIPThreshold)
		if err != nil {
			return err
		}
		if err := tx.SaveAccount(ctx, acc); err != nil {
			return err
		}
		if err := tx.AddLedgerEntry(ctx, domain.LedgerEntry{
			ID:             entryID.String(),
			CustomerID:     acc.CustomerID,
			Points:         points,
			LifetimePoints: points,
			Reason:         domain.ReasonPurchase,
			InteractionID:  p.InteractionID,
			EventID:        eventID,
			Time:           now,
		}); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{
			CustomerID:    acc.CustomerID,
			Points:        points,
			PointsBalance: acc.PointsBalance,
			InteractionID: p.InteractionID,
		}); err != nil {
			return err
		}
		if acc.Tier != oldTier {
			return tx.Publish(ctx, domain.TierChanged{CustomerID: acc.CustomerID, OldTier: oldTier, NewTier: acc.Tier})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	return nil
}

// lockSurvivor locks the account of customerID, or, when that customer was
// merged into another, the survivor's. Locking before following the link
// matters on PostgreSQL: a merge committing meanwhile holds the merged
// account's lock, and the lock returns the row as the merge left it.
func lockSurvivor(ctx context.Context, tx domain.Tx, customerID string) (domain.Account, error) {
	acc, err := tx.LockAccount(ctx, customerID)
	for hops := 0; err == nil && acc.MergedInto != ""; hops++ {
		if hops == domain.MaxMergeHops {
			return domain.Account{}, fmt.Errorf("account %s: merged-into links form a cycle: %w", customerID, domain.ErrMergeConflict)
		}
		acc, err = tx.LockAccount(ctx, acc.MergedInto)
	}
	return acc, err
}

// MergeAccounts folds the merged customer's account into the survivor's:
// the points move in a pair of transfer entries booked under eventID, the
// survivor's tier follows the combined lifetime points (TierChanged when it
// moves), and the merged account is left empty, linked to the survivor, so
// later purchases naming it credit the survivor. Accounts are opened as
// needed, so a merge of customers loyalty has not seen yet still links
// them. A survivor that was itself merged since stands for its own
// survivor. Seeing the event again, or the same merge under another event,
// moves nothing.
func (s *Service) MergeAccounts(ctx context.Context, eventID string, m domain.Merge) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("merge accounts: %w", err)
	}
	outID, err := s.newID()
	if err != nil {
		return fmt.Errorf("merge accounts: new ledger id: %w", err)
	}
	inID, err := s.newID()
	if err != nil {
		return fmt.Errorf("merge accounts: new ledger id: %w", err)
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, inboxCustomerMerged, eventID)
		if err != nil || !first {
			return err
		}
		now := s.now()
		for _, id := range []string{m.MergedID, m.SurvivorID} {
			if _, err := tx.OpenAccount(ctx, domain.NewAccount(id, now)); err != nil {
				return err
			}
		}
		merged, survivor, err := lockPair(ctx, tx, m)
		if err != nil {
			return err
		}
		m.SurvivorID = survivor.CustomerID
		moved, oldTier, err := merged.MergeInto(&survivor, now, s.rules.VIPThreshold)
		if err != nil {
			return err
		}
		if err := tx.SaveAccount(ctx, merged); err != nil {
			return err
		}
		if err := tx.RepointMerged(ctx, m.MergedID, m.SurvivorID); err != nil {
			return err
		}
		if moved.IsZero() {
			return nil
		}
		if err := tx.SaveAccount(ctx, survivor); err != nil {
			return err
		}
		for _, e := range domain.TransferEntries(m, moved, outID.String(), inID.String(), eventID, now) {
			if err := tx.AddLedgerEntry(ctx, e); err != nil {
				return err
			}
		}
		if survivor.Tier != oldTier {
			return tx.Publish(ctx, domain.TierChanged{CustomerID: survivor.CustomerID, OldTier: oldTier, NewTier: survivor.Tier})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("merge accounts: %w", err)
	}
	return nil
}

// lockPair locks the merged account and the survivor's (following the
// survivor's own merges), in customer id order so that two merges over the
// same accounts cannot deadlock on PostgreSQL.
func lockPair(ctx context.Context, tx domain.Tx, m domain.Merge) (merged, survivor domain.Account, err error) {
	if m.MergedID < m.SurvivorID {
		if merged, err = tx.LockAccount(ctx, m.MergedID); err != nil {
			return merged, survivor, err
		}
		survivor, err = lockSurvivor(ctx, tx, m.SurvivorID)
		return merged, survivor, err
	}
	if survivor, err = lockSurvivor(ctx, tx, m.SurvivorID); err != nil {
		return merged, survivor, err
	}
	merged, err = tx.LockAccount(ctx, m.MergedID)
	return merged, survivor, err
}

// RecordErasure records that a customer's erasure reached the service; see
// domain.Erasure for why nothing else changes.
func (s *Service) RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, inboxCustomerErased, eventID)
		if err != nil || !first {
			return err
		}
		return tx.RecordErasure(ctx, e, s.now())
	})
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}

// Account returns a customer's loyalty account; for a customer merged into
// another, the survivor's (which names the survivor).
func (s *Service) Account(ctx context.Context, customerID string) (domain.Account, error) {
	if err := domain.ValidateCustomerID("customer_id", customerID); err != nil {
		return domain.Account{}, fmt.Errorf("get account: %w", err)
	}
	acc, err := s.store.Account(ctx, customerID)
	for hops := 0; err == nil && acc.MergedInto != ""; hops++ {
		if hops == domain.MaxMergeHops {
			return domain.Account{}, fmt.Errorf("get account %s: merged-into links form a cycle", customerID)
		}
		acc, err = s.store.Account(ctx, acc.MergedInto)
	}
	if err != nil {
		return domain.Account{}, fmt.Errorf("get account %s: %w", customerID, err)
	}
	return acc, nil
}
