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

// After returns the condition selecting the rows that sort after a row
// whose values in terms' columns are values (keyset paging: a page starts
// after the last row of the one before, so a deep page reads no more rows
// than the first). terms must end with a unique column, such as the id, so
// that "after" is a strict order.
//
// When every term sorts the same way the condition is one row comparison,
// "(display_name, id) > (?, ?)", which PostgreSQL and SQLite answer with a
// range scan of an index on those columns; mixed directions expand into
// "a < ? OR (a = ? AND b > ?)".
func After(terms []OrderTerm, values []any) (string, []any) {
	if len(terms) == 0 || len(terms) != len(values) {
		// A caller's bug: the values come from a row the caller read with
		// the same terms.
		panic("aipfilter: After needs one value per term")
	}
	op := func(t OrderTerm) string {
		if t.Desc {
			return " < "
		}
		return " > "
	}
	same := !slices.ContainsFunc(terms, func(t OrderTerm) bool { return t.Desc != terms[0].Desc })
	if same {
		if len(terms) == 1 {
			return terms[0].Column + op(terms[0]) + "?", values
		}
		cols := make([]string, len(terms))
		for i, t := range terms {
			cols[i] = t.Column
		}
		marks := strings.Repeat(", ?", len(terms)-1)
		return "(" + strings.Join(cols, ", ") + ")" + op(terms[0]) + "(?" + marks + ")", values
	}
	var ors []string
	var args []any
	for i, t := range terms {
		var ands []string
		for j := range i {
			ands = append(ands, terms[j].Column+" = ?")
			args = append(args, values[j])
		}
		ands = append(ands, t.Column+op(t)+"?")
		args = append(args, values[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}
