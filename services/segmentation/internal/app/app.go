// Package app holds the segmentation service's use cases: registering
// customers and purchases from other services' events, and answering what a
// customer is worth.
package app

import (
	"context"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Inbox consumer names: an event id is handled once per consumer.
const (
	ConsumerCustomers = "segmentation-customers"
	ConsumerPurchases = "segmentation-purchases"
)

// Service runs the use cases against a store under one ranking policy.
type Service struct {
	store  domain.Store
	policy domain.Policy
	now    func() time.Time
}

// New returns a Service. now is the clock (time.Now in production), so
// tests can rank "as of" any moment.
func New(store domain.Store, policy domain.Policy, now func() time.Time) (*Service, error) {
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("new segmentation service: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, policy: policy, now: now}, nil
}

// RegisterCustomer makes a customer known, once per event id.
func (s *Service) RegisterCustomer(ctx context.Context, eventID, customerID string, at time.Time) error {
	if err := domain.ValidateCustomerID(customerID); err != nil {
		return fmt.Errorf("register customer: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerCustomers, eventID)
		if err != nil || !first {
			return err
		}
		return tx.RegisterCustomer(ctx, customerID, at)
	})
	if err != nil {
		return fmt.Errorf("register customer: %w", err)
	}
	return nil
}

// RecordPurchase stores a purchase, once per event id and once per
// interaction id, registering an unknown buyer. A purchase naming a
// customer merged into another counts for the survivor. When the purchase moves the
// buyer to another class, ClassChanged is published in the same
// transaction. Other customers' classes may shift too (the total grew), but
// only the buyer's change is announced: it is the one a purchase causes.
func (s *Service) RecordPurchase(ctx context.Context, eventID string, p domain.Purchase) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("record purchase: %w", err)
	}
	// A purchase stamped slightly after our clock (the selling system's
	// clock runs ahead) must still count in the class it causes, so the
	// ranking is taken as of the later of the two.
	now := s.now().UTC()
	if p.OccurTime.After(now) {
		now = p.OccurTime
	}
	w := s.policy.WindowAt(now)
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerPurchases, eventID)
		if err != nil || !first {
			return err
		}
		if err := tx.RegisterCustomer(ctx, p.CustomerID, p.OccurTime); err != nil {
			return err
		}
		if p.CustomerID, err = survivorLocked(ctx, tx, p.CustomerID); err != nil {
			return err
		}
		before, err := s.class(ctx, tx, p.CustomerID, w)
		if err != nil {
			return err
		}
		recorded, err := tx.RecordPurchase(ctx, p)
		if err != nil || !recorded {
			return err
		}
		after, err := s.class(ctx, tx, p.CustomerID, w)
		if err != nil {
			return err
		}
		if before == after {
			return nil
		}
		return tx.Publish(ctx, domain.ClassChanged{CustomerID: p.CustomerID, Old: before, New: after})
	})
	if err != nil {
		return fmt.Errorf("record purchase: %w", err)
	}
	return nil
}

// survivorLocked returns the customer that id stands for: id itself, or
// the survivor it was merged into. Each row is locked before its link is
// read, so on PostgreSQL a merge committing meanwhile is waited for and its
// link seen.
func survivorLocked(ctx context.Context, tx domain.Tx, id string) (string, error) {
	for range domain.MaxMergeHops {
		into, err := tx.LockMergedInto(ctx, id)
		if err != nil || into == "" {
			return id, err
		}
		id = into
	}
	return "", fmt.Errorf("customer %s: merged-into links form a cycle: %w", id, domain.ErrMergeConflict)
}

// survivor is survivorLocked outside a transaction, for reads.
func (s *Service) survivor(ctx context.Context, id string) (string, error) {
	for range domain.MaxMergeHops {
		into, err := s.store.MergedInto(ctx, id)
		if err != nil || into == "" {
			return id, err
		}
		id = into
	}
	return "", fmt.Errorf("customer %s: merged-into links form a cycle: %w", id, domain.ErrMergeConflict)
}

