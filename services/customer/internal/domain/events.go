package domain

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
}

// CustomerID implements Event.
func (e CustomerCreated) CustomerID() string { return e.Customer.ID }

// CustomerUpdated: a customer's profile changed.
type CustomerUpdated struct {
	// Customer is the record after the change.
	Customer Customer
	// ChangedFields lists the fields whose value changed, never empty.
	ChangedFields []Field
}

// CustomerID implements Event.
func (e CustomerUpdated) CustomerID() string { return e.Customer.ID }
