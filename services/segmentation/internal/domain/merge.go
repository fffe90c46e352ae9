package domain

import (
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

// Decide says whether the merge still has to move anything, given whom the
// merged customer is already merged into ("" for nobody) and the customer
// the named survivor resolves to today; see merges.Decide.
func (m Merge) Decide(mergedInto, survivor string) (apply bool, err error) {
	return merges.Decide(m.MergedID, m.SurvivorID, mergedInto, survivor)
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
