package domain

import (
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ErrMergeConflict means a merge contradicts an earlier one: the merged
// customer was already folded into another survivor, or the survivor into
// the merged customer. No retry can apply such a merge.
var ErrMergeConflict = errors.New("merge conflicts with an earlier merge")

// MaxMergeHops bounds how many merged customers a lookup follows to reach
// a survivor. A merge re-points the customers merged into the merged one at
// the survivor, so one hop is the rule; the bound only stops a corrupt
// cycle.
const MaxMergeHops = 8

// Merge is one customer folded into another: the merged customer's
// purchases become the survivor's, so the survivor's value and class rank
// the union of both histories, and later events naming the merged customer
// count for the survivor.
type Merge struct {
	MergedID   string
	SurvivorID string
	// At is when the merge happened; it registers a customer the service
	// had not seen.
	At time.Time
}

// Validate checks the merge, naming fields as the CustomerMerged event does.
func (m Merge) Validate() error {
	var v validation.Violations
	if !IsID(m.MergedID) {
		v.Add("merged_customer_id", "must be a UUID")
	}
	if !IsID(m.SurvivorID) {
		v.Add("survivor_customer_id", "must be a UUID")
	} else if m.SurvivorID == m.MergedID {
		v.Add("survivor_customer_id", "must differ from merged_customer_id")
	}
	return v.Err()
}

// Decide says whether the merge still has to move anything, given what the
// merged customer is already merged into ("" for nothing) and the survivor
// it resolves to today (the named survivor, or whom that one was merged
// into since). A merge applied before moves nothing, so replays are
// harmless; a merge contradicting an earlier one is an ErrMergeConflict.
func (m Merge) Decide(mergedInto, survivor string) (apply bool, err error) {
	switch {
	case survivor == m.MergedID:
		return false, fmt.Errorf("merge %s into %s, which was merged into it: %w", m.MergedID, m.SurvivorID, ErrMergeConflict)
	case mergedInto == survivor:
		return false, nil
	case mergedInto != "":
		return false, fmt.Errorf("merge %s into %s, already merged into %s: %w", m.MergedID, survivor, mergedInto, ErrMergeConflict)
	}
	return true, nil
}

// Erasure is a customer's personal data being erased everywhere. The
// segmentation service holds none (customer ids, purchase amounts and
// times only, and aggregates may stay under the id), so an erasure changes
// no value: the service records that the erasure reached it, the evidence
// an erasure audit asks of every service.
type Erasure struct {
	CustomerID string
	EraseTime  time.Time
}

// Validate checks the erasure, naming fields as the CustomerErased event
// does.
func (e Erasure) Validate() error {
	return ValidateCustomerID(e.CustomerID)
}
