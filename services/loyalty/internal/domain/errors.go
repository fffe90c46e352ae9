package domain

import "errors"

// Sentinel errors the ports map to status codes.
var (
	// ErrNotFound means the requested resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPointsOverflow means a total would pass what an int64 holds; the
	// event carrying it can never be applied.
	ErrPointsOverflow = errors.New("points overflow")
	// ErrInsufficientPoints means the spendable balance does not cover a
	// debit.
	ErrInsufficientPoints = errors.New("insufficient points")
	// ErrOutOfStock means a reward has no unit left.
	ErrOutOfStock = errors.New("reward out of stock")
	// ErrNotEligible means the member may not redeem the reward (tier,
	// member day, validity window, program).
	ErrNotEligible = errors.New("not eligible")
	// ErrConflict means the request contradicts the resource's state, such
	// as cancelling a cancelled redemption.
	ErrConflict = errors.New("conflict")
	// ErrMergeConflict means a merge contradicts an earlier one.
	ErrMergeConflict = errors.New("merge conflicts with an earlier merge")
)

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
