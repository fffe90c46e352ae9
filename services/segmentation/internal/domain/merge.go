package domain

import (
	"github.com/guanxi-crm/guanxi/platform/merges"
)

// ErrMergeConflict means a merge contradicts an earlier one (see
// merges.ErrConflict).
var ErrMergeConflict = merges.ErrConflict

// Merge is one customer folded into another: the merged customer's
// purchases become the survivor's, so the survivor's value and class rank
// the union of both histories, and later events naming the merged customer
// count for the survivor. Its At registers a customer the service had not
// seen.
type Merge = merges.Merge

// Erasure is a customer's personal data being erased everywhere. The
// segmentation service holds none (customer ids, purchase amounts and
// times only, and aggregates may stay under the id), so an erasure changes
// no value: the service records that the erasure reached it, the evidence
// an erasure audit asks of every service.
type Erasure = merges.Erasure
