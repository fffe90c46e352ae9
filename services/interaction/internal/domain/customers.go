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
// merged customer is already merged into ("" for nobody) and the customer
// the named survivor resolves to today; see merges.Decide.
func (m Merge) Decide(mergedInto, survivor string) (apply bool, err error) {
	return merges.Decide(m.MergedID, m.SurvivorID, mergedInto, survivor)
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
