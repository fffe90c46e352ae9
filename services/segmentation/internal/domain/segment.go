package domain

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Segment is a named rule segment: the customers whose values and profile
// match Filter, an AIP-160 expression such as
// `abc_class = "A" AND p_alive < 0.5`.
type Segment struct {
	ID          string
	Name        string
	Description string
	Filter      string
	MemberCount int64
	CreateTime  time.Time
	UpdateTime  time.Time
	Etag        string
}

// Limits on segment fields.
const (
	MaxSegmentNameLength        = 100
	MaxSegmentDescriptionLength = 1000
)

// Validate checks the fields a caller sets; the filter's syntax and fields
// are checked when it is compiled against the store's schema.
func (s Segment) Validate() error {
	var v validation.Violations
	switch name := strings.TrimSpace(s.Name); {
	case name == "":
		v.Add("segment.name", "is required")
	case name != s.Name:
		v.Add("segment.name", "must not start or end with spaces")
	case utf8.RuneCountInString(s.Name) > MaxSegmentNameLength:
		v.Add("segment.name", "must be at most 100 characters")
	case !utf8.ValidString(s.Name):
		v.Add("segment.name", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s.Description) > MaxSegmentDescriptionLength || !utf8.ValidString(s.Description) {
		v.Add("segment.description", "must be valid UTF-8 of at most 1000 characters")
	}
	if strings.TrimSpace(s.Filter) == "" {
		v.Add("segment.filter", "is required")
	}
	return v.Err()
}

// MembershipChanged is the domain event raised when a customer enters
// (Member true) or leaves a segment.
type MembershipChanged struct {
	SegmentID   string
	SegmentName string
	CustomerID  string
	Member      bool
}
