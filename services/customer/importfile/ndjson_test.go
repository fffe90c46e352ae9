package importfile_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

const ndjsonMixed = "" +
	`{"externalId":"n1","displayName":"王小明","kind":"CUSTOMER_KIND_DISTRIBUTOR","tags":["vip","批发"],"birthday":{"year":1990,"month":5,"day":1}}` + "\n" + // 1
	`{"external_id":"n2","display_name":"Ada","attributes":{"city":{"stringValue":"杭州市"}}}` + "\n" + // 2
	"\n" + // 3: blank
	"   \t\n" + // 4: blank
	`{"displayName":"Bad kind","kind":"RESELLER"}` + "\n" + // 5
	`{"displayName":"Unknown field","nickname":"x"}` + "\n" + // 6
	`{"displayName":"Broken JSON",` + "\n" + // 7
	`["not","an","object"]` + "\n" + // 8
	`{"displayName":"Bad birthday","birthday":{"year":2023,"month":2,"day":29}}` + "\n" + // 9
	`{"displayName":"Bad attribute date","attributes":{"since":{"dateValue":{"year":2020,"month":13,"day":1}}}}` + "\n" + // 10
	`{"displayName":"Wrong type","tags":"vip"}` + "\n" + // 11
	`{"displayName":"Twice","display_name":"again"}` + "\n" + // 12
	`{"disp\u006cayName":"Escaped key","birthday":{}}` + "\n" + // 13
	`{"displayName":"Last"}` // 14, no final newline

func ndjsonWant() []got {
	return []got{
		ok(1, &customerv1.Customer{
			ExternalId: "n1", DisplayName: "王小明", Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR,
			Tags: []string{"vip", "批发"}, Birthday: &date.Date{Year: 1990, Month: 5, Day: 1},
		}),
		ok(2, &customerv1.Customer{
			ExternalId: "n2", DisplayName: "Ada",
			Attributes: map[string]*customerv1.AttributeValue{"city": {Value: &customerv1.AttributeValue_StringValue{StringValue: "杭州市"}}},
		}),
		bad(5, "kind", "RESELLER"),
		bad(6, "nickname", "unknown field"),
		bad(7, "", "not valid JSON"),
		bad(8, "", "not a JSON object"),
		bad(9, "birthday", "day 29 does not exist in month 2"),
		bad(10, "attributes.since", "month 13 is out of range"),
		bad(11, "tags", ""),
		bad(12, "display_name", "more than once"),
		// An empty birthday object is no birthday.
		ok(13, &customerv1.Customer{DisplayName: "Escaped key"}),
		ok(14, &customerv1.Customer{DisplayName: "Last"}),
	}
}

func TestNDJSONMixedRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		reader func(io.Reader) io.Reader
	}{
		{name: "LF", file: ndjsonMixed},
		{name: "CRLF", file: strings.ReplaceAll(ndjsonMixed, "\n", "\r\n")},
		{name: "BOM", file: "\ufeff" + ndjsonMixed},
		{name: "one byte at a time", file: "\ufeff" + ndjsonMixed, reader: iotest.OneByteReader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = strings.NewReader(tt.file)
			if tt.reader != nil {
				r = tt.reader(r)
			}
			rows, fields := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, r)
			want := ndjsonWant()
			diffRows(t, want, reasonsContaining(want, rows))
			wantFields := map[int64][]string{
				1:  {"external_id", "display_name", "kind", "tags", "birthday"},
				2:  {"external_id", "display_name", "attributes"},
				13: {"display_name", "birthday"},
				14: {"display_name"},
			}
			for i, row := range rows {
				if w, ok := wantFields[row.Line]; ok {
					if d := cmp.Diff(w, fields[i]); d != "" {
						t.Errorf("line %d fields (-want +got):\n%s", row.Line, d)
					}
				}
			}
		})
	}
}

func TestNDJSONLongLine(t *testing.T) {
	t.Parallel()
	file := `{"displayName":"` + strings.Repeat("x", importfile.MaxRowBytes) + `"}` + "\n" +
		`{"displayName":"After"}` + "\n"
	rows, _ := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, strings.NewReader(file))
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	if rows[0].Line != 1 || rows[0].Err == nil || !strings.Contains(rows[0].Err.Reason, "longer than") {
		t.Errorf("row 0: line %d err %v, want line 1 too long", rows[0].Line, rows[0].Err)
	}
	if rows[1].Line != 2 || rows[1].Customer.GetDisplayName() != "After" {
		t.Errorf("row 1: line %d customer %v err %v", rows[1].Line, rows[1].Customer, rows[1].Err)
	}
}

func TestNDJSONLinesOfAFewMB(t *testing.T) {
	t.Parallel()
	name := strings.Repeat("名", 1<<20) // 3 MiB of UTF-8
	file := `{"displayName":"` + name + `"}` + "\n" + `{"displayName":"Next"}`
	rows, _ := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, strings.NewReader(file))
	if len(rows) != 2 || rows[0].Customer.GetDisplayName() != name || rows[1].Line != 2 {
		t.Fatalf("got %d rows; first err %v", len(rows), rows[0].Err)
	}
}

func TestNDJSONEmpty(t *testing.T) {
	t.Parallel()
	rd, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, strings.NewReader(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want io.EOF", err)
	}
}
