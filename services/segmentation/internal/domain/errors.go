package domain

import "errors"

// ErrNotFound is returned when a customer is not known to the service.
var ErrNotFound = errors.New("not found")
