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
// if the purchase arrived before the customer's created event. eventID is
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
		acc, err := tx.LockAccount(ctx, p.CustomerID)
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
			ID:            entryID.String(),
			CustomerID:    p.CustomerID,
			Points:        points,
			Reason:        domain.ReasonPurchase,
			InteractionID: p.InteractionID,
			EventID:       eventID,
			Time:          now,
		}); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{
			CustomerID:    p.CustomerID,
			Points:        points,
			PointsBalance: acc.PointsBalance,
			InteractionID: p.InteractionID,
		}); err != nil {
			return err
		}
		if acc.Tier != oldTier {
			return tx.Publish(ctx, domain.TierChanged{CustomerID: p.CustomerID, OldTier: oldTier, NewTier: acc.Tier})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	return nil
}

// Account returns a customer's loyalty account.
func (s *Service) Account(ctx context.Context, customerID string) (domain.Account, error) {
	if err := domain.ValidateCustomerID("customer_id", customerID); err != nil {
		return domain.Account{}, fmt.Errorf("get account: %w", err)
	}
	acc, err := s.store.Account(ctx, customerID)
	if err != nil {
		return domain.Account{}, fmt.Errorf("get account %s: %w", customerID, err)
	}
	return acc, nil
}
