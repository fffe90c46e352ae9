package domain

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

// MemberStatus is where a membership stands.
type MemberStatus string

// Member statuses.
const (
	MemberActive MemberStatus = "active"
	// MemberMerged memberships belong to customers merged into another;
	// their history moved to the survivor's membership, which MergedInto
	// names, and events naming them reach the survivor.
	MemberMerged MemberStatus = "merged"
)

// Member is a customer's membership of a program. Its points are not
// stored here: the ledger holds them.
type Member struct {
	ProgramID  string
	CustomerID string
	Number     string
	Status     MemberStatus
	TierCode   string
	TierSince  time.Time
	// GraceUntil is set when a review found the member short of their
	// tier: they keep it until then. Zero when not in grace.
	GraceUntil time.Time
	MergedInto string
	// ExpiredThrough is the expiry time up to which the expiry job has
	// expired this member's points.
	ExpiredThrough time.Time
	JoinTime       time.Time
	UpdateTime     time.Time
}

// NewMember is a customer joining program p at at with member number n, in
// the program's first tier.
func NewMember(p Program, customerID string, n int64, at time.Time) Member {
	return Member{
		ProgramID: p.ID, CustomerID: customerID, Number: fmt.Sprintf("%010d", n), Status: MemberActive,
		TierCode: p.Tier(0).Code, TierSince: at, JoinTime: at, UpdateTime: at,
	}
}

// TierChange is a member moving from one tier to another.
type TierChange struct {
	From, To int
}

// Changed reports whether the tier moved.
func (c TierChange) Changed() bool { return c.From != c.To }

// Upgrade lifts the member at once to the qualified tier when it is above
// theirs; a member who qualifies again also leaves grace.
func (m *Member) Upgrade(p Program, qualified int, at time.Time) TierChange {
	cur := p.TierIndex(m.TierCode)
	if qualified >= cur && !m.GraceUntil.IsZero() {
		m.GraceUntil = time.Time{}
		m.UpdateTime = at
	}
	if qualified <= cur {
		return TierChange{cur, cur}
	}
	m.TierCode, m.TierSince, m.UpdateTime = p.Tier(qualified).Code, at, at
	return TierChange{cur, qualified}
}

// Review is the periodic tier review at at: a member short of their tier
// enters grace for the program's grace days (keeping the tier), and is
// moved down to what they qualify for once a review finds the grace over
// and them still short. A member who qualifies leaves grace (and goes up,
// as Upgrade would).
func (m *Member) Review(p Program, qualified int, at time.Time) TierChange {
	cur := p.TierIndex(m.TierCode)
	if qualified >= cur {
		return m.Upgrade(p, qualified, at)
	}
	if m.GraceUntil.IsZero() && p.TierGraceDays > 0 {
		m.GraceUntil, m.UpdateTime = at.AddDate(0, 0, p.TierGraceDays), at
		return TierChange{cur, cur}
	}
	if !m.GraceUntil.IsZero() && at.Before(m.GraceUntil) {
		return TierChange{cur, cur}
	}
	m.TierCode, m.TierSince, m.GraceUntil, m.UpdateTime = p.Tier(qualified).Code, at, time.Time{}, at
	return TierChange{cur, qualified}
}

// Merge is one customer folded into another by the customer service: the
// merged customer's membership in every program folds into the
// survivor's (see app's MergeAccounts).
type Merge = merges.Merge

// ValidateCustomerID checks that id is a UUID, reporting it as field.
func ValidateCustomerID(field, id string) error {
	var vs validation.Violations
	checkUUID(&vs, field, id)
	return vs.Err()
}

// ValidateID is ValidateCustomerID for any resource id.
func ValidateID(field, id string) error { return ValidateCustomerID(field, id) }

func checkUUID(vs *validation.Violations, field, id string) {
	switch {
	case id == "":
		vs.Add(field, "is required")
	case uuid.Validate(id) != nil || len(id) != 36:
		vs.Add(field, "must be a UUID")
	}
}
