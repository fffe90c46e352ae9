package aipfilter

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compile turns filter into a SQL condition with `?` placeholders and its
// arguments. An empty or all-blank filter yields "" and no arguments: the
// caller adds no condition. A non-empty result is safe to combine with
// other conditions by AND without further parentheses.
//
// Errors in the filter are a *validation.Error with one violation on field
// "filter". A Schema mistake (a field with no Column, Has or Compare, a
// hook whose placeholders and arguments differ in number) is a plain error.
func Compile(filter string, s Schema) (where string, args []any, err error) {
	if err := checkInput("filter", filter); err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(filter) == "" {
		return "", nil, nil
	}
	tree, err := parse(filter)
	if err != nil {
		return "", nil, err
	}
	c := &compiler{schema: s, input: filter}
	if err := c.node(tree); err != nil {
		return "", nil, err
	}
	return c.sql.String(), c.args, nil
}

type compiler struct {
	schema Schema
	input  string
	sql    strings.Builder
	args   []any
}

func (c *compiler) node(n node) error {
	switch n := n.(type) {
	case andNode:
		return c.list(" AND ", n)
	case orNode:
		return c.list(" OR ", n)
	case notNode:
		if _, ok := n.x.(*restriction); !ok {
			c.sql.WriteString("NOT ")
			return c.node(n.x)
		}
		c.sql.WriteString("NOT (")
		if err := c.node(n.x); err != nil {
			return err
		}
		c.sql.WriteString(")")
		return nil
	case *restriction:
		return c.restriction(n)
	}
	return fmt.Errorf("aipfilter: unexpected node %T", n)
}

// list writes nodes joined by sep in parentheses.
func (c *compiler) list(sep string, nodes []node) error {
	c.sql.WriteString("(")
	for i, n := range nodes {
		if i > 0 {
			c.sql.WriteString(sep)
		}
		if err := c.node(n); err != nil {
			return err
		}
	}
	c.sql.WriteString(")")
	return nil
}

func (c *compiler) restriction(r *restriction) error {
	f, ok := c.schema.lookup(r.path)
	if !ok {
		return c.unknownField(r)
	}
	kind := f.Kind
	if kind == Untyped {
		kind = literalKind(r.value, r.op)
	}
	if msg := checkOp(f, kind, r); msg != "" {
		return invalid("filter", c.input, r.pos, "%s", msg)
	}
	v, msg, err := convert(f, kind, r)
	if err != nil {
		return err
	}
	if msg != "" {
		return invalid("filter", c.input, r.valuePos, "%s", msg)
	}
	var (
		cond string
		args []any
		hook = true
	)
	switch {
	case f.Compare != nil:
		if cond, args, err = f.Compare(r.op, v); err != nil {
			return invalid("filter", c.input, r.pos, "%s: %v", r.path, err)
		}
	case r.op == Has && f.Has != nil:
		cond, args = f.Has(v)
	case f.Column != "":
		hook = false
		if cond, args, err = Comparison(f.Column, r.op, v); err != nil {
			return invalid("filter", c.input, r.pos, "%s: %v", r.path, err)
		}
	case f.Has != nil:
		return invalid("filter", c.input, r.pos, `%s supports only ":" (has), as in %s:"value"`, r.path, r.path)
	default:
		return fmt.Errorf("aipfilter: field %q has no Column, Has or Compare", r.path)
	}
	if hook {
		if n := strings.Count(cond, "?"); cond == "" || n != len(args) {
			return fmt.Errorf("aipfilter: field %q: hook returned %q with %d placeholders for %d arguments", r.path, cond, n, len(args))
		}
		cond = "(" + cond + ")"
	}
	c.sql.WriteString(cond)
	c.args = append(c.args, args...)
	return nil
}

func (c *compiler) unknownField(r *restriction) error {
	known := slices.Sorted(maps.Keys(c.schema.Fields))
	if c.schema.DynamicHelp != "" {
		known = append(known, c.schema.DynamicHelp)
	}
	return invalid("filter", c.input, r.pos, "unknown field %q; known fields: %s", r.path, strings.Join(known, ", "))
}

