package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	return s.UpdateProfiles(ctx, []ProfileEvent{{EventID: eventID, Profile: domain.Profile{CustomerID: customerID}, At: at}})
}

// ProfileEvent is an event that registers a customer and may carry its
// profile.
type ProfileEvent struct {
	EventID string
	Profile domain.Profile
	// At is when the customer came to be.
	At time.Time
	// WithProfile is set when Profile replaces the fields held for
	// segments; otherwise only the customer's id counts.
	WithProfile bool
}

// UpdateProfiles applies profile events, in order, in one transaction:
// each event once per event id, the last profile of a customer winning.
// Events about customers merged away change nothing: the survivor's own
// events describe the survivor.
func (s *Facts) UpdateProfiles(ctx context.Context, evs []ProfileEvent) error {
	for _, ev := range evs {
		if err := domain.ValidateCustomerID(ev.Profile.CustomerID); err != nil {
			return fmt.Errorf("update profile: %w", err)
		}
	}
	defer s.readLock(ctx)()
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandledMany(ctx, ConsumerCustomers, eventIDs(evs, func(ev ProfileEvent) string { return ev.EventID }))
		if err != nil {
			return err
		}
		at := map[string]time.Time{}
		profiles := map[string]domain.Profile{}
		for _, ev := range evs {
			if !first[ev.EventID] {
				continue
			}
			id := ev.Profile.CustomerID
			if t, ok := at[id]; !ok || ev.At.Before(t) {
				at[id] = ev.At
			}
			if ev.WithProfile {
				profiles[id] = ev.Profile
			}
		}
		if len(at) == 0 {
			return nil
		}
		if err := tx.RegisterCustomers(ctx, at); err != nil {
			return err
		}
		ids := slices.Sorted(maps.Keys(at))
		mergedInto, err := tx.LockCustomers(ctx, ids)
		if err != nil {
			return err
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return mergedInto[id] != "" })
		if len(ids) == 0 {
			return nil
		}
		return s.refresh(ctx, tx, ids, now, func() error {
			var ps []domain.Profile
			for _, id := range ids {
				if p, ok := profiles[id]; ok {
					ps = append(ps, p)
				}
			}
			return tx.PutProfiles(ctx, ps)
		})
	})
	if err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}

// RecordPurchase stores a purchase, once per event id and once per
// interaction id; see RecordHistory.
func (s *Facts) RecordPurchase(ctx context.Context, eventID string, p domain.Purchase) error {
	if err := s.RecordHistory(ctx, []HistoryEvent{{EventID: eventID, Purchase: &p}}); err != nil {
		return fmt.Errorf("record purchase: %w", err)
	}
	return nil
}

// RecordReturn stores a return like a purchase; its refund lowers the
// customer's spend.
func (s *Facts) RecordReturn(ctx context.Context, eventID string, r domain.Return) error {
	if err := s.RecordHistory(ctx, []HistoryEvent{{EventID: eventID, Return: &r}}); err != nil {
		return fmt.Errorf("record return: %w", err)
	}
	return nil
}

// HistoryEvent is the event of a purchase or a return (one of the two).
type HistoryEvent struct {
	EventID  string
	Purchase *domain.Purchase
	Return   *domain.Return
}

func (ev HistoryEvent) customer() (id string, at time.Time) {
	if ev.Purchase != nil {
		return ev.Purchase.CustomerID, ev.Purchase.OccurTime
	}
	return ev.Return.CustomerID, ev.Return.OccurTime
}

// RecordHistory stores purchases and returns in one transaction, each once
// per event id and once per interaction id, registering unknown buyers. A
// purchase naming a customer merged into another counts for the survivor.
// When the events move a buyer to another class or RFM segment,
// ClassChanged is published in the same transaction, and the buyer's
// segment memberships follow; several events of one buyer announce the
// change they make together. Other customers' classes may shift too (the
// total grew), but only the buyers' changes are announced: they are the
// ones purchases cause; the next full recompute settles the others.
func (s *Facts) RecordHistory(ctx context.Context, evs []HistoryEvent) error {
	for _, ev := range evs {
		var err error
		switch {
		case ev.Purchase != nil:
			err = ev.Purchase.Validate()
		case ev.Return != nil:
			err = ev.Return.Validate()
		default:
			err = errors.New("record history: an event without a purchase or a return")
		}
		if err != nil {
			return err
		}
	}
	defer s.readLock(ctx)()
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandledMany(ctx, ConsumerPurchases, eventIDs(evs, func(ev HistoryEvent) string { return ev.EventID }))
		if err != nil {
			return err
		}
		evs = slices.DeleteFunc(slices.Clone(evs), func(ev HistoryEvent) bool { return !first[ev.EventID] })
		registered := map[string]time.Time{}
		for _, ev := range evs {
			id, at := ev.customer()
			if t, ok := registered[id]; !ok || at.Before(t) {
				registered[id] = at
			}
		}
		if len(registered) == 0 {
			return nil
		}
		if err := tx.RegisterCustomers(ctx, registered); err != nil {
			return err
		}
		buyers := slices.Sorted(maps.Keys(registered))
		mergedInto, err := tx.LockCustomers(ctx, buyers)
		if err != nil {
			return err
		}
		// The clock is read once the buyers are held: a purchase another
		// transaction committed for one of them while this one waited is
		// then no later than the moment the values are ranked as of, and
		// counts in the trailing spend they store.
		clock := s.now().UTC()
		// Each event counts for its buyer's survivor, ranked as of the
		// later of our clock and its events' times: a purchase stamped
		// slightly after our clock (the selling system's clock runs ahead)
		// must still count in the class it causes.
		survivors := map[string]string{}
		asOf := map[string]time.Time{}
		for _, id := range buyers {
			survivor := id
			if mergedInto[id] != "" {
				if survivor, err = survivorLocked(ctx, tx, id); err != nil {
					return err
				}
			}
			survivors[id] = survivor
		}
		type history struct {
			ps []domain.Purchase
			rs []domain.Return
		}
		of := map[string]*history{}
		for _, ev := range evs {
			id, at := ev.customer()
			survivor := survivors[id]
			asOf[survivor] = later(asOf[survivor], later(clock, at))
			h := of[survivor]
			if h == nil {
				h = &history{}
				of[survivor] = h
			}
			if ev.Purchase != nil {
				p := *ev.Purchase
				p.CustomerID = survivor
				h.ps = append(h.ps, p)
			} else {
				r := *ev.Return
				r.CustomerID = survivor
				h.rs = append(h.rs, r)
			}
		}
		// Customers are refreshed together when ranked as of the same
		// moment (all of them but a buyer with a clock ahead of ours).
		byTime := map[time.Time][]string{}
		for _, id := range slices.Sorted(maps.Keys(asOf)) {
			byTime[asOf[id]] = append(byTime[asOf[id]], id)
		}
		for _, now := range slices.SortedFunc(maps.Keys(byTime), time.Time.Compare) {
			ids := byTime[now]
			err := s.refresh(ctx, tx, ids, now, func() error {
				var all history
				for _, id := range ids {
					all.ps = append(all.ps, of[id].ps...)
					all.rs = append(all.rs, of[id].rs...)
				}
				_, err := tx.RecordHistory(ctx, all.ps, all.rs)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func eventIDs[E any](evs []E, id func(E) string) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = id(ev)
	}
	return ids
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
			return s.refresh(ctx, tx, []string{m.SurvivorID}, now, func() error {
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
			return s.evaluateSegments(ctx, tx, []string{e.CustomerID})
		})
	})
	if err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}
