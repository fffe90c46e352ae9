package aipfilter

import (
	"errors"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`a = 1`, `a = 1`},
		{`a=1`, `a = 1`},
		{`a = 1 AND b = 2`, `AND(a = 1, b = 2)`},
		// OR binds tighter than AND, on either side.
		{`a = 1 OR b = 2 AND c = 3`, `AND(OR(a = 1, b = 2), c = 3)`},
		{`a = 1 AND b = 2 OR c = 3`, `AND(a = 1, OR(b = 2, c = 3))`},
		// Adjacent terms are ANDed, and OR binds tighter than that too.
		{`a = 1 b = 2`, `AND(a = 1, b = 2)`},
		{`a = 1 b = 2 OR c = 3`, `AND(a = 1, OR(b = 2, c = 3))`},
		{`a = 1 OR b = 2 c = 3`, `AND(OR(a = 1, b = 2), c = 3)`},
		{`(a = 1 OR b = 2) AND (c = 3 OR d = 4)`, `AND(OR(a = 1, b = 2), OR(c = 3, d = 4))`},
		{`(a = 1 AND b = 2) AND c = 3 AND (d = 4 e = 5)`, `AND(a = 1, b = 2, c = 3, d = 4, e = 5)`},
		{`a = 1 OR (b = 2 OR c = 3)`, `OR(a = 1, b = 2, c = 3)`},
		{`((a = 1))`, `a = 1`},
		// Negation applies to one term.
		{`NOT a = 1`, `NOT(a = 1)`},
		{`NOT a = 1 OR b = 2`, `OR(NOT(a = 1), b = 2)`},
		{`-a = 1`, `NOT(a = 1)`},
		{`-tags:"vip" b = 2`, `AND(NOT(tags : "vip"), b = 2)`},
		{`NOT(a = 1 OR b = 2)`, `NOT(OR(a = 1, b = 2))`},
		{`- (a = 1)`, `NOT(a = 1)`},
		{`NOT (NOT a = 1)`, `NOT(NOT(a = 1))`},
		// Comparators.
		{`a != 1 b < 2 c <= 3 d > 4 e >= 5 f : 6`, `AND(a != 1, b < 2, c <= 3, d > 4, e >= 5, f : 6)`},
		{`a>=-3.5`, `a >= -3.5`},
		{`a = -30`, `a = -30`},
		// Literals.
		{`a = "x y"`, `a = "x y"`},
		{`a = 'x "y"'`, `a = "x \"y\""`},
		{`a = 'it\'s'`, `a = "it's"`},
		{`a = "say \"hi\"\n\t\\"`, `a = "say \"hi\"\n\t\\"`},
		{`a = "\u5c0f\u660e"`, `a = "小明"`},
		{`a = "\ud83d\ude00"`, `a = "😀"`},
		{`a = ""`, `a = ""`},
		{`a = "AND"`, `a = "AND"`},
		{`a = and`, `a = and`},
		{`display_name:"小明"`, `display_name : "小明"`},
		{`名字 = 小明`, `名字 = 小明`},
		{`owner_id = am-li`, `owner_id = am-li`},
		{`email:"@acme.com"`, `email : "@acme.com"`},
		{`email = a.b@acme.com`, `email = a.b@acme.com`},
		{`tags:*`, `tags : *`},
		{`tags:"*"`, `tags : "*"`},
		{`create_time >= "2025-01-01T00:00:00+08:00"`, `create_time >= "2025-01-01T00:00:00+08:00"`},
		{`attributes.city.name = Hangzhou`, `attributes.city.name = Hangzhou`},
		// Any Unicode space separates, including the ideographic one.
		{"  a = 1\t\n AND\u3000b = 2  ", `AND(a = 1, b = 2)`},
		{
			`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`,
			`AND(kind = "DISTRIBUTOR", tags : "vip", attributes.city = "Hangzhou")`,
		},
		{
			`lifecycle_stage != "LAPSED" OR (create_time >= "2025-01-01T00:00:00Z" AND NOT possible_duplicate = true)`,
			`OR(lifecycle_stage != "LAPSED", AND(create_time >= "2025-01-01T00:00:00Z", NOT(possible_duplicate = true)))`,
		},
	}
	for _, tt := range tests {
		n, err := parse(tt.in)
		if err != nil {
			t.Errorf("parse(%q): %v", tt.in, err)
			continue
		}
		if got := n.String(); got != tt.want {
			t.Errorf("parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseWildcardOnlyUnquotedAfterHas(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{`tags:*`: true, `tags:"*"`: false, `tags = *`: false} {
		n, err := parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.(*restriction).value.Wildcard; got != want {
			t.Errorf("parse(%q) Wildcard = %v, want %v", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`a =`, `position 4: expected a value after "=", found the end of the filter`},
		{`a`, `position 2: expected a comparator (=, !=, <, <=, >, >= or :) after "a", found the end of the filter`},
		{`vip customers`, `position 5: expected a comparator`},
		{`(a = 1`, `position 7: expected ")" to close the "(" at position 1, found the end of the filter`},
		{`a = 1)`, `position 6: expected AND, OR or another restriction, found ")"`},
		{`a = 1, b = 2`, `position 6: expected AND, OR or another restriction, found ","`},
		{`a = "x`, `position 5: the string starting here has no closing "`},
		{`a = 'x"`, `position 5: the string starting here has no closing '`},
		{`a = "x\`, `position 5: the string starting here has no closing "`},
		{`a = "\q"`, `position 6: unknown escape "\q" in string`},
		{`a = "\u00"`, `position 6: "\u" must be followed by 4 hex digits`},
		{`a = "\u0000"`, `position 6: "\u" must be followed by 4 hex digits naming a character other than NUL`},
		{`a = "\ud83d"`, `position 6: "\u" must be followed`},
		{`a = "\ud83d\u0041"`, `position 6: "\u" must be followed`},
		{`a ! b`, `position 3: "!" must be followed by "="`},
		{`f(x)`, `position 1: functions such as f(...) are not supported`},
		{`a = (x OR y)`, `position 5: lists of values are not supported; write a = x OR a = y`},
		{`a..b = 1`, `position 1: field name "a..b" has an empty part between dots`},
		{`.a = 1`, `has an empty part between dots`},
		{`a. = 1`, `has an empty part between dots`},
		{`a = AND`, `position 5: expected a value after "=", found "AND"; quote it to use it as a value`},
		{`create_time > 2025-01-01T00:00:00Z`, `position 28: unexpected ":" after the value "2025-01-01T00"; quote values that contain it`},
		{`AND a = 1`, `position 1: expected a field name, found "AND"`},
		{`a = 1 AND`, `position 10: expected a field name, found the end of the filter`},
		{`a = 1 OR OR b = 2`, `position 10: expected a field name, found "OR"`},
		{`NOT NOT a = 1`, `position 5: expected a field name, found "NOT"`},
		{`a = - 3`, `position 7: expected a value right after "-", found "3"`},
		{`a = "x" = 1`, `position 9: expected AND, OR or another restriction, found "="`},
		{`a = "x"= 1`, `position 8: expected AND, OR or another restriction, found "="`},
		{`()`, `position 2: expected a field name, found ")"`},
		{`"a" = 1`, `position 1: expected a field name, found string "a"`},
		// Positions count characters, not bytes.
		{`名字 = 1 )`, `position 8: expected AND, OR or another restriction, found ")"`},
		{strings.Repeat("(", MaxDepth+1) + "a = 1" + strings.Repeat(")", MaxDepth+1), `parentheses nest deeper than 20 levels`},
	}
	for _, tt := range tests {
		_, err := parse(tt.in)
		var verr *validation.Error
		if !errors.As(err, &verr) {
			t.Errorf("parse(%q) error = %v, want a *validation.Error", tt.in, err)
			continue
		}
		if len(verr.Violations) != 1 || verr.Violations[0].Field != "filter" ||
			!strings.Contains(verr.Violations[0].Description, tt.want) {
			t.Errorf("parse(%q) error = %v, want filter: ...%s...", tt.in, verr.Violations, tt.want)
		}
	}
}

func TestParseMaxDepth(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth)
	if _, err := parse(in); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
}
