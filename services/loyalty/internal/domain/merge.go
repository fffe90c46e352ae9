package domain

import (
	"fmt"
	"math"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ErrMergeConflict means a merge contradicts an earlier one (see
// merges.ErrConflict).
var ErrMergeConflict = merges.ErrConflict

// MaxMergeHops bounds how many merges a lookup follows (see
// merges.MaxHops).
const MaxMergeHops = merges.MaxHops

// Merge is one customer folded into another.
type Merge struct {
	MergedID   string
	SurvivorID string
}

// Validate checks the merge, naming fields as the CustomerMerged event does.
func (m Merge) Validate() error {
	var vs validation.Violations
	checkUUID(&vs, "merged_customer_id", m.MergedID)
	checkUUID(&vs, "survivor_customer_id", m.SurvivorID)
	if m.MergedID != "" && m.MergedID == m.SurvivorID {
		vs.Add("survivor_customer_id", "must differ from merged_customer_id")
	}
	return vs.Err()
}

// Transfer is what a merge moved from the merged account to the survivor's.
type Transfer struct {
	Points         int64
	LifetimePoints int64
}

// IsZero reports whether nothing moved, as when the merged account was
// empty or the merge had been applied before.
func (t Transfer) IsZero() bool { return t == Transfer{} }

// MergeInto folds a (the merged customer's account) into survivor: the
// balance and the lifetime points move over, survivor's tier follows its new
// lifetime total (so the union of both histories decides it), and a is left
// empty and pointing at survivor. It returns what moved and survivor's tier
// before the merge. Folding an account into the survivor it already points
// at moves nothing, which makes a replayed merge harmless.
func (a *Account) MergeInto(survivor *Account, at time.Time, vipThreshold int64) (Transfer, Tier, error) {
	oldTier := survivor.Tier
	switch {
	case a.CustomerID == survivor.CustomerID:
		return Transfer{}, oldTier, fmt.Errorf("merge %s into itself: %w", a.CustomerID, ErrMergeConflict)
	case survivor.MergedInto != "":
		return Transfer{}, oldTier, fmt.Errorf("merge %s into %s, itself merged into %s: %w",
			a.CustomerID, survivor.CustomerID, survivor.MergedInto, ErrMergeConflict)
	case a.MergedInto == survivor.CustomerID:
		return Transfer{}, oldTier, nil
	case a.MergedInto != "":
		return Transfer{}, oldTier, fmt.Errorf("merge %s into %s, already merged into %s: %w",
			a.CustomerID, survivor.CustomerID, a.MergedInto, ErrMergeConflict)
	}
	t := Transfer{Points: a.PointsBalance, LifetimePoints: a.LifetimePoints}
	if survivor.PointsBalance > math.MaxInt64-t.Points || survivor.LifetimePoints > math.MaxInt64-t.LifetimePoints {
		return Transfer{}, oldTier, fmt.Errorf("merge %s into %s: %w", a.CustomerID, survivor.CustomerID, ErrPointsOverflow)
	}
	survivor.PointsBalance += t.Points
	survivor.LifetimePoints += t.LifetimePoints
	survivor.Tier = TierFor(survivor.LifetimePoints, vipThreshold)
	survivor.UpdateTime = at
	a.PointsBalance = 0
	a.LifetimePoints = 0
	a.Tier = TierNormal
	a.MergedInto = survivor.CustomerID
	a.UpdateTime = at
	return t, oldTier, nil
}

// TransferEntries returns the two ledger entries that book t: points leaving
// the merged account and arriving on the survivor's, each naming the other
// account, so both histories still add up to their balances. ids are the
// entries' ids (out, in); eventID is the merge event's.
func TransferEntries(m Merge, t Transfer, outID, inID, eventID string, at time.Time) [2]LedgerEntry {
	return [2]LedgerEntry{
		{
			ID: outID, CustomerID: m.MergedID, Points: -t.Points, LifetimePoints: -t.LifetimePoints,
			Reason: ReasonMergeOut, CounterpartID: m.SurvivorID, EventID: eventID, Time: at,
		},
		{
			ID: inID, CustomerID: m.SurvivorID, Points: t.Points, LifetimePoints: t.LifetimePoints,
			Reason: ReasonMergeIn, CounterpartID: m.MergedID, EventID: eventID, Time: at,
		},
	}
}
