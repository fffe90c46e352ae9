package domain

import "time"

// Reasons of ledger entries.
const (
	// ReasonPurchase marks points credited for a purchase.
	ReasonPurchase = "purchase"
	// ReasonMergeOut marks points leaving a merged customer's account.
	ReasonMergeOut = "merge_out"
	// ReasonMergeIn marks points arriving on the survivor's account from a
	// merged customer's.
	ReasonMergeIn = "merge_in"
)

// LedgerEntry is one change of a member's points. The ledger is the
// history behind the account: per account, Points add up to the balance
// and LifetimePoints to the lifetime total.
type LedgerEntry struct {
	ID         string
	CustomerID string
	// Points is the change of the balance; negative when points leave.
	Points int64
	// LifetimePoints is the change of the lifetime total: the points of a
	// purchase, or the lifetime total a merge moved.
	LifetimePoints int64
	Reason         string
	// InteractionID is the purchase's interaction; empty for transfers.
	InteractionID string
	// CounterpartID is the other account of a transfer; empty otherwise.
	CounterpartID string
	// EventID is the id of the event that caused the entry, so every entry
	// can be traced to its cause and no cause is booked twice on one
	// account.
	EventID string
	Time    time.Time
}
