// Package app holds the segmentation service's use cases: the customer
// facts read model fed by other services' events, customer value (ABC,
// RFM, predictions), model fits, rule segments and demand forecasts.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Inbox consumer names: an event id is handled once per consumer.
const (
	ConsumerCustomers = "segmentation-customers"
	ConsumerPurchases = "segmentation-purchases"
)

// Service runs the use cases against a store under one ranking policy.
type Service struct {
	store      domain.Store
	policy     domain.Policy
	prediction domain.PredictionPolicy
	now        func() time.Time
	logger     *slog.Logger
	// recompute is held exclusively by a full recompute and shared by the
	// incremental updates of events: a recompute reads every customer's
	// facts and then replaces every value, and an event applied between
	// the two would be overwritten by the older facts.
	recompute sync.RWMutex
}

// New returns a Service with the default prediction policy. now is the
// clock (time.Now in production), so tests can rank "as of" any moment.
func New(store domain.Store, policy domain.Policy, now func() time.Time) (*Service, error) {
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("new segmentation service: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, policy: policy, prediction: domain.DefaultPredictionPolicy(policy.Currency), now: now}, nil
}

// WithLogger logs what the recomputes did.
func (s *Service) WithLogger(l *slog.Logger) *Service {
	s.logger = l
	return s
}

// WithPrediction sets the prediction policy.
func (s *Service) WithPrediction(p domain.PredictionPolicy) (*Service, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new segmentation service: %w", err)
	}
	s.prediction = p
	return s, nil
}

// RegisterCustomer makes a customer known, once per event id.
func (s *Service) RegisterCustomer(ctx context.Context, eventID, customerID string, at time.Time) error {
	return s.UpdateProfile(ctx, eventID, domain.Profile{CustomerID: customerID}, at, false)
}

