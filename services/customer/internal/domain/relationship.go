package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// RelationshipType is how two customers relate.
type RelationshipType int

// The relationship types; each reads "from <type> to".
const (
	RelUnspecified RelationshipType = iota
	RelWorksAt
	RelDistributorOf
	RelPartnerOf
)

var relNames = []string{"unspecified", "works_at", "distributor_of", "partner_of"}

// String returns the lowercase name of t, which is also its stored form.
func (t RelationshipType) String() string { return enumName(relNames, int(t), "RelationshipType") }

// ParseRelationshipType reads a stored relationship type name.
func ParseRelationshipType(s string) (RelationshipType, bool) {
	return parseEnum[RelationshipType](relNames, s)
}

// Relationship links two customers.
type Relationship struct {
	ID         string
	FromID     string
	ToID       string
	Type       RelationshipType
	Role       string
	CreateTime time.Time
}

// NewRelationship checks a relationship between from and to and returns it
// normalized. A person works at an organization; distributors and partners
// are of an organization.
func NewRelationship(id string, r Relationship, from, to Customer, now time.Time) (Relationship, error) {
	var v validation.Violations
	r.Role = strings.TrimSpace(r.Role)
	if utf8.RuneCountInString(r.Role) > MaxTagRunes {
		v.Add("role", fmt.Sprintf("must be at most %d characters", MaxTagRunes))
	}
	switch {
	case r.Type <= RelUnspecified || int(r.Type) >= len(relNames):
		v.Add("type", "is required: one of WORKS_AT, DISTRIBUTOR_OF, PARTNER_OF")
	case from.ID == to.ID:
		v.Add("to_customer_id", "must differ from from_customer_id")
	case r.Type == RelWorksAt && from.Type != TypePerson:
		v.Add("from_customer_id", "must be a person to work at an organization")
	case to.Type != TypeOrganization:
		v.Add("to_customer_id", "must be an organization")
	}
	if err := v.Err(); err != nil {
		return Relationship{}, err
	}
	for _, c := range []Customer{from, to} {
		if err := c.checkWritable(); err != nil {
			return Relationship{}, err
		}
	}
	r.ID, r.FromID, r.ToID, r.CreateTime = id, from.ID, to.ID, now
	return r, nil
}
