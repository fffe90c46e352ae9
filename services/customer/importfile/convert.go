package importfile

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/reflect/protoreflect"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// enumName reads an enum cell: the value's full name or the name without
// the enum's prefix, in any letter case ("distributor",
// "CUSTOMER_KIND_DISTRIBUTOR").
type enumName struct {
	what   string // the column, for messages
	values map[string]int32
	want   string // the short names, for messages
}

func newEnumName(what string, desc protoreflect.EnumDescriptor, prefix string) enumName {
	e := enumName{what: what, values: make(map[string]int32)}
	var short []string
	vals := desc.Values()
	for i := range vals.Len() {
		v := vals.Get(i)
		full := string(v.Name())
		name := strings.TrimPrefix(full, prefix)
		e.values[full] = int32(v.Number())
		e.values[name] = int32(v.Number())
		if v.Number() != 0 {
			short = append(short, name)
		}
	}
	e.want = strings.Join(short, ", ")
	return e
}

func (e enumName) parse(cell string) (int32, error) {
	s := strings.ToUpper(strings.TrimSpace(cell))
	if s == "" {
		return 0, nil
	}
	if v, ok := e.values[s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown %s %q; want one of %s", e.what, cell, e.want)
}

type enumNames struct {
	customerType, kind, lifecycleStage enumName
}

var customerEnums = enumNames{
	customerType:   newEnumName("type", customerv1.CustomerType(0).Descriptor(), "CUSTOMER_TYPE_"),
	kind:           newEnumName("kind", customerv1.CustomerKind(0).Descriptor(), "CUSTOMER_KIND_"),
	lifecycleStage: newEnumName("lifecycle stage", customerv1.LifecycleStage(0).Descriptor(), "LIFECYCLE_STAGE_"),
}

var errDate = errors.New(`not a date; want YYYY-MM-DD, or --MM-DD when the year is unknown`)

// ParseDate reads "YYYY-MM-DD", or "--MM-DD" for a date without a year
// (year 0, as google.type.Date has it); "" is no date (nil). The day must
// exist in its month; February 29 is allowed without a year.
func ParseDate(s string) (*date.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var year int
	switch {
	case len(s) == 7 && s[:2] == "--":
		s = s[2:]
	case len(s) == 10 && s[4] == '-':
		y, ok := digits(s[:4])
		if !ok || y == 0 {
			return nil, errDate
		}
		year, s = y, s[5:]
	default:
		return nil, errDate
	}
	month, okM := digits(s[:2])
	day, okD := digits(s[3:])
	if !okM || !okD || s[2] != '-' {
		return nil, errDate
	}
	d := &date.Date{Year: int32(year), Month: int32(month), Day: int32(day)}
	if err := CheckDate(d); err != nil {
		return nil, err
	}
	return d, nil
}

// CheckDate reports whether a full date, or a month and day with year 0,
// exists on the calendar.
func CheckDate(d *date.Date) error {
	if d.GetYear() < 0 || d.GetYear() > 9999 {
		return fmt.Errorf("year %d is out of range 1-9999 (0 when unknown)", d.GetYear())
	}
	if d.GetMonth() < 1 || d.GetMonth() > 12 {
		return fmt.Errorf("month %d is out of range 1-12", d.GetMonth())
	}
	if d.GetDay() < 1 || d.GetDay() > daysIn(d.GetYear(), d.GetMonth()) {
		return fmt.Errorf("day %d does not exist in month %d", d.GetDay(), d.GetMonth())
	}
	return nil
}

func daysIn(year, month int32) int32 {
	switch month {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if year == 0 || year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	default:
		return 31
	}
}

func digits(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// parseAttribute reads a cell as a value of the attribute's declared type;
// a blank cell is no value (nil).
func parseAttribute(t customerv1.AttributeType, cell string) (*customerv1.AttributeValue, error) {
	if t == customerv1.AttributeType_ATTRIBUTE_TYPE_STRING {
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_StringValue{StringValue: cell}}, nil
	}
	s := strings.TrimSpace(cell)
	if s == "" {
		return nil, nil
	}
	switch t {
	case customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", cell)
		}
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_NumberValue{NumberValue: f}}, nil
	case customerv1.AttributeType_ATTRIBUTE_TYPE_BOOL:
		b, ok := parseBool(s)
		if !ok {
			return nil, fmt.Errorf("%q is not true or false", cell)
		}
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_BoolValue{BoolValue: b}}, nil
	case customerv1.AttributeType_ATTRIBUTE_TYPE_DATE:
		d, err := ParseDate(s)
		if err != nil {
			return nil, err
		}
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_DateValue{DateValue: d}}, nil
	case customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM:
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_EnumValue{EnumValue: s}}, nil
	default:
		return nil, fmt.Errorf("the attribute's type %v cannot be imported", t)
	}
}

// parseBool takes what spreadsheets and people write for yes and no.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}
