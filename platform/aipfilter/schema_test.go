package aipfilter_test

import (
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
)

// The test schema mirrors the tables of the SQL test: customers c, with
// tags and typed attributes in side tables, as the customer service would
// declare it.
const (
	hasTag       = "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)"
	hasAnyTag    = "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id)"
	hasAttribute = "EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = c.id AND a.name = ?"
)

var kinds = map[string]string{"DISTRIBUTOR": "distributor", "RETAIL": "retail"}

func testSchema() aipfilter.Schema {
	return aipfilter.Schema{
		Fields: map[string]aipfilter.Field{
			"kind": {
				Kind:      aipfilter.Enum,
				Column:    "c.kind",
				EnumNames: []string{"DISTRIBUTOR", "RETAIL"},
				Enum: func(name string) (string, bool) {
					stored, ok := kinds[strings.TrimPrefix(name, "CUSTOMER_KIND_")]
					return stored, ok
				},
			},
			"lifecycle_stage":    {Kind: aipfilter.Enum, Column: "c.lifecycle_stage", EnumNames: []string{"LEAD", "ACTIVE", "LAPSED"}},
			"display_name":       {Kind: aipfilter.String, Column: "c.display_name"},
			"email":              {Kind: aipfilter.String, Column: "c.email"},
			"owner_id":           {Kind: aipfilter.String, Column: "c.owner_id"},
			"score":              {Kind: aipfilter.Number, Column: "c.score"},
			"possible_duplicate": {Kind: aipfilter.Bool, Column: "c.possible_duplicate"},
			"create_time":        {Kind: aipfilter.Timestamp, Column: "c.create_time"},
			"tags": {Kind: aipfilter.String, Has: func(v aipfilter.Value) (string, []any) {
				if v.Wildcard {
					return hasAnyTag, nil
				}
				return hasTag, []any{v.Arg}
			}},
		},
		Dynamic:     attributeField,
		DynamicHelp: "attributes.<name>",
	}
}

// attributeField resolves "attributes.<name>": numbers compare with the
// number column, everything else with the text.
func attributeField(path string) (aipfilter.Field, bool) {
	name, ok := strings.CutPrefix(path, "attributes.")
	if !ok || strings.Contains(name, ".") {
		return aipfilter.Field{}, false
	}
	return aipfilter.Field{Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
		if v.Wildcard {
			return hasAttribute + ")", []any{name}, nil
		}
		column := "a.number_value"
		if v.Kind != aipfilter.Number {
			column = "a.text_value"
			v.Kind, v.Arg = aipfilter.String, v.Text
		}
		cond, args, err := aipfilter.Comparison(column, op, v)
		return hasAttribute + " AND " + cond + ")", append([]any{name}, args...), err
	}}, true
}
