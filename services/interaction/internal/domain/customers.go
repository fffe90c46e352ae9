package domain

import (
	"github.com/guanxi-crm/guanxi/platform/merges"
)

// ErrMergeConflict means a merge contradicts an earlier one (see
// merges.ErrConflict).
var ErrMergeConflict = merges.ErrConflict

// MaxMergeHops bounds how many merges a lookup follows (see
// merges.MaxHops).
const MaxMergeHops = merges.MaxHops

// Merge is one customer folded into another: the merged customer's
// timeline becomes the survivor's, and interactions later reported for the
// merged customer are kept under the survivor. Its rules (validation, when
// it still moves anything) are the ones every service applies.
type Merge = merges.Merge

// Erasure is a customer's personal data being erased everywhere. Here it
// removes what an interaction says about the person: the free-text
// summary, and the reporting system's key (source_id) and the caller's
// request id, which may be a phone number, a mail address or a chat
// handle. What happened, when, on which channel, and what was bought (the
// aggregates other services keep) stay under the id. The customer is
// remembered as erased, and no interaction is recorded for it again.
type Erasure = merges.Erasure

// CustomerErasedError says that an interaction names a customer whose
// personal data was erased: nothing may be recorded about it any more.
type CustomerErasedError struct {
	CustomerID string
}

func (e *CustomerErasedError) Error() string {
	return "customer " + e.CustomerID + " was erased"
}
