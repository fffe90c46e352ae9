package domain

import (
	"errors"
	"strings"
)

// ErrNotFound is returned when a customer is not known to the service.
var ErrNotFound = errors.New("not found")

// FieldViolation names one invalid input field and what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// ValidationError carries every invalid field of an input.
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

// violations collects field violations and turns them into one error.
type violations []FieldViolation

func (v *violations) add(field, description string) {
	*v = append(*v, FieldViolation{Field: field, Description: description})
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Violations: v}
}
