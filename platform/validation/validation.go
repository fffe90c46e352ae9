// Package validation collects the rules an input breaks, so a caller learns
// about every bad field in one round trip. It is pure Go, free of transport
// and storage, so domain packages use it; ports turn an *Error into an
// InvalidArgument status with rpcerr.InvalidArgument.
package validation

import "strings"

// Violation names one invalid field and what is wrong with it. Field is a
// path ("purchase.total.amount_minor", "tags[2]").
type Violation struct {
	Field       string
	Description string
}

// Violations collects the violations found while validating one input. The
// zero value is empty and ready to use.
type Violations []Violation

// Add records one violation.
func (v *Violations) Add(field, description string) {
	*v = append(*v, Violation{Field: field, Description: description})
}

// Nest returns the violations with their field paths placed under prefix:
// "total" nested in "purchase" is "purchase.total". It lets a rule name
// fields relative to the value it checks and the caller say where that value
// sits in the input.
func (v Violations) Nest(prefix string) Violations {
	if len(v) == 0 {
		return nil
	}
	out := make(Violations, len(v))
	for i, x := range v {
		out[i] = Violation{Field: prefix + "." + x.Field, Description: x.Description}
	}
	return out
}

// Err returns an *Error carrying the violations, or nil when there are none,
// so a validator can end with "return v.Err()".
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Violations: v}
}

// Error is an input that breaks one or more rules.
type Error struct {
	Violations Violations
}

// Error lists the violations: "invalid input: name: is required; ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid input")
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field + ": " + v.Description)
	}
	return b.String()
}
