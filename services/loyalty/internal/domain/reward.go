package domain

import (
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Reward is an item of a program's catalog.
type Reward struct {
	ID             string
	ProgramID      string
	Name           string
	PointsCost     int64
	Stock          int64
	UnlimitedStock bool
	MinTierCode    string
	MemberDayOnly  bool
	Start, End     time.Time
	CreateTime     time.Time
	UpdateTime     time.Time
}

// Validate checks the reward against its program, naming fields as the
// Reward message does.
func (r Reward) Validate(p Program) error {
	var vs validation.Violations
	if strings.TrimSpace(r.Name) == "" {
		vs.Add("name", "is required")
	}
	if r.PointsCost <= 0 {
		vs.Add("points_cost", "must be positive")
	}
	if r.Stock < 0 {
		vs.Add("stock", "must not be negative")
	}
	if r.MinTierCode != "" && p.Tiers[p.TierIndex(r.MinTierCode)].Code != r.MinTierCode {
		vs.Add("min_tier_code", "is not a tier of the program")
	}
	if r.MemberDayOnly && len(p.MemberDays) == 0 {
		vs.Add("member_day_only", "the program has no member days")
	}
	if !r.Start.IsZero() && !r.End.IsZero() && !r.End.After(r.Start) {
		vs.Add("end_time", "must be after start_time")
	}
	return vs.Err()
}

// CheckEligible says why member m may not redeem r at at in program p, or
// nil.
func (r Reward) CheckEligible(p Program, m Member, at time.Time) error {
	switch {
	case !r.Start.IsZero() && at.Before(r.Start), !r.End.IsZero() && !at.Before(r.End):
		return &EligibilityError{Reason: "the reward is outside its validity window"}
	case r.MinTierCode != "" && p.TierIndex(m.TierCode) < p.TierIndex(r.MinTierCode):
		return &EligibilityError{Reason: "the reward needs tier " + r.MinTierCode}
	case r.MemberDayOnly:
		if _, ok := p.MemberDayAt(at); !ok {
			return &EligibilityError{Reason: "the reward is for member days only"}
		}
	}
	return nil
}

// EligibilityError says why a member may not redeem a reward; it matches
// ErrNotEligible.
type EligibilityError struct{ Reason string }

// Error is the reason.
func (e *EligibilityError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrNotEligible) true.
func (e *EligibilityError) Is(target error) bool { return target == ErrNotEligible }

// RedemptionState is where a redemption stands.
type RedemptionState string

// Redemption states.
const (
	RedemptionActive    RedemptionState = "active"
	RedemptionCancelled RedemptionState = "cancelled"
)

// Redemption is a member spending points on a reward.
type Redemption struct {
	ID         string
	ProgramID  string
	CustomerID string
	RewardID   string
	Points     int64
	State      RedemptionState
	RequestID  string
	CreateTime time.Time
	CancelTime time.Time
}