// convert converts the restriction's value to kind. msg says what is wrong
// with the user's value; err is a mistake in the Field.
func convert(f Field, kind Kind, r *restriction) (v Value, msg string, err error) {
	v = r.value
	v.Kind = kind
	if v.Wildcard {
		return v, "", nil
	}
	bad := func(want string) (Value, string, error) {
		return v, fmt.Sprintf("%s expects %s, got %q", r.path, want, v.Text), nil
	}
	switch v.Kind {
	case String:
		v.Arg = v.Text
	case Number:
		n, ok := parseNumber(v.Text)
		if !ok {
			return bad("a number")
		}
		v.Arg = n
	case Bool:
		if v.Text != "true" && v.Text != "false" {
			return bad("true or false")
		}
		v.Arg = v.Text == "true"
	case Timestamp:
		t, err := time.Parse(time.RFC3339Nano, v.Text)
		if err != nil {
			return bad(`an RFC 3339 timestamp such as "2025-01-01T00:00:00Z"`)
		}
		v.Arg = t.UnixMicro()
	case Enum:
		stored, ok := f.enum(v.Text)
		if !ok {
			if len(f.EnumNames) == 0 {
				return v, fmt.Sprintf("%q is not a valid %s", v.Text, r.path), nil
			}
			return bad("one of " + strings.Join(f.EnumNames, ", "))
		}
		v.Arg = stored
	default:
		return v, "", fmt.Errorf("aipfilter: field %q has unknown kind %v", r.path, f.Kind)
	}
	return v, "", nil
}

func (f Field) enum(name string) (string, bool) {
	if f.Enum != nil {
		return f.Enum(name)
	}
	return name, slices.Contains(f.EnumNames, name)
}

// literalKind is the kind of an Untyped field's value: `:` is a substring
// match, so its value is text whatever it looks like.
func literalKind(v Value, op Op) Kind {
	switch {
	case v.Quoted || op == Has:
		return String
	case v.Text == "true" || v.Text == "false":
		return Bool
	}
	if _, ok := parseNumber(v.Text); ok {
		return Number
	}
	return String
}

// parseNumber returns an int64, or a float64 for numbers with a fraction or
// beyond int64; infinities and NaN are not numbers a filter can mean.
func parseNumber(s string) (any, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	return f, true
}

// checkOp says why op cannot apply to a field of kind k, or "" when it can.
func checkOp(f Field, k Kind, r *restriction) string {
	switch {
	case r.value.Wildcard || (r.op == Has && f.Has != nil):
		return ""
	case k == Number || k == Timestamp:
		if r.op == Has {
			return fmt.Sprintf(`%s does not support ":"; compare it with =, !=, <, <=, > or >=`, r.path)
		}
	case k == Bool || k == Enum:
		if r.op != Equal && r.op != NotEqual {
			return fmt.Sprintf("%s supports only = and !=, found %s", r.path, r.op)
		}
	}
	return ""
}

// Comparison returns the condition comparing the SQL expression column with
// v by op, as Compile does for a Field with a Column; Compare hooks use it
// to compare the columns they choose.
//
// `:` on a String is a substring match, case-insensitive for letters that
// both databases lower-case alike (see Contains); `field:*` is true when
// the column is not NULL, and for a String also not empty. Fractional
// numbers are compared as DOUBLE PRECISION, so they work against integer
// columns on PostgreSQL too.
func Comparison(column string, op Op, v Value) (sql string, args []any, err error) {
	switch {
	case v.Wildcard && v.Kind == String:
		return "(" + column + " IS NOT NULL AND " + column + " <> '')", nil, nil
	case v.Wildcard:
		return column + " IS NOT NULL", nil, nil
	case op == Has && v.Kind == String:
		sql, args := Contains(column, v.Text)
		return sql, args, nil
	case op == Has:
		return "", nil, fmt.Errorf(`":" applies only to text, not to a %s`, v.Kind)
	case !slices.Contains([]Op{Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual}, op):
		return "", nil, fmt.Errorf("unknown comparator %q", op)
	}
	if f, ok := v.Arg.(float64); ok {
		return column + " " + op.SQL() + " CAST(? AS DOUBLE PRECISION)", []any{f}, nil
	}
	if v.Arg == nil {
		return "", nil, errors.New("the value has no SQL argument")
	}
	return column + " " + op.SQL() + " ?", []any{v.Arg}, nil
}

// Contains returns the condition that the text in column contains needle,
// ignoring case: `LOWER(column) LIKE ? ESCAPE '\'` with needle lower-cased
// and its % and _ escaped. ASCII letters match in any case on both
// databases; other scripts (Chinese has no case) match as stored, except
// that PostgreSQL also folds accented capitals where SQLite does not.
func Contains(column, needle string) (sql string, args []any) {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "LOWER(" + column + `) LIKE ? ESCAPE '\'`, []any{"%" + r.Replace(strings.ToLower(needle)) + "%"}
}
