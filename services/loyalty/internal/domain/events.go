package domain

import "time"

// Event is a domain event the loyalty service publishes. Events are
// published inside the transaction that made the change (transactional
// outbox), so they exist exactly when the change does.
type Event interface {
	isEvent()
}

// PointsEarned says a member was credited points.
type PointsEarned struct {
	ProgramID     string
	CustomerID    string
	Points        int64
	PointsBalance int64
	InteractionID string
	Cause         string
}

// TierChanged says a member moved to another tier.
type TierChanged struct {
	ProgramID  string
	CustomerID string
	Old, New   TierDef
}

// PointsExpiring says a member's points expire soon.
type PointsExpiring struct {
	ProgramID     string
	CustomerID    string
	Points        int64
	ExpireTime    time.Time
	PointsBalance int64
}

// ProgramChanged says a program was created or its rules changed (or,
// at start, restates it): it carries the program as it now is.
type ProgramChanged struct {
	Program Program
}

// MemberEnrolled says a customer joined a program, in its entry tier.
type MemberEnrolled struct {
	ProgramID  string
	CustomerID string
	Tier       TierDef
}

func (ProgramChanged) isEvent() {}
func (MemberEnrolled) isEvent() {}
func (PointsEarned) isEvent()   {}
func (TierChanged) isEvent()    {}
func (PointsExpiring) isEvent() {}
