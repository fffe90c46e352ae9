package domain

import "github.com/guanxi-crm/guanxi/platform/merges"

// Erasure is a customer's personal data being erased everywhere. The
// loyalty service holds none (accounts and the ledger carry ids, points and
// times only, and aggregates may stay under the id), so an erasure changes
// no account: the service records that the erasure reached it, the
// evidence an erasure audit asks of every service.
type Erasure = merges.Erasure
