package domain

import (
	"errors"
	"strings"
)

// ErrNotFound means the requested account does not exist.
var ErrNotFound = errors.New("not found")

// ErrPointsOverflow means a credit would push a points total past what an
// int64 holds; the event carrying it can never be applied.
var ErrPointsOverflow = errors.New("points overflow")

// FieldViolation names one invalid input field (by its API path, e.g.
// "total.currency_code") and what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// ValidationError carries every field violation found in an input, so a
// caller can fix them all at once.
type ValidationError struct {
	Violations []FieldViolation
}

// Error lists the violations.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// violations collects field violations and yields a *ValidationError only
// when there is at least one, so callers can return it unconditionally.
type violations []FieldViolation

func (vs *violations) add(field, description string) {
	*vs = append(*vs, FieldViolation{Field: field, Description: description})
}

func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

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
