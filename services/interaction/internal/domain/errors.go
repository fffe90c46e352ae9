package domain

import (
	"errors"
	"strings"
)

// ErrNotFound is returned when a resource does not exist.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned by a store when an insert collides with an
// existing interaction on its request id or its (source, source_id): the
// caller then returns the existing one.
var ErrDuplicate = errors.New("duplicate interaction")

// ErrUnavailable is returned when a service this one depends on cannot be
// reached; the caller may retry.
var ErrUnavailable = errors.New("dependency unavailable")

// CustomerNotFoundError says that an interaction names a customer the
// customer service does not know.
type CustomerNotFoundError struct {
	CustomerID string
}

func (e *CustomerNotFoundError) Error() string {
	return "customer " + e.CustomerID + " not found"
}

// Is makes errors.Is(err, ErrNotFound) hold for a missing customer.
func (e *CustomerNotFoundError) Is(target error) bool { return target == ErrNotFound }

// Violation names one invalid field and what is wrong with it.
type Violation struct {
	Field       string
	Description string
}

// Violations collects the violations found while validating one input, so a
// caller learns about every bad field at once.
type Violations []Violation

// Add records one violation.
func (v *Violations) Add(field, description string) {
	*v = append(*v, Violation{Field: field, Description: description})
}

// Nest returns the violations with their field paths placed under prefix:
// "total" nested in "purchase" is "purchase.total".
func (v Violations) Nest(prefix string) Violations {
	out := make(Violations, len(v))
	for i, x := range v {
		out[i] = Violation{Field: prefix + "." + x.Field, Description: x.Description}
	}
	return out
}

// Err returns a *ValidationError carrying the violations, or nil when there
// are none.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Violations: v}
}

// ValidationError is an input that breaks the domain's rules.
type ValidationError struct {
	Violations Violations
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid interaction: " + strings.Join(parts, "; ")
}
