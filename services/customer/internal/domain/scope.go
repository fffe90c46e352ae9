package domain

import "slices"

// Scope is which customers a caller may see and change. Agents and managers
// are limited to the customers they own or their teams own; the zero Scope
// is not limited (admins, auditors, other services).
type Scope struct {
	Limited bool
	// Owner is the caller, who sees the customers they own.
	Owner string
	// Teams are the caller's teams, whose customers they see.
	Teams []string
}

// Owns reports whether a customer of owner and team is in the scope.
func (s Scope) Owns(owner, team string) bool {
	if !s.Limited {
		return true
	}
	return (s.Owner != "" && owner == s.Owner) || (team != "" && slices.Contains(s.Teams, team))
}

// Sees reports whether c is in the scope.
func (s Scope) Sees(c Customer) bool {
	return s.Owns(c.OwnerID, c.TeamID)
}
