package domain

import "time"

// Erasure is a customer's personal data being erased everywhere. The
// loyalty service holds none (accounts and the ledger carry ids, points and
// times only, and aggregates may stay under the id), so an erasure changes
// no account: the service records that the erasure reached it, the
// evidence an erasure audit asks of every service.
type Erasure struct {
	CustomerID string
	// EraseTime is when the customer service erased the customer.
	EraseTime time.Time
}

// Validate checks the erasure, naming fields as the CustomerErased event
// does.
func (e Erasure) Validate() error {
	return ValidateCustomerID("customer_id", e.CustomerID)
}
