package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// MaxReasonRunes bounds the reasons callers give for changes.
const MaxReasonRunes = 500

// OwnershipChange is one change of a customer's owner or team.
type OwnershipChange struct {
	CustomerID string
	FromOwner  string
	FromTeam   string
	ToOwner    string
	ToTeam     string
	Reason     string
	Actor      string
	Time       time.Time
}

// Transfer is a request to move one owner's customers to another.
type Transfer struct {
	FromOwner string
	ToOwner   string
	// ToTeam, when empty, keeps each customer's team.
	ToTeam string
	// Filter narrows the customers moved (AIP-160); empty moves all.
	Filter string
	Reason string
}

// Normalize checks a transfer request and returns it trimmed.
func (t Transfer) Normalize() (Transfer, error) {
	var v validation.Violations
	t.FromOwner, t.ToOwner = strings.TrimSpace(t.FromOwner), strings.TrimSpace(t.ToOwner)
	if t.FromOwner == "" {
		v.Add("from_owner_id", "is required")
	}
	if t.ToOwner == "" {
		v.Add("to_owner_id", "is required: a customer can never be left without an owner")
	}
	if t.FromOwner != "" && t.FromOwner == t.ToOwner && t.ToTeam == "" {
		v.Add("to_owner_id", "is the same as from_owner_id")
	}
	for _, f := range []struct{ name, value string }{{"from_owner_id", t.FromOwner}, {"to_owner_id", t.ToOwner}, {"to_team_id", t.ToTeam}} {
		if len(f.value) > MaxIDLength {
			v.Add(f.name, fmt.Sprintf("must be at most %d bytes", MaxIDLength))
		}
	}
	checkReason(t.Reason, true, &v)
	t.ToTeam, t.Reason = strings.TrimSpace(t.ToTeam), strings.TrimSpace(t.Reason)
	return t, v.Err()
}

// Change returns the change that moves a customer owned by (owner, team)
// under t, and false when t leaves it where it is.
func (t Transfer) Change(customerID, owner, team, actor string, now time.Time) (OwnershipChange, bool) {
	toTeam := t.ToTeam
	if toTeam == "" {
		toTeam = team
	}
	if owner == t.ToOwner && team == toTeam {
		return OwnershipChange{}, false
	}
	return OwnershipChange{CustomerID: customerID, FromOwner: owner, FromTeam: team,
		ToOwner: t.ToOwner, ToTeam: toTeam, Reason: t.Reason, Actor: actor, Time: now}, true
}

func checkReason(reason string, required bool, v *validation.Violations) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(reason)); {
	case n == 0 && required:
		v.Add("reason", "is required")
	case n > MaxReasonRunes:
		v.Add("reason", fmt.Sprintf("must be at most %d characters", MaxReasonRunes))
	}
}

// CheckReason validates a free-text reason a caller gives.
func CheckReason(reason string, required bool) error {
	var v validation.Violations
	checkReason(reason, required, &v)
	return v.Err()
}
