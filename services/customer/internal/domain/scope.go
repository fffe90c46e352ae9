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

// Places reports whether a caller of the scope may put a customer in team:
// a limited caller only in one of their own teams, or in none (the
// customer is then theirs by owner). Otherwise an agent could hand
// customers to a team they are not in, or fill another team's list.
func (s Scope) Places(team string) bool {
	return !s.Limited || team == "" || slices.Contains(s.Teams, team)
}

// CheckPlace returns a *ScopeError naming field when the scope may not put
// a customer in team.
func (s Scope) CheckPlace(field, team string) error {
	if s.Places(team) {
		return nil
	}
	return &ScopeError{Field: field, Reason: "is a team you are not in; you may place customers only in your own teams"}
}
