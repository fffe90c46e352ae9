package app

import (
	"context"
	"slices"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Duplicate is a customer that is likely the same as another.
type Duplicate struct {
	Customer domain.Customer
	Score    float64
	Reasons  []string
}

// Limits of FindDuplicates.
const (
	DefaultDuplicates = 20
	MaxDuplicates     = 100
)

// FindDuplicates lists the customers likely to be the same as id, the
// likeliest first: a shared email or phone weighs most, the same name key
// (see domain.NameKey) less.
func (a *Service) FindDuplicates(ctx context.Context, id string, limit int) ([]Duplicate, error) {
	limit, err := pageSize(limit, DefaultDuplicates, MaxDuplicates)
	if err != nil {
		return nil, err
	}
	c, err := resolve(ctx, a.store, id)
	if err != nil {
		return nil, wrap("find duplicates", err)
	}
	// Candidates are fetched generously and ranked here, as a name match
	// found first in creation order may rank below a contact match.
	cands, err := a.store.DuplicateCandidates(ctx, c, 5*limit)
	if err != nil {
		return nil, wrap("find duplicates", err)
	}
	mine := map[string]bool{}
	for _, ct := range c.Contacts() {
		mine[ct.Key()] = true
	}
	key := domain.NameKey(c.DisplayName)
	var out []Duplicate
	scope := callerOf(ctx).Scope
	for _, cand := range cands {
		if !scope.Sees(cand) {
			continue
		}
		d := Duplicate{Customer: cand}
		for _, ct := range cand.Contacts() {
			if mine[ct.Key()] {
				d.Reasons = append(d.Reasons, "same "+ct.Field+" "+ct.Value)
				d.Score += 0.6
			}
		}
		if domain.NameKey(cand.DisplayName) == key {
			d.Reasons = append(d.Reasons, "same name")
			d.Score += 0.4
		}
		if d.Score > 0 {
			d.Score = min(d.Score, 1)
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(x, y Duplicate) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return 0
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, a.store.Audit(ctx, a.auditEntry(ctx, "FindDuplicates", c.ID, "", ""))
}

// MergeCustomers folds mergedID into survivorID (see domain.Merge), moves
// its relationships and ownership history, and publishes CustomerMerged so
// other services re-key.
func (a *Service) MergeCustomers(ctx context.Context, survivorID, mergedID, reason string) (domain.Customer, error) {
	if err := domain.CheckReason(reason, false); err != nil {
		return domain.Customer{}, err
	}
	var out domain.Customer
	err := a.inTx(ctx, func(tx domain.Tx) error {
		survivor, err := scopedCustomer(ctx, tx, survivorID)
		if err != nil {
			return err
		}
		merged, err := scopedCustomer(ctx, tx, mergedID)
		if err != nil {
			return err
		}
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		next, gone, err := domain.Merge(survivor, merged, defs, a.clock())
		if err != nil {
			return err
		}
		// The merged customer goes first, releasing its contacts and
		// external id for the survivor to take.
		if err := tx.UpdateCustomer(ctx, gone, merged.Version); err != nil {
			return err
		}
		if err := tx.UpdateCustomer(ctx, next, survivor.Version); err != nil {
			return err
		}
		if err := tx.Repoint(ctx, mergedID, survivorID); err != nil {
			return err
		}
		out = next
		if err := tx.Audit(ctx, a.auditEntry(ctx, "MergeCustomers", mergedID, reason, "merged into "+survivorID)); err != nil {
			return err
		}
		return a.commit(ctx, tx, "MergeCustomers", survivorID, reason, "merged "+mergedID,
			domain.CustomerMerged{MergedID: mergedID, Survivor: next})
	})
	return out, wrap("merge customers", err)
}
