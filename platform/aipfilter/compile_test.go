package aipfilter_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	const like = `LIKE ? ESCAPE '\'`
	tests := []struct {
		in    string
		where string
		args  []any
	}{
		{``, ``, nil},
		{" \t\u3000", ``, nil},
		{`kind = DISTRIBUTOR`, `c.kind = ?`, []any{"distributor"}},
		{`kind = "CUSTOMER_KIND_DISTRIBUTOR"`, `c.kind = ?`, []any{"distributor"}},
		{`kind != RETAIL`, `c.kind <> ?`, []any{"retail"}},
		{`lifecycle_stage = 'LAPSED'`, `c.lifecycle_stage = ?`, []any{"LAPSED"}},
		{`display_name:"小明"`, `LOWER(c.display_name) ` + like, []any{"%小明%"}},
		{`display_name:ACME`, `LOWER(c.display_name) ` + like, []any{"%acme%"}},
		{`email:"50%_off\\"`, `LOWER(c.email) ` + like, []any{`%50\%\_off\\%`}},
		{`display_name < "m"`, `c.display_name < ?`, []any{"m"}},
		{`owner_id = am-li`, `c.owner_id = ?`, []any{"am-li"}},
		{`owner_id = 42`, `c.owner_id = ?`, []any{"42"}},
		{`score > 3`, `c.score > ?`, []any{int64(3)}},
		{`score = "3"`, `c.score = ?`, []any{int64(3)}},
		{`score >= -2.5`, `c.score >= CAST(? AS DOUBLE PRECISION)`, []any{-2.5}},
		{`score < 1e3`, `c.score < CAST(? AS DOUBLE PRECISION)`, []any{1000.0}},
		{`possible_duplicate = true`, `c.possible_duplicate = ?`, []any{true}},
		{`possible_duplicate != false`, `c.possible_duplicate <> ?`, []any{false}},
		{`create_time >= "2025-01-01T00:00:00Z"`, `c.create_time >= ?`, []any{int64(1735689600000000)}},
		{`create_time < "2025-01-01T08:00:00.5+08:00"`, `c.create_time < ?`, []any{int64(1735689600500000)}},
		{`tags:"vip"`, `(` + hasTag + `)`, []any{"vip"}},
		{`tags:*`, `(` + hasAnyTag + `)`, nil},
		{`display_name:*`, `(c.display_name IS NOT NULL AND c.display_name <> '')`, nil},
		{`score:*`, `c.score IS NOT NULL`, nil},
		{`kind:*`, `c.kind IS NOT NULL`, nil},
		{`attributes.city = "Hangzhou"`, `(` + hasAttribute + ` AND a.text_value = ?))`, []any{"city", "Hangzhou"}},
		{`attributes.level > 3`, `(` + hasAttribute + ` AND a.number_value > ?))`, []any{"level", int64(3)}},
		{`attributes.level <= 2.5`, `(` + hasAttribute + ` AND a.number_value <= CAST(? AS DOUBLE PRECISION)))`, []any{"level", 2.5}},
		{`attributes.code = "3"`, `(` + hasAttribute + ` AND a.text_value = ?))`, []any{"code", "3"}},
		{`attributes.vip = true`, `(` + hasAttribute + ` AND a.text_value = ?))`, []any{"vip", "true"}},
		{`attributes.city:hang`, `(` + hasAttribute + ` AND LOWER(a.text_value) ` + like + `))`, []any{"city", "%hang%"}},
		{`attributes.city:*`, `(` + hasAttribute + `))`, []any{"city"}},
		{
			`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`,
			`(c.kind = ? AND (` + hasTag + `) AND (` + hasAttribute + ` AND a.text_value = ?)))`,
			[]any{"distributor", "vip", "city", "Hangzhou"},
		},
		{
			`lifecycle_stage != "LAPSED" OR (create_time >= "2025-01-01T00:00:00Z" AND NOT possible_duplicate = true)`,
			`(c.lifecycle_stage <> ? OR (c.create_time >= ? AND NOT (c.possible_duplicate = ?)))`,
			[]any{"LAPSED", int64(1735689600000000), true},
		},
		{`-(kind = RETAIL OR score < 0)`, `NOT (c.kind = ? OR c.score < ?)`, []any{"retail", int64(0)}},
		{`-tags:"vip"`, `NOT ((` + hasTag + `))`, []any{"vip"}},
		{`owner_id = am-li email:"@acme.com"`, `(c.owner_id = ? AND LOWER(c.email) ` + like + `)`, []any{"am-li", "%@acme.com%"}},
	}
	for _, tt := range tests {
		where, args, err := aipfilter.Compile(tt.in, testSchema())
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.in, err)
			continue
		}
		if where != tt.where || !reflect.DeepEqual(args, tt.args) {
			t.Errorf("Compile(%q)\n got %s %#v\nwant %s %#v", tt.in, where, args, tt.where, tt.args)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`knd = DISTRIBUTOR`, `position 1: unknown field "knd"; known fields: create_time, display_name, email, kind, ` +
			`lifecycle_stage, owner_id, possible_duplicate, score, tags, attributes.<name>`},
		{`attributes = x`, `position 1: unknown field "attributes"`},
		{`attributes.a.b = x`, `position 1: unknown field "attributes.a.b"`},
		{`kind = FOO`, `position 8: kind expects one of DISTRIBUTOR, RETAIL, got "FOO"`},
		{`lifecycle_stage = lapsed`, `lifecycle_stage expects one of LEAD, ACTIVE, LAPSED, got "lapsed"`},
		{`kind > DISTRIBUTOR`, `position 1: kind supports only = and !=, found >`},
		{`kind:DISTRIBUTOR`, `kind supports only = and !=, found :`},
		{`possible_duplicate < true`, `possible_duplicate supports only = and !=`},
		{`possible_duplicate = yes`, `possible_duplicate expects true or false, got "yes"`},
		{`possible_duplicate = TRUE`, `possible_duplicate expects true or false, got "TRUE"`},
		{`score = abc`, `position 9: score expects a number, got "abc"`},
		{`score = Inf`, `score expects a number, got "Inf"`},
		{`score = NaN`, `score expects a number, got "NaN"`},
		{`score:3`, `score does not support ":"; compare it with =, !=, <, <=, > or >=`},
		{`create_time:"2025-01-01T00:00:00Z"`, `create_time does not support ":"`},
		{`create_time > "yesterday"`, `create_time expects an RFC 3339 timestamp such as "2025-01-01T00:00:00Z", got "yesterday"`},
		{`create_time > "2025-01-01"`, `create_time expects an RFC 3339 timestamp`},
		{`tags = "vip"`, `position 1: tags supports only ":" (has), as in tags:"value"`},
		{`kind = RETAIL AND 小明 = 1`, `position 19: unknown field "小明"`},
		{`a = "x`, `has no closing "`},
		{strings.Repeat("a", aipfilter.MaxLength+1), `must be at most 2000 bytes long, got 2001`},
		{"a = \xff", `must be valid UTF-8`},
		{"a = \"\x00\"", `must not contain NUL characters`},
	}
	for _, tt := range tests {
		_, _, err := aipfilter.Compile(tt.in, testSchema())
		var verr *validation.Error
		if !errors.As(err, &verr) {
			t.Errorf("Compile(%q) error = %v, want a *validation.Error", tt.in, err)
			continue
		}
		if len(verr.Violations) != 1 || verr.Violations[0].Field != "filter" ||
			!strings.Contains(verr.Violations[0].Description, tt.want) {
			t.Errorf("Compile(%q) error = %v, want filter: ...%s...", tt.in, verr.Violations, tt.want)
		}
	}
}