// MergeCustomers folds the merged customer into the survivor: its
// purchases become the survivor's, so value and ABC class rank the union,
// and later purchases naming it count for the survivor. When the merge
// moves the survivor to another class, ClassChanged is published in the
// same transaction. A survivor merged since stands for its own survivor.
// Seeing the event again, or the same merge under another event, changes
// nothing.
func (s *Service) MergeCustomers(ctx context.Context, eventID string, m domain.Merge) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	w := s.policy.WindowAt(s.now().UTC())
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerCustomers, eventID)
		if err != nil || !first {
			return err
		}
		for _, id := range []string{m.MergedID, m.SurvivorID} {
			if err := tx.RegisterCustomer(ctx, id, m.At); err != nil {
				return err
			}
		}
		mergedInto, survivor, err := lockPair(ctx, tx, m)
		if err != nil {
			return err
		}
		apply, err := m.Decide(mergedInto, survivor)
		if err != nil || !apply {
			return err
		}
		before, err := s.class(ctx, tx, survivor, w)
		if err != nil {
			return err
		}
		if err := tx.MergeCustomer(ctx, m.MergedID, survivor); err != nil {
			return err
		}
		after, err := s.class(ctx, tx, survivor, w)
		if err != nil || before == after {
			return err
		}
		return tx.Publish(ctx, domain.ClassChanged{CustomerID: survivor, Old: before, New: after})
	})
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	return nil
}

// lockPair locks the merged customer and the survivor (following the
// survivor's own merges), in id order so two merges over the same
// customers cannot deadlock on PostgreSQL.
func lockPair(ctx context.Context, tx domain.Tx, m domain.Merge) (mergedInto, survivor string, err error) {
	if m.MergedID < m.SurvivorID {
		if mergedInto, err = tx.LockMergedInto(ctx, m.MergedID); err != nil {
			return "", "", err
		}
		survivor, err = survivorLocked(ctx, tx, m.SurvivorID)
		return mergedInto, survivor, err
	}
	if survivor, err = survivorLocked(ctx, tx, m.SurvivorID); err != nil {
		return "", "", err
	}
	mergedInto, err = tx.LockMergedInto(ctx, m.MergedID)
	return mergedInto, survivor, err
}

// RecordErasure records that a customer's erasure reached the service; see
// domain.Erasure for why nothing else changes.
func (s *Service) RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerCustomers, eventID)
		if err != nil || !first {
			return err
		}
		return tx.RecordErasure(ctx, e, s.now().UTC())
	})
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}

func (s *Service) class(ctx context.Context, r domain.Reader, customerID string, w domain.Window) (domain.Class, error) {
	spend, err := r.Spend(ctx, customerID, w)
	if err != nil {
		return domain.ClassUnspecified, err
	}
	st, err := r.Ranking(ctx, w, spend.Trailing)
	if err != nil {
		return domain.ClassUnspecified, err
	}
	return domain.Classify(st, s.policy.Cutoffs), nil
}

// GetCustomerValue computes a customer's value now; for a customer merged
// into another, the survivor's (which names the survivor).
func (s *Service) GetCustomerValue(ctx context.Context, customerID string) (domain.CustomerValue, error) {
	if err := domain.ValidateCustomerID(customerID); err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	customerID, err := s.survivor(ctx, customerID)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	now := s.now().UTC()
	// Plain reads, not a transaction: on SQLite a transaction takes the
	// write lock, and a value read must not queue behind event ingestion.
	// A purchase committing between the two reads shifts the share by that
	// one purchase, which the next read corrects.
	ok, err := s.store.CustomerExists(ctx, customerID)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	if !ok {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: customer %s: %w", customerID, domain.ErrNotFound)
	}
	w := s.policy.WindowAt(now)
	spend, err := s.store.Spend(ctx, customerID, w)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	st, err := s.store.Ranking(ctx, w, spend.Trailing)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	return domain.NewCustomerValue(customerID, spend, st, s.policy, now), nil
}
