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

// MaxMergeHops bounds how many merges a lookup follows to reach a
// survivor. A merge re-points the customers merged into the merged one at
// the survivor, so one hop is the rule; the bound only stops a corrupt
// cycle.
const MaxMergeHops = 8

// Merge is one customer folded into another: the merged customer's
// timeline becomes the survivor's, and interactions later reported for the
// merged customer are kept under the survivor.
type Merge struct {
	MergedID   string
	SurvivorID string
	At         time.Time
}

// Validate checks the merge, naming fields as the CustomerMerged event does.
func (m Merge) Validate() validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, "merged_customer_id", m.MergedID)
	checkCustomerID(&v, "survivor_customer_id", m.SurvivorID)
	if m.MergedID != "" && m.MergedID == m.SurvivorID {
		v.Add("survivor_customer_id", "must differ from merged_customer_id")
	}
	return v
}

// Decide says whether the merge still has to move anything, given whom the
// merged customer is already merged into ("" for nobody) and the survivor
// the named one resolves to today (itself, or whom it was merged into
// since). A merge applied before moves nothing, so replays are harmless; a
// merge contradicting an earlier one is an ErrMergeConflict.
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

// Erasure is a customer's personal data being erased everywhere. Here it
// removes what an interaction says about the person: the free-text
// summary, and the reporting system's key (source_id) and the caller's
// request id, which may be a phone number, a mail address or a chat
// handle. What happened, when, on which channel, and what was bought (the
// aggregates other services keep) stay under the id. The customer is
// remembered as erased, and no interaction is recorded for it again.
type Erasure struct {
	CustomerID string
	EraseTime  time.Time
}

// Validate checks the erasure, naming fields as the CustomerErased event
// does.
func (e Erasure) Validate() validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, "customer_id", e.CustomerID)
	return v
}

// CustomerErasedError says that an interaction names a customer whose
// personal data was erased: nothing may be recorded about it any more.
type CustomerErasedError struct {
	CustomerID string
}

func (e *CustomerErasedError) Error() string {
	return "customer " + e.CustomerID + " was erased"
}