func TestCompileHookError(t *testing.T) {
	t.Parallel()
	s := aipfilter.Schema{Dynamic: func(path string) (aipfilter.Field, bool) {
		return aipfilter.Field{Compare: func(aipfilter.Op, aipfilter.Value) (string, []any, error) {
			return "", nil, errors.New("is not a declared attribute")
		}}, true
	}}
	_, _, err := aipfilter.Compile(`x = 1 AND attributes.secret = 1`, s)
	want := "invalid input: filter: position 1: x: is not a declared attribute"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// Mistakes in the Schema are the caller's bug, not the user's, so they are
// plain errors that a service reports as Internal.
func TestCompileSchemaMistakes(t *testing.T) {
	t.Parallel()
	tests := map[string]aipfilter.Field{
		"no column":         {Kind: aipfilter.String},
		"unknown kind":      {Kind: aipfilter.Kind(99), Column: "x"},
		"empty hook sql":    {Has: func(aipfilter.Value) (string, []any) { return "", nil }},
		"placeholder count": {Has: func(v aipfilter.Value) (string, []any) { return "x = ?", nil }},
		"compare placeholder count": {Compare: func(aipfilter.Op, aipfilter.Value) (string, []any, error) {
			return "x = ? OR y = ?", []any{1}, nil
		}},
	}
	for name, f := range tests {
		in := `f:"v"`
		_, _, err := aipfilter.Compile(in, aipfilter.Schema{Fields: map[string]aipfilter.Field{"f": f}})
		var verr *validation.Error
		if err == nil || errors.As(err, &verr) || !strings.HasPrefix(err.Error(), "aipfilter: ") {
			t.Errorf("%s: err = %v, want a plain aipfilter error", name, err)
		}
	}
}

func TestUntypedFieldTakesLiteralKind(t *testing.T) {
	t.Parallel()
	var got []aipfilter.Value
	s := aipfilter.Schema{Fields: map[string]aipfilter.Field{"x": {
		Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
			got = append(got, v)
			return "TRUE", nil, nil
		},
	}}}
	if _, _, err := aipfilter.Compile(`x = "3" x = 3 x = 3.5 x = true x = abc x:3 x:*`, s); err != nil {
		t.Fatal(err)
	}
	want := []aipfilter.Value{
		{Text: "3", Quoted: true, Kind: aipfilter.String, Arg: "3"},
		{Text: "3", Kind: aipfilter.Number, Arg: int64(3)},
		{Text: "3.5", Kind: aipfilter.Number, Arg: 3.5},
		{Text: "true", Kind: aipfilter.Bool, Arg: true},
		{Text: "abc", Kind: aipfilter.String, Arg: "abc"},
		{Text: "3", Kind: aipfilter.String, Arg: "3"},
		{Text: "*", Wildcard: true, Kind: aipfilter.String},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values\n got %+v\nwant %+v", got, want)
	}
}

