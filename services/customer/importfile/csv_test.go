package importfile_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/testing/protocmp"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

// attrTypes declares the attributes the tests' files use.
func attrTypes(name string) (customerv1.AttributeType, bool) {
	t, ok := map[string]customerv1.AttributeType{
		"city":  customerv1.AttributeType_ATTRIBUTE_TYPE_STRING,
		"spend": customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER,
		"vip":   customerv1.AttributeType_ATTRIBUTE_TYPE_BOOL,
		"since": customerv1.AttributeType_ATTRIBUTE_TYPE_DATE,
		"tier":  customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM,
	}[name]
	return t, ok
}

// got is what a test compares: one row's line and either its error or the
// customer.
type got struct {
	Line     int64
	Err      *importfile.RowError
	Customer *customerv1.Customer
}

func readAll(t *testing.T, format customerv1.ImportFormat, r io.Reader) ([]got, [][]string) {
	t.Helper()
	rd, err := importfile.NewReader(format, r, attrTypes)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []got
	var fields [][]string
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rows, fields
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		if (row.Err == nil) == (row.Customer == nil) {
			t.Fatalf("line %d: want exactly one of Err and Customer, got %v and %v", row.Line, row.Err, row.Customer)
		}
		rows = append(rows, got{Line: row.Line, Err: row.Err, Customer: row.Customer})
		fields = append(fields, row.Fields)
	}
}

func diffRows(t *testing.T, want, rows []got) {
	t.Helper()
	if d := cmp.Diff(want, rows, protocmp.Transform()); d != "" {
		t.Errorf("rows differ (-want +got):\n%s", d)
	}
}

// ok is a parsed row; bad a row refused for field, with a reason that
// contains the given text.
func ok(line int64, c *customerv1.Customer) got { return got{Line: line, Customer: c} }

func bad(line int64, field, reason string) got {
	return got{Line: line, Err: &importfile.RowError{Field: field, Reason: reason}}
}

// reasonsContaining lets bad rows name only part of the reason.
func reasonsContaining(want, rows []got) []got {
	out := make([]got, len(rows))
	for i, r := range rows {
		out[i] = r
		if i < len(want) && want[i].Err != nil && r.Err != nil && strings.Contains(r.Err.Reason, want[i].Err.Reason) {
			out[i].Err = &importfile.RowError{Field: r.Err.Field, Reason: want[i].Err.Reason}
		}
	}
	return out
}

const mixedHeader = "external_id,kind,display_name,tags,birthday,attributes.spend,attributes.vip,attributes.since\n"

// mixed has a bad row of every kind between good ones; the unclosed quote
// on line 4 makes encoding/csv read on to line 11, and the rows between
// must still come out.
const mixedBody = "" +
	"e1,distributor,王小明,vip; wholesale;,1990-05-01,12.5,yes,2020-01-02\n" + // 2
	"e2,RESELLER,Bad kind,,,,,\n" + // 3
	"e3,,\"unclosed,,,,,\n" + // 4
	"e4,,Good after quote,,,,,\n" + // 5
	"e5,,Too few\n" + // 6
	"e6,,Bad birthday,,1990-02-30,,,\n" + // 7
	"e7,,Bad number,,,12abc,,\n" + // 8
	"e8,,Bad bool,,,,maybe,\n" + // 9
	"e9,,Bad attribute date,,,,,2020-13-01\n" + // 10
	"e10,CUSTOMER_KIND_partner,\"Multi\nline, \"\"quoted\"\" name\",,--02-29,,,\n" + // 11-12
	"e11,,bare\"quote,,,,,\n" + // 13
	"\n" + // 14: blank lines are skipped
	"e12,,Last row,,,-3e2,0,\n" // 15

