package domain

import "errors"

// ErrNotFound is returned when a resource does not exist.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned by a store when an insert collides with an
// existing interaction on its request id, its (source, source_id) or, for
// a purchase, its OrderKey: the caller then returns the existing one.
var ErrDuplicate = errors.New("duplicate interaction")

// ErrConflict is returned when a resource to create already exists.
var ErrConflict = errors.New("already exists")

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
