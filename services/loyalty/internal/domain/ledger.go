package domain

import "time"

// ReasonPurchase marks ledger entries credited for a purchase.
const ReasonPurchase = "purchase"

// LedgerEntry is one change of a member's points. The ledger is the
// history behind the account's balance: one row per credit.
type LedgerEntry struct {
	ID            string
	CustomerID    string
	Points        int64
	Reason        string
	InteractionID string
	// EventID is the id of the event that caused the entry, so every entry
	// can be traced to its cause and no cause is booked twice.
	EventID string
	Time    time.Time
}
