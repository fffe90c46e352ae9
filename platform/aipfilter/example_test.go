package aipfilter_test

import (
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
)

func Example() {
	schema := aipfilter.Schema{
		Fields: map[string]aipfilter.Field{
			"display_name": {Kind: aipfilter.String, Column: "c.display_name"},
			"create_time":  {Kind: aipfilter.Timestamp, Column: "c.create_time"},
			"kind": {
				Kind:      aipfilter.Enum,
				Column:    "c.kind",
				EnumNames: []string{"DISTRIBUTOR", "RETAIL"},
				Enum: func(name string) (string, bool) {
					stored := strings.ToLower(strings.TrimPrefix(name, "CUSTOMER_KIND_"))
					return stored, stored == "distributor" || stored == "retail"
				},
			},
			"tags": {Kind: aipfilter.String, Has: func(v aipfilter.Value) (string, []any) {
				return "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)", []any{v.Arg}
			}},
		},
		Dynamic: func(path string) (aipfilter.Field, bool) {
			name, ok := strings.CutPrefix(path, "attributes.")
			if !ok {
				return aipfilter.Field{}, false
			}
			return aipfilter.Field{Kind: aipfilter.String, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
				cond, args, err := aipfilter.Comparison("a.text_value", op, v)
				return "EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = c.id AND a.name = ? AND " + cond + ")",
					append([]any{name}, args...), err
			}}, true
		},
		DynamicHelp: "attributes.<name>",
	}

	where, args, err := aipfilter.Compile(`kind = DISTRIBUTOR tags:"vip" OR create_time >= "2025-01-01T00:00:00Z" -attributes.city = "Hangzhou"`, schema)
	fmt.Println(where)
	fmt.Println(args, err)

	_, _, err = aipfilter.Compile(`kind = WHOLESALE`, schema)
	fmt.Println(err)

	terms, _ := aipfilter.CompileOrderBy("display_name desc, create_time", map[string]string{
		"display_name": "c.display_name", "create_time": "c.create_time",
	})
	fmt.Println("ORDER BY " + aipfilter.OrderBySQL(terms) + ", c.id")
	// Output:
	// (c.kind = ? AND ((EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)) OR c.create_time >= ?) AND NOT ((EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = c.id AND a.name = ? AND a.text_value = ?))))
	// [distributor vip 1735689600000000 city Hangzhou] <nil>
	// invalid input: filter: position 8: kind expects one of DISTRIBUTOR, RETAIL, got "WHOLESALE"
	// ORDER BY c.display_name DESC, c.create_time, c.id
}
