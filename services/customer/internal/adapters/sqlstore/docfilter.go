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
// the expressions are those of the GIN indexes of migration 00003, so the
// planner can use them: (doc::jsonb) -> 'tags' and -> 'attributes'.
type docSQL struct{ dialect sqldb.Dialect }

const (
	pgTags  = `((customers.doc::jsonb) -> 'tags')`
	pgAttrs = `((customers.doc::jsonb) -> 'attributes')`
)

// anyTag is true for a customer with at least one tag.
func (d docSQL) anyTag() string {
	if d.dialect == sqldb.Postgres {
		return `COALESCE(jsonb_array_length(` + pgTags + `), 0) > 0`
	}
	return `COALESCE(json_array_length(customers.doc, '$.tags'), 0) > 0`
}

// hasTag is true for a customer tagged tag.
func (d docSQL) hasTag(tag string) (string, []any) {
	if d.dialect == sqldb.Postgres {
		return pgContains(pgTags), []any{jsonText([]string{tag})}
	}
	return `EXISTS (SELECT 1 FROM json_each(customers.doc, '$.tags') WHERE value = ?)`, []any{tag}
}

// hasAttribute is true for a customer with a value for attribute name.
func (d docSQL) hasAttribute(name string) (string, []any) {
	if d.dialect == sqldb.Postgres {
		// An empty object is contained in any value, so this asks the
		// index for the key alone.
		return pgContains(pgAttrs), []any{jsonText(map[string]any{name: map[string]any{}})}
	}
	return `json_type(customers.doc, ` + sqlString("$.attributes."+name) + `) IS NOT NULL`, nil
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
		v := `(` + pgAttrs + ` -> ` + sqlString(name) + ` ->> '` + member + `')`
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
		has, args := d.hasAttribute(def.Name)
		if v.Wildcard {
			return has, args, nil
		}
		if b, ok := v.Arg.(bool); ok {
			v = aipfilter.Value{Kind: aipfilter.String, Text: fmt.Sprint(b), Arg: fmt.Sprint(b)}
		}
		if text, ok := v.Arg.(string); ok && d.dialect == sqldb.Postgres && op == aipfilter.Equal &&
			kind == aipfilter.String && text != "" {
			// Containment finds the value through the index.
			return pgContains(pgAttrs), []any{jsonText(map[string]any{def.Name: map[string]string{"s": text}})}, nil
		}
		cond, cargs, err := aipfilter.Comparison(d.attributeValue(def.Name, def.Type), op, v)
		if err != nil {
			return "", nil, err
		}
		return "(" + has + " AND " + cond + ")", append(args, cargs...), nil
	}}
}

// pgContains is true when the JSON value expr contains the JSON argument,
// and false, not NULL, when expr is absent, so NOT works on it as it would
// on EXISTS. The planner uses the index for the first term.
func pgContains(expr string) string {
	return `(` + expr + ` @> CAST(? AS jsonb) AND ` + expr + ` IS NOT NULL)`
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