// UpdateProfile stores the profile fields segments filter on (when
// withProfile), registering the customer, once per event id; the
// customer's segments follow.
func (s *Service) UpdateProfile(ctx context.Context, eventID string, p domain.Profile, at time.Time, withProfile bool) error {
	if err := domain.ValidateCustomerID(p.CustomerID); err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	s.recompute.RLock()
	defer s.recompute.RUnlock()
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
func (s *Service) RecordPurchase(ctx context.Context, eventID string, p domain.Purchase) error {
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
func (s *Service) RecordReturn(ctx context.Context, eventID string, r domain.Return) error {
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
func (s *Service) recordHistory(ctx context.Context, eventID, customerID string, at time.Time, record func(tx domain.Tx, customerID string) (bool, error)) error {
	s.recompute.RLock()
	defer s.recompute.RUnlock()
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

// refresh applies change to a customer's history and recomputes the
// customer's value as of now: class and RFM segment before and after are
// compared (and a change announced), the value stored, and the customer's
// rule segments re-evaluated.
func (s *Service) refresh(ctx context.Context, tx domain.Tx, customerID string, now time.Time, change func() error) error {
	before, err := s.liveValue(ctx, tx, customerID, now)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := s.liveValue(ctx, tx, customerID, now)
	if err != nil {
		return err
	}
	if err := tx.PutValue(ctx, after); err != nil {
		return err
	}
	if before.Class != after.Class || before.RFM.Segment != after.RFM.Segment {
		err := tx.Publish(ctx, domain.ClassChanged{
			CustomerID: customerID, Old: before.Class, New: after.Class, OldRFM: before.RFM.Segment, NewRFM: after.RFM.Segment,
		})
		if err != nil {
			return err
		}
	}
	return s.evaluateSegments(ctx, tx, customerID)
}

// liveValue computes a customer's value from the stored history as of
// now: ABC against the current ranking, RFM against the last recompute's
// quintiles, predictions from the current fit.
func (s *Service) liveValue(ctx context.Context, r domain.Reader, customerID string, now time.Time) (domain.Value, error) {
	w := s.policy.WindowAt(now)
	f, err := r.Facts(ctx, customerID, w)
	if err != nil {
		return domain.Value{}, err
	}
	st, err := r.Ranking(ctx, w, f.Trailing)
	if err != nil {
		return domain.Value{}, err
	}
	bounds, err := r.RFMBounds(ctx)
	if err != nil {
		return domain.Value{}, err
	}
	v := domain.Value{Facts: f, Class: domain.Classify(st, s.policy.Cutoffs), ShareAbove: st.ShareAbove(), RFM: bounds.Score(f), ComputeTime: now}
	fit, ok, err := r.CurrentFit(ctx)
	if err != nil {
		return domain.Value{}, err
	}
	if ok {
		v.Prediction, v.Predicted = s.prediction.Predict(fit, f, now)
	}
	return v, nil
}

// evaluateSegments brings the customer's memberships in line with the
// stored value and profile, announcing each change.
func (s *Service) evaluateSegments(ctx context.Context, tx domain.Tx, customerID string) error {
	segs, err := tx.Segments(ctx)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		match, err := tx.Matches(ctx, seg, customerID)
		if err != nil {
			return err
		}
		member, err := tx.IsMember(ctx, seg.ID, customerID)
		if err != nil {
			return err
		}
		if match == member {
			continue
		}
		if err := tx.SetMembers(ctx, seg.ID, []string{customerID}, match); err != nil {
			return err
		}
		err = tx.Publish(ctx, domain.MembershipChanged{SegmentID: seg.ID, SegmentName: seg.Name, CustomerID: customerID, Member: match})
		if err != nil {
			return err
		}
	}
	return nil
}

// survivorLocked returns the customer that id stands for: id itself, or
// the survivor it was merged into. Each row is locked before its link is
// read, so on PostgreSQL a merge committing meanwhile is waited for and its
// link seen.
func survivorLocked(ctx context.Context, tx domain.Tx, id string) (string, error) {
	return merges.Resolve(ctx, tx.LockMergedInto, id)
}

// survivor is survivorLocked outside a transaction, for reads.
func (s *Service) survivor(ctx context.Context, id string) (string, error) {
	return merges.Resolve(ctx, s.store.MergedInto, id)
}

// MergeCustomers folds the merged customer into the survivor: its
// purchases become the survivor's, so value and ABC class rank the union,
// and later purchases naming it count for the survivor. When the merge
// moves the survivor to another class, ClassChanged is published in the
// same transaction; the merged customer leaves its segments. A survivor
// merged since stands for its own survivor. Seeing the event again, or the
// same merge under another event, changes nothing.
func (s *Service) MergeCustomers(ctx context.Context, eventID string, m domain.Merge) error {
	if err := m.Validate().Err(); err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	s.recompute.RLock()
	defer s.recompute.RUnlock()
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

// leaveSegments takes a customer out of every segment, announcing it.
func (s *Service) leaveSegments(ctx context.Context, tx domain.Tx, customerID string) error {
	segIDs, err := tx.CustomerSegments(ctx, customerID)
	if err != nil {
		return err
	}
	for _, id := range segIDs {
		seg, err := tx.Segment(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.SetMembers(ctx, id, []string{customerID}, false); err != nil {
			return err
		}
		if err := tx.Publish(ctx, domain.MembershipChanged{SegmentID: id, SegmentName: seg.Name, CustomerID: customerID}); err != nil {
			return err
		}
	}
	return nil
}

// RecordErasure records that a customer's erasure reached the service and
// drops the tags and attributes held for segments; see domain.Erasure.
func (s *Service) RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate().Err(); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	s.recompute.RLock()
	defer s.recompute.RUnlock()
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
	// A purchase committing between the reads shifts the share by that
	// one purchase, which the next read corrects.
	ok, err := s.store.CustomerExists(ctx, customerID)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	if !ok {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: customer %s: %w", customerID, domain.ErrNotFound)
	}
	v, err := s.liveValue(ctx, s.store, customerID, now)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	cats, err := s.store.CategorySpends(ctx, customerID, s.policy.Currency)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	return domain.NewCustomerValue(v, s.policy, cats), nil
}
