package importfile_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

// FuzzReader checks that no file panics the reader, that a CSV header it
// refuses is a *HeaderError, and that reading always ends: every row is
// either parsed or refused with a reason, starts on a line after the one
// before it and within the file, and EOF comes after the last.
//
//	go test -run '^$' -fuzz FuzzReader -fuzztime 30s ./services/customer/importfile
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		mixedHeader + mixedBody,
		"display_name,email,phone,tags\n王小明,a@example.com,13800138000,vip;\n\"x\"y\",,,\n",
		"display_name\r\n\"a\r\nb\"\r\n",
		"external_id,display_name,attributes.city,attributes.tier,nope\nx,y,z,gold,1\n",
		"display_name,display_name\n", "\"", "\n\n\n", "\ufeffdisplay_name\nBOM\n",
		ndjsonMixed,
		`{"display_name":"a","attributes":{"spend":{"number_value":"NaN"}}}` + "\n{\"display_name\":1}\n[]\nnull\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, file []byte, ndjson bool) {
		format := customerv1.ImportFormat_IMPORT_FORMAT_CSV
		if ndjson {
			format = customerv1.ImportFormat_IMPORT_FORMAT_NDJSON
		}
		rd, err := importfile.NewReader(format, bytes.NewReader(file), attrTypes)
		if err != nil {
			var he *importfile.HeaderError
			if !errors.As(err, &he) || he.Reason == "" {
				t.Fatalf("NewReader: %v, want a *HeaderError with a reason", err)
			}
			return
		}
		lines := int64(bytes.Count(file, []byte("\n")) + 1)
		last := int64(0)
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("Next: %v (the file is in memory, so only EOF may end it)", err)
			}
			if (row.Err == nil) == (row.Customer == nil) {
				t.Fatalf("line %d: want exactly one of Err and Customer, got %v and %v", row.Line, row.Err, row.Customer)
			}
			if row.Err != nil && strings.TrimSpace(row.Err.Reason) == "" {
				t.Fatalf("line %d refused without a reason", row.Line)
			}
			if row.Line <= last || row.Line > lines {
				t.Fatalf("row on line %d after one on line %d, in a file of %d lines", row.Line, last, lines)
			}
			last = row.Line
		}
	})
}
