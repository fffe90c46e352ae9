package aipfilter

import (
	"maps"
	"slices"
	"strings"
)

// OrderTerm is one field of an order_by.
type OrderTerm struct {
	// Field is the name as the user wrote it.
	Field string
	// Column is the SQL expression the field sorts by.
	Column string
	// Desc is true for a descending sort.
	Desc bool
}

// SQL returns the term for an ORDER BY clause: "display_name DESC".
func (t OrderTerm) SQL() string {
	if t.Desc {
		return t.Column + " DESC"
	}
	return t.Column
}

// OrderBySQL joins terms for an ORDER BY clause; it is "" for no terms.
func OrderBySQL(terms []OrderTerm) string {
	s := make([]string, len(terms))
	for i, t := range terms {
		s[i] = t.SQL()
	}
	return strings.Join(s, ", ")
}

// CompileOrderBy parses an AIP-132 order_by such as
// "display_name desc, create_time": comma-separated fields from allowed
// (name -> SQL expression), each optionally followed by "asc" or "desc".
// An empty order_by yields no terms, leaving the order to the caller, who
// also appends a unique tiebreaker (such as the id) for stable paging.
//
// Errors are a *validation.Error with one violation on field "order_by".
func CompileOrderBy(orderBy string, allowed map[string]string) ([]OrderTerm, error) {
	if err := checkInput("order_by", orderBy); err != nil {
		return nil, err
	}
	if strings.TrimSpace(orderBy) == "" {
		return nil, nil
	}
	var terms []OrderTerm
	pos := 0
	for part := range strings.SplitSeq(orderBy, ",") {
		start := pos
		pos += len(part) + 1
		words := strings.Fields(part)
		if len(words) == 0 {
			return nil, invalid("order_by", orderBy, start, "expected a field name before or after the comma")
		}
		start += strings.Index(part, words[0])
		t := OrderTerm{Field: words[0]}
		column, ok := allowed[t.Field]
		if !ok {
			names := slices.Sorted(maps.Keys(allowed))
			return nil, invalid("order_by", orderBy, start, "cannot sort by %q; sortable fields: %s", t.Field, strings.Join(names, ", "))
		}
		t.Column = column
		if slices.ContainsFunc(terms, func(o OrderTerm) bool { return o.Field == t.Field }) {
			return nil, invalid("order_by", orderBy, start, "%q appears more than once", t.Field)
		}
		switch {
		case len(words) == 2 && strings.EqualFold(words[1], "desc"):
			t.Desc = true
		case len(words) == 2 && strings.EqualFold(words[1], "asc"):
		case len(words) > 1:
			return nil, invalid("order_by", orderBy, start, `expected "asc", "desc" or a comma after %q, found %q`, t.Field, strings.Join(words[1:], " "))
		}
		terms = append(terms, t)
	}
	return terms, nil
}
