package domain

import (
	"errors"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ErrNotFound is returned when a customer, segment or model fit is not
// known to the service.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change was made against stale state: an
// etag that no longer matches.
var ErrConflict = errors.New("conflict")

// ErrAlreadyExists is returned when a unique name is taken.
var ErrAlreadyExists = errors.New("already exists")

// ErrFailedPrecondition is returned when the data cannot support the
// request, such as fitting the models on too few customers.
var ErrFailedPrecondition = errors.New("failed precondition")

func fieldError(field, description string) error {
	return validation.Violations{{Field: field, Description: description}}.Err()
}
