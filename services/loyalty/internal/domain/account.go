package domain

import (
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Tier is a member's level.
type Tier int

// Tiers, in ascending order. TierUnspecified is the zero value and never
// stored.
const (
	TierUnspecified Tier = iota
	TierNormal
	TierVIP
)

// String returns the tier's stored name.
func (t Tier) String() string {
	switch t {
	case TierNormal:
		return "NORMAL"
	case TierVIP:
		return "VIP"
	default:
		return "UNSPECIFIED"
	}
}

// ParseTier is the inverse of Tier.String for stored tiers.
func ParseTier(s string) (Tier, error) {
	switch s {
	case "NORMAL":
		return TierNormal, nil
	case "VIP":
		return TierVIP, nil
	default:
		return TierUnspecified, fmt.Errorf("unknown tier %q", s)
	}
}

// TierFor returns the tier a member with lifetime points deserves:
// lifetime points rather than the balance decide, so spending points never
// costs a member the tier they earned.
func TierFor(lifetimePoints, vipThreshold int64) Tier {
	if lifetimePoints >= vipThreshold {
		return TierVIP
	}
	return TierNormal
}

// Account is a customer's loyalty membership.
type Account struct {
	CustomerID     string
	PointsBalance  int64
	LifetimePoints int64
	Tier           Tier
	CreateTime     time.Time
	UpdateTime     time.Time
	// MergedInto is the survivor's customer id once this customer was
	// merged into another one: the account then holds no points and stands
	// for the survivor's, so events and reads naming it reach the survivor.
	MergedInto string
}

// NewAccount opens an account for a customer with no points, in TierNormal.
func NewAccount(customerID string, at time.Time) Account {
	return Account{CustomerID: customerID, Tier: TierNormal, CreateTime: at, UpdateTime: at}
}

// Credit adds earned points to the balance and the lifetime total, and
// moves the tier to what the new lifetime total deserves. It returns the
// tier before the credit so callers can tell whether it changed. Points
// must be positive.
func (a *Account) Credit(points int64, at time.Time, vipThreshold int64) (oldTier Tier, err error) {
	if points <= 0 {
		return a.Tier, fmt.Errorf("credit %d points: must be positive", points)
	}
	if a.PointsBalance > math.MaxInt64-points || a.LifetimePoints > math.MaxInt64-points {
		return a.Tier, fmt.Errorf("credit %d points: %w", points, ErrPointsOverflow)
	}
	oldTier = a.Tier
	a.PointsBalance += points
	a.LifetimePoints += points
	a.Tier = TierFor(a.LifetimePoints, vipThreshold)
	a.UpdateTime = at
	return oldTier, nil
}

// ValidateCustomerID checks that id is a UUID, reporting it as field.
func ValidateCustomerID(field, id string) error {
	var vs validation.Violations
	checkUUID(&vs, field, id)
	return vs.Err()
}

func checkUUID(vs *validation.Violations, field, id string) {
	switch {
	case id == "":
		vs.Add(field, "is required")
	case uuid.Validate(id) != nil || len(id) != 36:
		vs.Add(field, "must be a UUID")
	}
}