func mixedWant() []got {
	return []got{
		ok(2, &customerv1.Customer{
			ExternalId: "e1", Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR, DisplayName: "王小明",
			Tags:     []string{"vip", "wholesale"},
			Birthday: &date.Date{Year: 1990, Month: 5, Day: 1},
			Attributes: map[string]*customerv1.AttributeValue{
				"spend": {Value: &customerv1.AttributeValue_NumberValue{NumberValue: 12.5}},
				"vip":   {Value: &customerv1.AttributeValue_BoolValue{BoolValue: true}},
				"since": {Value: &customerv1.AttributeValue_DateValue{DateValue: &date.Date{Year: 2020, Month: 1, Day: 2}}},
			},
		}),
		bad(3, "kind", `unknown kind "RESELLER"`),
		bad(4, "", "bad quoting"),
		ok(5, &customerv1.Customer{ExternalId: "e4", DisplayName: "Good after quote"}),
		bad(6, "", "the row has 3 columns, the header 8"),
		bad(7, "birthday", "day 30 does not exist in month 2"),
		bad(8, "attributes.spend", `"12abc" is not a number`),
		bad(9, "attributes.vip", `"maybe" is not true or false`),
		bad(10, "attributes.since", "month 13 is out of range"),
		ok(11, &customerv1.Customer{
			ExternalId: "e10", Kind: customerv1.CustomerKind_CUSTOMER_KIND_PARTNER,
			DisplayName: "Multi\nline, \"quoted\" name", Birthday: &date.Date{Month: 2, Day: 29},
		}),
		bad(13, "", "bad quoting"),
		ok(15, &customerv1.Customer{
			ExternalId: "e12", DisplayName: "Last row",
			Attributes: map[string]*customerv1.AttributeValue{
				"spend": {Value: &customerv1.AttributeValue_NumberValue{NumberValue: -300}},
				"vip":   {Value: &customerv1.AttributeValue_BoolValue{BoolValue: false}},
			},
		}),
	}
}

func TestCSVMixedRows(t *testing.T) {
	t.Parallel()
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name string
		file string
		// reader wraps the file's reader, to vary how the bytes arrive.
		reader func(io.Reader) io.Reader
	}{
		{name: "LF", file: mixedHeader + mixedBody},
		{name: "CRLF", file: crlf(mixedHeader + mixedBody)},
		{name: "BOM", file: "\ufeff" + mixedHeader + mixedBody},
		{name: "BOM CRLF", file: "\ufeff" + crlf(mixedHeader+mixedBody)},
		{name: "one byte at a time", file: "\ufeff" + mixedHeader + mixedBody, reader: iotest.OneByteReader},
		{name: "data with EOF", file: mixedHeader + mixedBody, reader: iotest.DataErrReader},
		{name: "no final newline", file: mixedHeader + strings.TrimSuffix(mixedBody, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = strings.NewReader(tt.file)
			if tt.reader != nil {
				r = tt.reader(r)
			}
			rows, fields := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_CSV, r)
			want := mixedWant()
			diffRows(t, want, reasonsContaining(want, rows))
			wantFields := []string{"external_id", "kind", "display_name", "tags", "birthday", "attributes.spend", "attributes.vip", "attributes.since"}
			for i, f := range fields {
				if d := cmp.Diff(wantFields, f); d != "" {
					t.Fatalf("row %d fields (-want +got):\n%s", i, d)
				}
			}
		})
	}
}