func TestComparison(t *testing.T) {
	t.Parallel()
	if _, _, err := aipfilter.Comparison("x", aipfilter.Has, aipfilter.Value{Kind: aipfilter.Number, Arg: int64(1)}); err == nil {
		t.Error(`":" on a number: want error`)
	}
	if _, _, err := aipfilter.Comparison("x", aipfilter.Op("~"), aipfilter.Value{Kind: aipfilter.String, Arg: "a"}); err == nil {
		t.Error("unknown op: want error")
	}
	if _, _, err := aipfilter.Comparison("x", aipfilter.Equal, aipfilter.Value{Kind: aipfilter.String}); err == nil {
		t.Error("no Arg: want error")
	}
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	allowed := map[string]string{"display_name": "c.display_name", "create_time": "c.create_time"}
	tests := []struct {
		in   string
		want []aipfilter.OrderTerm
		sql  string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"display_name", []aipfilter.OrderTerm{{Field: "display_name", Column: "c.display_name"}}, "c.display_name"},
		{
			"display_name desc, create_time",
			[]aipfilter.OrderTerm{{"display_name", "c.display_name", true}, {"create_time", "c.create_time", false}},
			"c.display_name DESC, c.create_time",
		},
		{
			"  create_time   ASC ,display_name DESC ",
			[]aipfilter.OrderTerm{{"create_time", "c.create_time", false}, {"display_name", "c.display_name", true}},
			"c.create_time, c.display_name DESC",
		},
	}
	for _, tt := range tests {
		got, err := aipfilter.CompileOrderBy(tt.in, allowed)
		if err != nil {
			t.Errorf("CompileOrderBy(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || aipfilter.OrderBySQL(got) != tt.sql {
			t.Errorf("CompileOrderBy(%q) = %+v (%q), want %+v (%q)", tt.in, got, aipfilter.OrderBySQL(got), tt.want, tt.sql)
		}
	}
}

func TestOrderByErrors(t *testing.T) {
	t.Parallel()
	allowed := map[string]string{"display_name": "c.display_name", "create_time": "c.create_time"}
	tests := []struct{ in, want string }{
		{"name", `position 1: cannot sort by "name"; sortable fields: create_time, display_name`},
		{"display_name, 名字", `position 15: cannot sort by "名字"`},
		{"display_name,", `position 14: expected a field name before or after the comma`},
		{",display_name", `position 1: expected a field name`},
		{"display_name desc asc", `position 1: expected "asc", "desc" or a comma after "display_name", found "desc asc"`},
		{"display_name descending", `found "descending"`},
		{"display_name, create_time, display_name desc", `position 28: "display_name" appears more than once`},
		{strings.Repeat("a", aipfilter.MaxLength+1), "must be at most 2000 bytes long"},
	}
	for _, tt := range tests {
		_, err := aipfilter.CompileOrderBy(tt.in, allowed)
		var verr *validation.Error
		if !errors.As(err, &verr) || len(verr.Violations) != 1 || verr.Violations[0].Field != "order_by" ||
			!strings.Contains(verr.Violations[0].Description, tt.want) {
			t.Errorf("CompileOrderBy(%q) error = %v, want order_by: ...%s...", tt.in, err, tt.want)
		}
	}
}
