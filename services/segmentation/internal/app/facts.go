package app

import (
	"context"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Facts keeps the customer facts read model that other services' events
// feed: registrations and profiles, purchases and returns, merges and
// erasures. Each change re-ranks the customer and re-evaluates its
// segments in the same transaction.
type Facts struct{ *core }

// RegisterCustomer makes a customer known, once per event id.
func (s *Facts) RegisterCustomer(ctx context.Context, eventID, customerID string, at time.Time) error {
	return s.UpdateProfile(ctx, eventID, domain.Profile{CustomerID: customerID}, at, false)
}

// UpdateProfile stores the profile fields segments filter on (when
// withProfile), registering the customer, once per event id; the
// customer's segments follow.
func (s *Facts) UpdateProfile(ctx context.Context, eventID string, p domain.Profile, at time.Time, withProfile bool) error {
	if err := domain.ValidateCustomerID(p.CustomerID); err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	defer s.readLock(ctx)()
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerCustomers, eventID)
		if err != nil || !first {
			return err
		}
		if err := tx.RegisterCustomer(ctx, p.CustomerID, at); err != nil {
			return err
		}
		id, err := survivorLocked(ctx, tx, p.CustomerID)
		if err != nil {
			return err
		}
		if id != p.CustomerID {
			// A late event about a customer merged away: the survivor's
			// own events describe the survivor.
			return nil
		}
		return s.refresh(ctx, tx, id, now, func() error {
			if !withProfile {
				return nil
			}
			return tx.PutProfile(ctx, p)
		})
	})
	if err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}

// RecordPurchase stores a purchase, once per event id and once per
// interaction id, registering an unknown buyer. A purchase naming a
// customer merged into another counts for the survivor. When the purchase
// moves the buyer to another class or RFM segment, ClassChanged is
// published in the same transaction, and the buyer's segment memberships
// follow. Other customers' classes may shift too (the total grew), but
// only the buyer's change is announced: it is the one a purchase causes;
// the next full recompute settles the others.
func (s *Facts) RecordPurchase(ctx context.Context, eventID string, p domain.Purchase) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("record purchase: %w", err)
	}
	err := s.recordHistory(ctx, eventID, p.CustomerID, p.OccurTime, func(tx domain.Tx, customerID string) (bool, error) {
		p.CustomerID = customerID
		return tx.RecordPurchase(ctx, p)
	})
	if err != nil {
		return fmt.Errorf("record purchase: %w", err)
	}
	return nil
}

// RecordReturn stores a return like a purchase; its refund lowers the
// customer's spend.
func (s *Facts) RecordReturn(ctx context.Context, eventID string, r domain.Return) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("record return: %w", err)
	}
	err := s.recordHistory(ctx, eventID, r.CustomerID, r.OccurTime, func(tx domain.Tx, customerID string) (bool, error) {
		r.CustomerID = customerID
		return tx.RecordReturn(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("record return: %w", err)
	}
	return nil
}

// recordHistory applies one purchase or return to its customer's facts.
func (s *Facts) recordHistory(ctx context.Context, eventID, customerID string, at time.Time, record func(tx domain.Tx, customerID string) (bool, error)) error {
	defer s.readLock(ctx)()
	// A purchase stamped slightly after our clock (the selling system's
	// clock runs ahead) must still count in the class it causes, so the
	// ranking is taken as of the later of the two.
	now := s.now().UTC()
	if at.After(now) {
		now = at
	}
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerPurchases, eventID)
		if err != nil || !first {
			return err
		}
		if err := tx.RegisterCustomer(ctx, customerID, at); err != nil {
			return err
		}
		id, err := survivorLocked(ctx, tx, customerID)
		if err != nil {
			return err
		}
		return s.refresh(ctx, tx, id, now, func() error {
			_, err := record(tx, id)
			return err
		})
	})
}

// MergeCustomers folds the merged customer into the survivor: its
// purchases become the survivor's, so value and ABC class rank the union,
// and later purchases naming it count for the survivor. When the merge
// moves the survivor to another class, ClassChanged is published in the
// same transaction; the merged customer leaves its segments. A survivor
// merged since stands for its own survivor. Seeing the event again, or the
// same merge under another event, changes nothing.
func (s *Facts) MergeCustomers(ctx context.Context, eventID string, m domain.Merge) error {
	if err := m.Validate().Err(); err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	defer s.readLock(ctx)()
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Once(ctx, tx, ConsumerCustomers, eventID, func() error {
			for _, id := range []string{m.MergedID, m.SurvivorID} {
				if err := tx.RegisterCustomer(ctx, id, m.At); err != nil {
					return err
				}
			}
			// Locking reads, in id order (see merges.Plan).
			m, apply, err := merges.Plan(ctx, tx.LockMergedInto, m)
			if err != nil || !apply {
				return err
			}
			if err := s.leaveSegments(ctx, tx, m.MergedID); err != nil {
				return err
			}
			return s.refresh(ctx, tx, m.SurvivorID, now, func() error {
				return tx.MergeCustomer(ctx, m.MergedID, m.SurvivorID)
			})
		})
	})
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	return nil
}

// RecordErasure records that a customer's erasure reached the service and
// drops the tags and attributes held for segments; see domain.Erasure.
func (s *Facts) RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate().Err(); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	defer s.readLock(ctx)()
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Once(ctx, tx, ConsumerCustomers, eventID, func() error {
			if err := tx.RecordErasure(ctx, e, now); err != nil {
				return err
			}
			ok, err := tx.CustomerExists(ctx, e.CustomerID)
			if err != nil || !ok {
				return err
			}
			return s.evaluateSegments(ctx, tx, e.CustomerID)
		})
	})
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}
