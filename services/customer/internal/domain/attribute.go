package domain

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// AttributeType is the type of a custom attribute's values.
type AttributeType int

// The attribute types.
const (
	AttrUnspecified AttributeType = iota
	AttrString
	AttrNumber
	AttrBool
	AttrDate
	AttrEnum
)

var attrTypeNames = []string{"unspecified", "string", "number", "bool", "date", "enum"}

// String returns the lowercase name of t, which is also its stored form.
func (t AttributeType) String() string { return enumName(attrTypeNames, int(t), "AttributeType") }

// ParseAttributeType reads a stored attribute type name.
func ParseAttributeType(s string) (AttributeType, bool) {
	return parseEnum[AttributeType](attrTypeNames, s)
}

// AttributeValue is one custom attribute's value; only the member of its
// Type is meaningful.
type AttributeValue struct {
	Type AttributeType
	// Str holds STRING and ENUM values.
	Str  string
	Num  float64
	Bool bool
	Date Date
}

// Text is the value's text form, as filters compare it and indexes store it:
// dates as YYYY-MM-DD, booleans as true/false.
func (v AttributeValue) Text() string {
	switch v.Type {
	case AttrNumber:
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case AttrBool:
		return strconv.FormatBool(v.Bool)
	case AttrDate:
		return v.Date.String()
	}
	return v.Str
}

// AttributeDefinition declares a custom attribute.
type AttributeDefinition struct {
	Name        string
	Type        AttributeType
	DisplayName string
	Description string
	// EnumValues are the allowed values of an ENUM attribute.
	EnumValues []string
	CreateTime time.Time
	UpdateTime time.Time
}

// Definitions are the declared attributes by name.
type Definitions map[string]AttributeDefinition

// Limits of attribute definitions and values.
const (
	MaxAttributeNameLength  = 64
	MaxAttributes           = 100
	MaxAttributeValueRunes  = 1000
	MaxEnumValues           = 200
	MaxDefinitionTextRunes  = 500
	MaxAttributeDefinitions = 500
)

var attributeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Normalize checks a definition for creation and returns it trimmed.
func (d AttributeDefinition) Normalize() (AttributeDefinition, error) {
	var v validation.Violations
	d.Name = strings.TrimSpace(d.Name)
	switch {
	case d.Name == "":
		v.Add("name", "is required")
	case len(d.Name) > MaxAttributeNameLength || !attributeNamePattern.MatchString(d.Name):
		v.Add("name", fmt.Sprintf("must be lowercase letters, digits and underscores, starting with a letter, at most %d long", MaxAttributeNameLength))
	}
	if d.Type <= AttrUnspecified || int(d.Type) >= len(attrTypeNames) {
		v.Add("type", "is required: one of STRING, NUMBER, BOOL, DATE, ENUM")
	}
	d.DisplayName = strings.TrimSpace(d.DisplayName)
	d.Description = strings.TrimSpace(d.Description)
	if utf8.RuneCountInString(d.DisplayName) > MaxDefinitionTextRunes {
		v.Add("display_name", fmt.Sprintf("must be at most %d characters", MaxDefinitionTextRunes))
	}
	if utf8.RuneCountInString(d.Description) > MaxDefinitionTextRunes {
		v.Add("description", fmt.Sprintf("must be at most %d characters", MaxDefinitionTextRunes))
	}
	d.EnumValues = normalizeEnumValues(d.EnumValues, &v)
	switch {
	case d.Type == AttrEnum && len(d.EnumValues) == 0:
		v.Add("enum_values", "an ENUM attribute needs at least one value")
	case d.Type != AttrEnum && len(d.EnumValues) > 0:
		v.Add("enum_values", "only ENUM attributes have values")
	}
	if err := v.Err(); err != nil {
		return AttributeDefinition{}, err
	}
	return d, nil
}

func normalizeEnumValues(values []string, v *validation.Violations) []string {
	var out []string
	for i, s := range values {
		s = strings.TrimSpace(s)
		if s == "" || utf8.RuneCountInString(s) > MaxTagRunes {
			v.Add(fmt.Sprintf("enum_values[%d]", i), fmt.Sprintf("must be 1 to %d characters", MaxTagRunes))
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxEnumValues {
		v.Add("enum_values", fmt.Sprintf("must hold at most %d values", MaxEnumValues))
	}
	return out
}

// checkValue returns the normalized value of attribute name, or a reason it
// is invalid.
func (defs Definitions) checkValue(name string, val AttributeValue) (AttributeValue, string) {
	def, ok := defs[name]
	if !ok {
		return val, "is not a declared attribute; declare it with CreateAttributeDefinition"
	}
	if val.Type != def.Type {
		return val, fmt.Sprintf("must be a %s value", strings.ToUpper(def.Type.String()))
	}
	switch def.Type {
	case AttrString:
		val.Str = strings.TrimSpace(val.Str)
		if utf8.RuneCountInString(val.Str) > MaxAttributeValueRunes {
			return val, fmt.Sprintf("must be at most %d characters", MaxAttributeValueRunes)
		}
	case AttrNumber:
		if math.IsNaN(val.Num) || math.IsInf(val.Num, 0) {
			return val, "must be a finite number"
		}
	case AttrDate:
		if !val.Date.Valid(true) {
			return val, "is not a valid date"
		}
	case AttrEnum:
		if !slices.Contains(def.EnumValues, val.Str) {
			return val, "must be one of " + strings.Join(def.EnumValues, ", ")
		}
	}
	return AttributeValue{Type: val.Type, Str: val.Str, Num: val.Num, Bool: val.Bool, Date: val.Date}, ""
}

// String returns the date as YYYY-MM-DD, or --MM-DD without a year.
func (d Date) String() string {
	if d.Year == 0 {
		return fmt.Sprintf("--%02d-%02d", d.Month, d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Valid reports whether d is a real calendar date; with needYear a year is
// required. February 29 without a year is valid.
func (d Date) Valid(needYear bool) bool {
	if d.Year == 0 {
		if needYear {
			return false
		}
		return d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && d.Day <= daysIn(d.Month, 2000)
	}
	if d.Year < 1 || d.Year > 9999 || d.Month < 1 || d.Month > 12 {
		return false
	}
	return d.Day >= 1 && d.Day <= daysIn(d.Month, d.Year)
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// ParseDate reads YYYY-MM-DD or --MM-DD.
func ParseDate(s string) (Date, bool) {
	var d Date
	if rest, ok := strings.CutPrefix(s, "--"); ok {
		t, err := time.Parse("01-02", rest)
		if err != nil && rest != "02-29" {
			return Date{}, false
		}
		if rest == "02-29" {
			return Date{Month: 2, Day: 29}, true
		}
		d = Date{Month: int(t.Month()), Day: t.Day()}
		return d, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, false
	}
	return Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, true
}
