package domain

import (
	"errors"
	"strings"
)

// Sentinel errors of the customer domain; adapters translate driver errors
// into them and the gRPC port maps them to status codes.
var (
	// ErrNotFound: the customer does not exist. Returned wrapped in a
	// *NotFoundError that names the id.
	ErrNotFound = errors.New("not found")
	// ErrStale: the caller's etag is not the current one, or the record
	// changed between read and write.
	ErrStale = errors.New("customer was changed by someone else; read it again")
	// ErrDuplicateRequest: a customer was already created under the same
	// request id.
	ErrDuplicateRequest = errors.New("request id already used")
)

// NotFoundError names the customer that does not exist.
type NotFoundError struct {
	ID string
}

// Error returns "customer <id> not found".
func (e *NotFoundError) Error() string {
	return "customer " + e.ID + " not found"
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound
}

// FieldViolation names one invalid field and what is wrong with it. Field is
// a domain field name, optionally indexed ("tags[2]").
type FieldViolation struct {
	Field       string
	Description string
}

// ValidationError lists every rule the input broke, so a caller fixes them
// all in one round trip.
type ValidationError struct {
	Violations []FieldViolation
}

// Add records one violation.
func (e *ValidationError) Add(field, description string) {
	e.Violations = append(e.Violations, FieldViolation{Field: field, Description: description})
}

// Err returns e when it holds violations and nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Violations) == 0 {
		return nil
	}
	return e
}

// Error lists the violations.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid customer: " + strings.Join(parts, "; ")
}
