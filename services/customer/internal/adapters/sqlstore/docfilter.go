package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// docSQL writes the conditions that read tags and attributes out of
// customers.doc (see doc) in one database's JSON functions. On PostgreSQL
// a tag, or an attribute's text, is looked up in the GIN index on
// customers.facets (see facets) instead.
type docSQL struct{ dialect sqldb.Dialect }

// pgDoc is the document as JSON.
const pgDoc = `(customers.doc::jsonb)`

// pgContains is true when the document contains the JSON argument.
const pgContains = pgDoc + ` @> CAST(? AS jsonb)`

// pgHasFacet is true when the customer has the facet argument.
const pgHasFacet = `customers.facets @> CAST(? AS text[])`

// anyTag is true for a customer with at least one tag.
func (d docSQL) anyTag() string {
	if d.dialect == sqldb.Postgres {
		return `COALESCE(jsonb_array_length(` + pgDoc + ` -> 'tags'), 0) > 0`
	}
	return `COALESCE(json_array_length(customers.doc, '$.tags'), 0) > 0`
}

// hasTag is true for a customer tagged tag.
func (d docSQL) hasTag(tag string) (string, []any) {
	if d.dialect == sqldb.Postgres {
		return pgHasFacet, []any{[]string{tagFacet(tag)}}
	}
	return `EXISTS (SELECT 1 FROM json_each(customers.doc, '$.tags') WHERE value = ?)`, []any{tag}
}

// hasAttribute is true for a customer with a value for def. On PostgreSQL
// it asks for the value's type, which doc always holds.
func (d docSQL) hasAttribute(def domain.AttributeDefinition) (string, []any) {
	if d.dialect == sqldb.Postgres {
		return pgContains, []any{attributeDoc(def.Name, "type", def.Type.String())}
	}
	return `json_type(customers.doc, ` + sqlString("$.attributes."+def.Name) + `) IS NOT NULL`, nil
}

// attributeDoc is {"attributes": {name: {member: value}}} as JSON.
func attributeDoc(name, member string, value any) string {
	return jsonText(map[string]any{"attributes": map[string]any{name: map[string]any{member: value}}})
}

// attributeValue is the expression for attribute name's value of type t,
// as the filters compare it: numbers as numbers, booleans as 'true' or
// 'false', the rest as their text (dates YYYY-MM-DD). doc leaves zero
// values out, so a missing member reads as its zero.
func (d docSQL) attributeValue(name string, t domain.AttributeType) string {
	member := "s"
	switch t {
	case domain.AttrNumber:
		member = "n"
	case domain.AttrBool:
		member = "b"
	}
	if d.dialect == sqldb.Postgres {
		v := `(` + pgDoc + ` -> 'attributes' -> ` + sqlString(name) + ` ->> '` + member + `')`
		switch t {
		case domain.AttrNumber:
			return `COALESCE(CAST(` + v + ` AS DOUBLE PRECISION), 0)`
		case domain.AttrBool:
			return `COALESCE(` + v + `, 'false')`
		}
		return `COALESCE(` + v + `, '')`
	}
	v := `json_extract(customers.doc, ` + sqlString("$.attributes."+name+"."+member) + `)`
	switch t {
	case domain.AttrNumber:
		return `COALESCE(` + v + `, 0)`
	case domain.AttrBool:
		return `CASE WHEN ` + v + ` THEN 'true' ELSE 'false' END`
	}
	return `COALESCE(` + v + `, '')`
}

// attributeField compares a declared attribute's value; customers without
// the attribute match no comparison.
func (d docSQL) attributeField(def domain.AttributeDefinition) aipfilter.Field {
	kind := aipfilter.String
	switch def.Type {
	case domain.AttrNumber:
		kind = aipfilter.Number
	case domain.AttrBool:
		kind = aipfilter.Bool
	}
	return aipfilter.Field{Kind: kind, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
		has, args := d.hasAttribute(def)
		if v.Wildcard {
			return has, args, nil
		}
		if b, ok := v.Arg.(bool); ok {
			v = aipfilter.Value{Kind: aipfilter.String, Text: fmt.Sprint(b), Arg: fmt.Sprint(b)}
		}
		if text, ok := v.Arg.(string); ok && d.dialect == sqldb.Postgres && op == aipfilter.Equal &&
			textLike(def.Type) && text != "" {
			return pgHasFacet, []any{[]string{attributeFacet(def.Name, text)}}, nil
		}
		cond, cargs, err := aipfilter.Comparison(d.attributeValue(def.Name, def.Type), op, v)
		if err != nil {
			return "", nil, err
		}
		return "(" + has + " AND " + cond + ")", append(args, cargs...), nil
	}}
}

// jsonText is v as JSON; v is built here from strings and maps, which
// always encode.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sqlString quotes s as an SQL string literal. Attribute names are
// lowercase letters, digits and underscores, so they need no escaping in a
// JSON path; the quoting keeps any name from reaching the SQL unquoted.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
