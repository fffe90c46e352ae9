package domain

import (
	"errors"
	"fmt"
)

// Sentinel errors of the customer domain; adapters translate driver errors
// into them and the gRPC port maps them to status codes.
var (
	// ErrNotFound: the customer (or other resource) does not exist. Returned
	// wrapped in a *NotFoundError that names it.
	ErrNotFound = errors.New("not found")
	// ErrStale: the caller's etag is not the current one, or the record
	// changed between read and write.
	ErrStale = errors.New("customer was changed by someone else; read it again")
	// ErrDuplicateRequest: a customer was already created under the same
	// request id.
	ErrDuplicateRequest = errors.New("request id already used")
	// ErrRetry: a concurrent transaction claimed one of the contacts being
	// written after they were checked; running the use case again sees who
	// holds it.
	ErrRetry = errors.New("a concurrent change claimed the same contact; try again")
)

// NotFoundError names the resource that does not exist.
type NotFoundError struct {
	// What is the kind of resource, "customer" when empty.
	What string
	ID   string
}

// Error returns "customer <id> not found".
func (e *NotFoundError) Error() string {
	what := e.What
	if what == "" {
		what = "customer"
	}
	return what + " " + e.ID + " not found"
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound
}

// StateError: the customer's state forbids the operation (it is deleted,
// erased or merged).
type StateError struct {
	ID     string
	Reason string
}

// Error returns "customer <id> <reason>".
func (e *StateError) Error() string {
	return "customer " + e.ID + " " + e.Reason
}

// DuplicateError: a contact of the customer being written already belongs
// to another customer.
type DuplicateError struct {
	// Field is the profile field holding the contact, e.g. "phone".
	Field string
	// ExistingID is the customer the contact belongs to.
	ExistingID string
	// OutOfScope says the caller may not see the existing customer: the
	// error must not name it, or an agent could learn which contacts
	// other teams' customers have and who they are.
	OutOfScope bool
}

// Error names the field and the existing customer, not the contact: error
// texts end up in logs and import reports, which must not carry personal
// data (the caller knows what it sent). A customer out of the caller's
// scope is not named.
func (e *DuplicateError) Error() string {
	if e.OutOfScope {
		return fmt.Sprintf("%s already belongs to a customer outside your teams", e.Field)
	}
	return fmt.Sprintf("%s already belongs to customer %s", e.Field, e.ExistingID)
}

// ScopeError: the caller may not do this beyond their teams, e.g. put a
// customer in another team. Field names the request field at fault.
type ScopeError struct {
	Field  string
	Reason string
}

// Error names the field and the reason.
func (e *ScopeError) Error() string { return e.Field + " " + e.Reason }

// ConflictError: the operation conflicts with the existing state of another
// resource, e.g. an external id another customer holds, or an attribute
// definition that already exists.
type ConflictError struct {
	Reason string
}

// Error returns the reason.
func (e *ConflictError) Error() string { return e.Reason }

// PreconditionError: the operation is not possible in the current state,
// e.g. removing an attribute customers still carry.
type PreconditionError struct {
	Reason string
}

// Error returns the reason.
func (e *PreconditionError) Error() string { return e.Reason }