func TestCSVEveryColumn(t *testing.T) {
	t.Parallel()
	file := "External_ID , type,kind,lifecycle_stage,display_name,email,phone,other_emails,other_phones,tags,locale,time_zone,birthday,owner_id,team_id,attributes.city,attributes.tier\n" +
		"x-1,organization,customer_kind_supplier,At_Risk,杭州西湖贸易有限公司,info@xihu.cn,+8657188880000,a@xihu.cn;b@xihu.cn, +8613800138000 ; +8613900139000 ,批发;华东,zh-CN,Asia/Shanghai,2001-09-10,u-1,t-1, 杭州市 ,gold\n" +
		",,,,Ada,,,,,,,,,,,,\n"
	rows, fields := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_CSV, strings.NewReader(file))
	diffRows(t, []got{
		ok(2, &customerv1.Customer{
			ExternalId: "x-1", Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION,
			Kind: customerv1.CustomerKind_CUSTOMER_KIND_SUPPLIER, LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK,
			DisplayName: "杭州西湖贸易有限公司", Email: "info@xihu.cn", Phone: "+8657188880000",
			OtherEmails: []string{"a@xihu.cn", "b@xihu.cn"}, OtherPhones: []string{"+8613800138000", "+8613900139000"},
			Tags: []string{"批发", "华东"}, Locale: "zh-CN", TimeZone: "Asia/Shanghai",
			Birthday: &date.Date{Year: 2001, Month: 9, Day: 10}, OwnerId: "u-1", TeamId: "t-1",
			Attributes: map[string]*customerv1.AttributeValue{
				// Strings are kept as written; trimming is the domain's call.
				"city": {Value: &customerv1.AttributeValue_StringValue{StringValue: " 杭州市 "}},
				"tier": {Value: &customerv1.AttributeValue_EnumValue{EnumValue: "gold"}},
			},
		}),
		// Empty cells set nothing.
		ok(3, &customerv1.Customer{DisplayName: "Ada"}),
	}, rows)
	want := []string{"external_id", "type", "kind", "lifecycle_stage", "display_name", "email", "phone", "other_emails", "other_phones", "tags", "locale", "time_zone", "birthday", "owner_id", "team_id", "attributes.city", "attributes.tier"}
	if d := cmp.Diff(want, fields[0]); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, column, reason string
	}{
		{"unknown column", "display_name,nickname\n", "nickname", "unknown column"},
		{"repeated column", "display_name,email,Email\n", "Email", "more than once"},
		{"no display_name", "external_id,email\n", "display_name", "missing"},
		{"undeclared attribute", "display_name,attributes.shoe_size\n", "attributes.shoe_size", `no attribute "shoe_size"`},
		{"unnamed column", "display_name,,email\n", "", "column 2 has no name"},
		{"empty file", "", "", "empty"},
		{"only a BOM and blank lines", "\ufeff\n\r\n", "", "empty"},
		{"bad quoting", "display_name,\"email\n", "", "quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_CSV, strings.NewReader(tt.file), attrTypes)
			var herr *importfile.HeaderError
			if !errors.As(err, &herr) {
				t.Fatalf("err = %v, want a *HeaderError", err)
			}
			if herr.Column != tt.column || !strings.Contains(herr.Reason, tt.reason) {
				t.Errorf("got column %q reason %q, want column %q and a reason containing %q", herr.Column, herr.Reason, tt.column, tt.reason)
			}
		})
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	t.Parallel()
	rows, _ := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_CSV, strings.NewReader("display_name\r\n"))
	if len(rows) != 0 {
		t.Errorf("got %d rows from a header alone", len(rows))
	}
}

func TestCSVUnclosedQuoteAtEnd(t *testing.T) {
	t.Parallel()
	// The quote opened on line 4 is never closed: encoding/csv reads to the
	// end of the file for it, and lines 5 and 6 must still be read. The
	// error on line 2 makes the reader start over on line 3, and the line
	// the second error names must still be the file's.
	file := "external_id,display_name\ne0,\"Zero\"x\ne1,One\ne2,\"Two\ne3,Three\ne4,Four\n"
	rows, _ := readAll(t, customerv1.ImportFormat_IMPORT_FORMAT_CSV, strings.NewReader(file))
	want := []got{
		bad(2, "", "text follows its closing"),
		ok(3, &customerv1.Customer{ExternalId: "e1", DisplayName: "One"}),
		bad(4, "", "the parser gave up at line 6,"),
		ok(5, &customerv1.Customer{ExternalId: "e3", DisplayName: "Three"}),
		ok(6, &customerv1.Customer{ExternalId: "e4", DisplayName: "Four"}),
	}
	diffRows(t, want, reasonsContaining(want, rows))
}

func TestCSVRowTooLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", importfile.MaxRowBytes+64<<10)
	// A quote opened and never closed before many lines of text would make
	// one field of the rest of the file; it is cut at MaxRowBytes instead.
	var runaway strings.Builder
	for runaway.Len() <= importfile.MaxRowBytes {
		runaway.WriteString("e,a line of text inside the runaway quoted field\n")
	}
	runawayLines := int64(strings.Count(runaway.String(), "\n"))
	file := "external_id,display_name\n" +
		"e1," + long + "\n" + // 2
		"e2,After the long line\n" + // 3
		"e3,\"open\n" + runaway.String() // 4, then the runaway lines
	rd, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_CSV, strings.NewReader(file), attrTypes)
	if err != nil {
		t.Fatal(err)
	}
	var rows []importfile.Row
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 3+int(runawayLines) {
		t.Fatalf("got %d rows, want %d", len(rows), 3+runawayLines)
	}
	if rows[0].Line != 2 || rows[0].Err == nil || !strings.Contains(rows[0].Err.Reason, "longer than") {
		t.Errorf("row 0: line %d err %v, want line 2 too long", rows[0].Line, rows[0].Err)
	}
	if rows[1].Line != 3 || rows[1].Customer.GetDisplayName() != "After the long line" {
		t.Errorf("row 1: line %d customer %v err %v", rows[1].Line, rows[1].Customer, rows[1].Err)
	}
	if rows[2].Line != 4 || rows[2].Err == nil || !strings.Contains(rows[2].Err.Reason, "longer than") {
		t.Errorf("row 2: line %d err %v, want line 4 too long", rows[2].Line, rows[2].Err)
	}
	// The lines inside the runaway field are read as rows of their own.
	if last := rows[len(rows)-1]; last.Line != 4+runawayLines || last.Err != nil {
		t.Errorf("last row: line %d err %v, want line %d parsed", last.Line, last.Err, 4+runawayLines)
	}
}

