package domain

import "errors"

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
