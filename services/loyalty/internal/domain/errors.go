package domain

import "errors"

// ErrNotFound means the requested account does not exist.
var ErrNotFound = errors.New("not found")

// ErrPointsOverflow means a credit would push a points total past what an
// int64 holds; the event carrying it can never be applied.
var ErrPointsOverflow = errors.New("points overflow")

// AccountNotFoundError says a customer has no loyalty account. It matches
// ErrNotFound with errors.Is and names the customer for the caller.
type AccountNotFoundError struct {
	CustomerID string
}

// Error names the missing account.
func (e *AccountNotFoundError) Error() string {
	return "loyalty account for customer " + e.CustomerID + " not found"
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *AccountNotFoundError) Is(target error) bool { return target == ErrNotFound }