// failingReader hands out data, then fails.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorIsReturned(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	for _, format := range []customerv1.ImportFormat{customerv1.ImportFormat_IMPORT_FORMAT_CSV, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON} {
		t.Run(format.String(), func(t *testing.T) {
			t.Parallel()
			data := "display_name\nAda\nGrace"
			if format == customerv1.ImportFormat_IMPORT_FORMAT_NDJSON {
				data = `{"displayName":"Ada"}` + "\n" + `{"displayName":"Gr`
			}
			rd, err := importfile.NewReader(format, &failingReader{data: data, err: broken}, attrTypes)
			if err != nil {
				t.Fatal(err)
			}
			row, err := rd.Next()
			if err != nil || row.Customer.GetDisplayName() != "Ada" {
				t.Fatalf("first row: %v, %v", row, err)
			}
			if _, err := rd.Next(); !errors.Is(err, broken) {
				t.Errorf("second Next: err = %v, want %v", err, broken)
			}
		})
	}
}

func TestCSVHeaderReadError(t *testing.T) {
	t.Parallel()
	broken := errors.New("disk on fire")
	_, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_CSV, &failingReader{data: "display_na", err: broken}, attrTypes)
	if !errors.Is(err, broken) {
		t.Errorf("err = %v, want %v", err, broken)
	}
}

func TestUnsupportedFormat(t *testing.T) {
	t.Parallel()
	if _, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_UNSPECIFIED, strings.NewReader(""), nil); err == nil {
		t.Error("want an error for an unspecified format")
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    *date.Date
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "2024-02-29", want: &date.Date{Year: 2024, Month: 2, Day: 29}},
		{in: " 1999-12-31 ", want: &date.Date{Year: 1999, Month: 12, Day: 31}},
		{in: "--02-29", want: &date.Date{Month: 2, Day: 29}},
		{in: "2023-02-29", wantErr: true},
		{in: "1900-02-29", wantErr: true},
		{in: "2000-02-29", want: &date.Date{Year: 2000, Month: 2, Day: 29}},
		{in: "0000-01-01", wantErr: true},
		{in: "2024-04-31", wantErr: true},
		{in: "2024-00-10", wantErr: true},
		{in: "2024-1-10", wantErr: true},
		{in: "2024/01/10", wantErr: true},
		{in: "--13-01", wantErr: true},
		{in: "-02-29", wantErr: true},
		{in: "1990-05-01T00:00", wantErr: true},
		{in: "２０２４-01-01", wantErr: true},
	}
	for _, tt := range tests {
		got, err := importfile.ParseDate(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDate(%q) err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if d := cmp.Diff(tt.want, got, protocmp.Transform()); d != "" {
			t.Errorf("ParseDate(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

// stuckReader returns neither data nor an error, forever.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestStuckSourceIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_CSV, stuckReader{}, nil); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("csv: err = %v, want io.ErrNoProgress", err)
	}
	rd, err := importfile.NewReader(customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, stuckReader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("ndjson: err = %v, want io.ErrNoProgress", err)
	}
}

// TestEscapeCell: cells a spreadsheet would take for a formula get a
// leading quote, and UnescapeCell gives every value back exactly.
func TestEscapeCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, cell string }{
		{"=1+1", "'=1+1"}, {"+8613800138000", "'+8613800138000"}, {"-0.25", "'-0.25"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"'=x", "''=x"}, {"''", "'''"}, {"'", "'"}, {"'t Hooft", "'t Hooft"},
		{"", ""}, {"王小明", "王小明"}, {"a=b", "a=b"},
	} {
		if got := importfile.EscapeCell(tc.value); got != tc.cell {
			t.Errorf("EscapeCell(%q) = %q, want %q", tc.value, got, tc.cell)
		}
		if got := importfile.UnescapeCell(tc.cell); got != tc.value {
			t.Errorf("UnescapeCell(%q) = %q, want %q", tc.cell, got, tc.value)
		}
	}
}
