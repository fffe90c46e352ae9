// Package aipfilter turns the AIP-160 `filter` and AIP-132 `order_by`
// strings of List methods into SQL fragments with `?` placeholders that run
// on SQLite and PostgreSQL alike (sqldb rebinds them for PostgreSQL).
//
// Compilation is driven by a Schema the caller declares: only its fields
// can be filtered on, each value is checked against the field's Kind before
// it reaches the database, and every problem comes back as a
// *validation.Error naming the position in the input, so a List method
// turns it into InvalidArgument as it does any other bad request.
//
//	where, args, err := aipfilter.Compile(`kind = DISTRIBUTOR AND tags:"vip"`, schema)
//
// Supported syntax (https://google.aip.dev/160): AND, OR (which binds
// tighter than AND), NOT and a leading `-`, parentheses, implicit AND
// between adjacent terms, the comparators = != < <= > >= and `:` (has),
// single- or double-quoted strings with backslash escapes, bare words,
// numbers, true/false, RFC 3339 timestamps (quoted, as they contain `:`),
// dotted field paths, and `field:*` (presence). Functions, bare search
// terms without a field and value lists such as `a = (x OR y)` are
// rejected with an explanation.
package aipfilter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Limits on the input, so a request cannot make the parser or the database
// do unbounded work.
const (
	// MaxLength is the longest filter or order_by accepted, in bytes.
	MaxLength = 2000
	// MaxDepth is how deeply parentheses may nest.
	MaxDepth = 20
)

// Kind is the type of a filterable field; the compiler converts and checks
// each value against it.
type Kind int

// The kinds of field.
const (
	// Untyped fields take the kind of the literal: a quoted string is a
	// String, an unquoted true/false a Bool, an unquoted number a Number,
	// anything else a String. It suits fields whose type is only known to
	// a Compare hook.
	Untyped Kind = iota
	// String values compare as text; `:` is a substring match.
	String
	// Number values are int64, or float64 when they have a fraction.
	Number
	// Bool values are true or false; only = and != apply. The column must
	// be BOOLEAN, as PostgreSQL will not compare an integer with a bool.
	Bool
	// Timestamp values are RFC 3339 strings, passed to SQL as unix
	// microseconds (the storage form of sqldb.Micros).
	Timestamp
	// Enum values are names mapped to their stored form by Field.Enum;
	// only = and != apply.
	Enum
)

var kindNames = [...]string{"untyped", "string", "number", "bool", "timestamp", "enum"}

// String returns the lowercase name of k.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Op is a comparator as written in a filter.
type Op string

// The comparators.
const (
	Equal        Op = "="
	NotEqual     Op = "!="
	Less         Op = "<"
	LessEqual    Op = "<="
	Greater      Op = ">"
	GreaterEqual Op = ">="
	// Has is `:`: substring on strings, membership on repeated fields,
	// presence with `field:*`.
	Has Op = ":"
)

// SQL returns the SQL comparison operator for op; Has has none and yields "".
func (op Op) SQL() string {
	switch op {
	case Has:
		return ""
	case NotEqual:
		return "<>"
	default:
		return string(op)
	}
}

// Value is the right-hand side of a restriction, converted to the field's
// Kind. Hooks receive it; Comparison turns it into SQL for a column.
type Value struct {
	// Text is the literal as written, without quotes and with escapes
	// resolved.
	Text string
	// Quoted reports whether the literal was a quoted string.
	Quoted bool
	// Wildcard is true for the unquoted `*` of `field:*`: the restriction
	// asks whether the field is set at all, and Arg is nil.
	Wildcard bool
	// Kind is the field's kind, or for an Untyped field the literal's.
	Kind Kind
	// Arg is the SQL argument: a string for String and Enum (the stored
	// form), int64 or float64 for Number, bool for Bool, int64 unix
	// microseconds for Timestamp.
	Arg any
}

// Field declares one filterable field. Set Column for a plain column; Has
// for a repeated field (tags:"vip"); Compare when the SQL depends on the
// comparator and value in ways a column cannot express.
type Field struct {
	// Kind is the type of the field's values.
	Kind Kind
	// Column is the SQL expression compared with the value, such as
	// "customers.display_name".
	Column string
	// Enum maps a name as users write it ("DISTRIBUTOR" or
	// "CUSTOMER_KIND_DISTRIBUTOR") to the stored value. When nil, an Enum
	// field accepts exactly the EnumNames and stores them as written.
	Enum func(name string) (stored string, ok bool)
	// EnumNames are the names offered in the error for an unknown value.
	EnumNames []string
	// Has builds the condition for `field:value` on a repeated field, as
	// `EXISTS (SELECT 1 FROM tags t WHERE t.owner = x.id AND t.tag = ?)`.
	// v.Wildcard asks whether the field has any element. Without Column
	// or Compare a Has field accepts only `:`.
	Has func(v Value) (sql string, args []any)
	// Compare builds the condition for every restriction on the field,
	// taking the place of Column and Has. The value is already converted
	// to Kind and the comparator checked against it; an error it returns
	// is shown to the user as what is wrong with the restriction.
	Compare func(op Op, v Value) (sql string, args []any, err error)
}

// Schema is the set of fields a filter may use.
type Schema struct {
	// Fields are the fields by path ("display_name", "address.city").
	Fields map[string]Field
	// Dynamic resolves paths missing from Fields, such as
	// "attributes.city", whose names are only known at run time.
	Dynamic func(path string) (Field, bool)
	// DynamicHelp describes the paths Dynamic accepts, such as
	// "attributes.<name>", for the unknown-field error.
	DynamicHelp string
}

func (s Schema) lookup(path string) (Field, bool) {
	if f, ok := s.Fields[path]; ok {
		return f, true
	}
	if s.Dynamic != nil {
		return s.Dynamic(path)
	}
	return Field{}, false
}

// invalid returns the *validation.Error for a problem at byte offset pos
// of input.
func invalid(field, input string, pos int, format string, args ...any) error {
	var v validation.Violations
	v.Add(field, fmt.Sprintf("position %d: ", charPos(input, pos))+fmt.Sprintf(format, args...))
	return v.Err()
}

// charPos turns a byte offset into the 1-based character position users
// see, which counts a Chinese character as one.
func charPos(input string, pos int) int {
	return utf8.RuneCountInString(input[:min(pos, len(input))]) + 1
}

// checkInput applies the limits shared by filter and order_by.
func checkInput(field, input string) error {
	var v validation.Violations
	switch {
	case len(input) > MaxLength:
		v.Add(field, fmt.Sprintf("must be at most %d bytes long, got %d", MaxLength, len(input)))
	case !utf8.ValidString(input):
		v.Add(field, "must be valid UTF-8")
	case strings.ContainsRune(input, 0):
		// PostgreSQL text cannot hold NUL, so it could never match.
		v.Add(field, "must not contain NUL characters")
	}
	return v.Err()
}
