// Package app holds the segmentation service's use cases, one type per
// area: the customer facts read model fed by other services' events
// (Facts), customer value with its ABC, RFM, predictions and model fits
// (Values), rule segments (Segments) and demand forecasts (Demand).
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Inbox consumer names: an event id is handled once per consumer.
const (
	ConsumerCustomers = "segmentation-customers"
	ConsumerPurchases = "segmentation-purchases"
)

// Service is the segmentation service's use cases, by area. Each port
// holds the areas it calls; all of them share one store, one ranking and
// prediction policy, and the lock that orders full recomputes against
// incremental updates.
type Service struct {
	// Facts applies other services' events to the customer facts.
	Facts *Facts
	// Values reads and recomputes customer values and refits the model.
	Values *Values
	// Segments keeps the rule segments and their members.
	Segments *Segments
	// Demand reads and forecasts demand per category.
	Demand *Demand

	core *core
}

// core is what every area of the use cases shares: the store, the
// policies, the clock and logger, and the steps that bring one customer's
// value and segments up to date.
type core struct {
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

// readLock holds the recompute lock for reading until the returned func is
// called, or, for the events of a consumer batch, until the batch's
// transaction has ended (see sqldb.HoldForBatch): taken and let go per
// event, a recompute waiting for it would wait for the batch's
// transaction, which waits for the lock.
func (s *core) readLock(ctx context.Context) func() {
	return sqldb.HoldForBatch(ctx, &s.recompute, func() func() {
		s.recompute.RLock()
		return s.recompute.RUnlock
	})
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
	c := &core{store: store, policy: policy, prediction: domain.DefaultPredictionPolicy(policy.Currency), now: now}
	return &Service{Facts: &Facts{c}, Values: &Values{c}, Segments: &Segments{c}, Demand: &Demand{c}, core: c}, nil
}

// WithLogger logs what the recomputes did.
func (s *Service) WithLogger(l *slog.Logger) *Service {
	s.core.logger = l
	return s
}

// WithPrediction sets the prediction policy.
func (s *Service) WithPrediction(p domain.PredictionPolicy) (*Service, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new segmentation service: %w", err)
	}
	s.core.prediction = p
	return s, nil
}

// refresh applies change to the histories of distinct customers and
// recomputes their values as of now: each one's class and RFM segment
// before and after are compared (and a change announced), the values
// stored, and the customers' rule segments re-evaluated. Once a recompute
// has stored its bounds, both are the customers' own facts scored against
// them: the cost of an event does not grow with the number of customers,
// and the reads and writes are a handful of statements however many
// customers a consumer batch touches.
func (s *core) refresh(ctx context.Context, tx domain.Tx, customerIDs []string, now time.Time, change func() error) error {
	bounds, err := tx.RFMBounds(ctx)
	if err != nil {
		return err
	}
	before, err := s.score(ctx, tx, customerIDs, now, bounds)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := s.score(ctx, tx, customerIDs, now, bounds)
	if err != nil {
		return err
	}
	fit, fitted, err := tx.CurrentFit(ctx)
	if err != nil {
		return err
	}
	for i := range after {
		if fitted {
			after[i].Prediction, after[i].Predicted = s.prediction.Predict(fit, after[i].Facts, now)
		}
	}
	if err := tx.PutValues(ctx, after); err != nil {
		return err
	}
	for i, a := range after {
		b := before[i]
		if b.Class != a.Class || b.RFM.Segment != a.RFM.Segment {
			err := tx.Publish(ctx, domain.ClassChanged{
				CustomerID: a.CustomerID, Old: b.Class, New: a.Class, OldRFM: b.RFM.Segment, NewRFM: a.RFM.Segment,
			})
			if err != nil {
				return err
			}
		}
	}
	return s.evaluateSegments(ctx, tx, customerIDs)
}

// liveValue computes a customer's value from the stored history as of
// now (see score), with predictions from the current fit.
func (s *core) liveValue(ctx context.Context, r domain.Reader, customerID string, now time.Time) (domain.Value, error) {
	bounds, err := r.RFMBounds(ctx)
	if err != nil {
		return domain.Value{}, err
	}
	vs, err := s.score(ctx, r, []string{customerID}, now, bounds)
	if err != nil {
		return domain.Value{}, err
	}
	v := vs[0]
	return v, s.predict(ctx, r, &v, now)
}

// score computes customers' values from the stored history as of now,
// without predictions, in the order of customerIDs: ABC and RFM against
// the last recompute's bounds. Before a recompute has ranked any revenue
// (a fresh install), the ABC class is ranked live against every
// customer's spend instead.
func (s *core) score(ctx context.Context, r domain.Reader, customerIDs []string, now time.Time, bounds domain.RFMBounds) ([]domain.Value, error) {
	w := s.policy.WindowAt(now)
	facts, err := r.FactsOf(ctx, customerIDs, w)
	if err != nil {
		return nil, err
	}
	var standings map[int64]domain.Standing
	if !bounds.ABC.Set() {
		spends := make([]int64, 0, len(facts))
		for _, f := range facts {
			spends = append(spends, f.Trailing)
		}
		if standings, err = r.Rankings(ctx, w, spends); err != nil {
			return nil, err
		}
	}
	vs := make([]domain.Value, len(customerIDs))
	for i, id := range customerIDs {
		f := facts[id]
		v := domain.Value{Facts: f, RFM: bounds.Score(f), ComputeTime: now}
		if bounds.ABC.Set() {
			v.Class, v.ShareAbove = bounds.ABC.Classify(f.Trailing), bounds.ABC.ShareAbove(f.Trailing)
		} else {
			st := standings[f.Trailing]
			v.Class, v.ShareAbove = domain.Classify(st, s.policy.Cutoffs), st.ShareAbove()
		}
		vs[i] = v
	}
	return vs, nil
}

// predict sets v's predictions from the current fit, if there is one.
func (s *core) predict(ctx context.Context, r domain.Reader, v *domain.Value, now time.Time) error {
	fit, ok, err := r.CurrentFit(ctx)
	if err != nil || !ok {
		return err
	}
	v.Prediction, v.Predicted = s.prediction.Predict(fit, v.Facts, now)
	return nil
}

// evaluateSegments brings the memberships of distinct customers in line
// with their stored values and profiles, announcing each change.
func (s *core) evaluateSegments(ctx context.Context, tx domain.Tx, customerIDs []string) error {
	segs, err := tx.Segments(ctx)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		match, err := tx.Matching(ctx, seg, customerIDs)
		if err != nil {
			return err
		}
		member, err := tx.MembersAmong(ctx, seg.ID, customerIDs)
		if err != nil {
			return err
		}
		var join, leave []string
		for _, id := range customerIDs {
			switch {
			case match[id] && !member[id]:
				join = append(join, id)
			case !match[id] && member[id]:
				leave = append(leave, id)
			}
		}
		for _, change := range []struct {
			ids    []string
			member bool
		}{{join, true}, {leave, false}} {
			if err := tx.SetMembers(ctx, seg.ID, change.ids, change.member); err != nil {
				return err
			}
			for _, id := range change.ids {
				err := tx.Publish(ctx, domain.MembershipChanged{SegmentID: seg.ID, SegmentName: seg.Name, CustomerID: id, Member: change.member})
				if err != nil {
					return err
				}
			}
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
func (s *core) survivor(ctx context.Context, id string) (string, error) {
	return merges.Resolve(ctx, s.store.MergedInto, id)
}

// leaveSegments takes a customer out of every segment, announcing it.
func (s *core) leaveSegments(ctx context.Context, tx domain.Tx, customerID string) error {
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
