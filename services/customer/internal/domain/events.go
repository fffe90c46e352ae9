package domain

import "time"

// Event is a fact about a customer that other services learn of. Events are
// written in the same transaction as the change they describe.
type Event interface {
	// CustomerID is the aggregate the event belongs to; events of one
	// customer keep their order.
	CustomerID() string
}

// CustomerCreated: a customer was created.
type CustomerCreated struct {
	Customer Customer
	// Imported marks customers taken over by an import, whom nobody
	// should greet as new.
	Imported bool
}

// CustomerUpdated: a customer's profile changed.
type CustomerUpdated struct {
	// Customer is the record after the change.
	Customer Customer
	// ChangedFields lists the fields whose value changed, never empty.
	ChangedFields []Field
}

// CustomerDeleted: a customer was soft-deleted.
type CustomerDeleted struct {
	ID         string
	DeleteTime time.Time
}

// CustomerUndeleted: a soft-deleted customer was restored.
type CustomerUndeleted struct {
	Customer Customer
}

// CustomerErased: a customer's personal data was removed for good.
type CustomerErased struct {
	ID        string
	EraseTime time.Time
}

// CustomerMerged: MergedID was folded into Survivor.
type CustomerMerged struct {
	MergedID string
	Survivor Customer
}

// ConsentChanged: the customer's answer for a channel changed.
type ConsentChanged struct {
	ID      string
	Consent Consent
}

// OwnershipChanged: a customer's owner or team changed.
type OwnershipChanged struct {
	Change OwnershipChange
}

// CustomerID implements Event.
func (e CustomerCreated) CustomerID() string { return e.Customer.ID }

// CustomerID implements Event.
func (e CustomerUpdated) CustomerID() string { return e.Customer.ID }

// CustomerID implements Event.
func (e CustomerDeleted) CustomerID() string { return e.ID }

// CustomerID implements Event.
func (e CustomerUndeleted) CustomerID() string { return e.Customer.ID }

// CustomerID implements Event.
func (e CustomerErased) CustomerID() string { return e.ID }

// CustomerID implements Event; a merge belongs to the survivor.
func (e CustomerMerged) CustomerID() string { return e.Survivor.ID }

// CustomerID implements Event.
func (e ConsentChanged) CustomerID() string { return e.ID }

// CustomerID implements Event.
func (e OwnershipChanged) CustomerID() string { return e.Change.CustomerID }
