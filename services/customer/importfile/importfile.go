// Package importfile turns an imported customer file (CSV or NDJSON) into
// rows. It only parses: a row that cannot be read becomes a Row carrying a
// RowError with its line number, and reading goes on with the next row, so
// one import reports every bad row instead of stopping at the first.
// Business rules (a valid email, a required display name, ...) are the
// domain's to check.
package importfile

import (
	"errors"
	"fmt"
	"io"

	"github.com/guanxi-crm/guanxi/platform/textguard"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// MaxRowBytes bounds one row (a CSV record, quoted newlines included, or an
// NDJSON line), give or take a read buffer of a few KiB. A longer row is
// reported as bad and skipped, so a stray quote or a file without newlines
// cannot make the reader hold the rest of the file in memory.
const MaxRowBytes = 8 << 20

// Row is one row of the file.
type Row struct {
	// Line is the line the row starts on, from 1; a CSV header is line 1.
	Line int64
	// Customer is the parsed row; nil when Err is set.
	Customer *customerv1.Customer
	// Fields are the proto field paths the row sets: for CSV the header's
	// columns ("display_name", "tags", "attributes.city"), for NDJSON the
	// object's keys by their proto names ("display_name", "attributes").
	// A CSV empty cell leaves its field unset (the zero value) but the
	// column is still listed, so an update through these paths clears it.
	// CSV rows share one slice: callers must not modify it.
	Fields []string
	// Err says why the row could not be read; nil when it parsed.
	Err *RowError
}

// RowError is why a row could not be read.
type RowError struct {
	// Field is the proto field path at fault ("kind", "attributes.city"),
	// or "" when the row as a whole is malformed.
	Field string
	// Reason says what is wrong, in words for the person fixing the file.
	Reason string
}

// Error makes a RowError usable as an error.
func (e *RowError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// HeaderError is a CSV header the reader cannot work with; the whole file
// is refused.
type HeaderError struct {
	// Column is the header cell at fault, or "" when the header as a whole
	// is (an empty file, bad quoting).
	Column string
	// Reason says what is wrong.
	Reason string
}

func (e *HeaderError) Error() string {
	if e.Column == "" {
		return "csv header: " + e.Reason
	}
	return fmt.Sprintf("csv header: column %q: %s", e.Column, e.Reason)
}

// AttributeTypes gives the declared type of a custom attribute, and false
// when no attribute has that name.
type AttributeTypes func(name string) (customerv1.AttributeType, bool)

// Reader reads rows from a file. It is not safe for concurrent use.
type Reader struct {
	next func() (Row, error)
}

// NewReader returns a reader of the given format over r. For CSV it reads
// and checks the header now and returns a *HeaderError for an unknown or
// repeated column, an attribute column attrType does not know, or a
// missing display_name column. attrType may be nil when no attributes are
// declared.
func NewReader(format customerv1.ImportFormat, r io.Reader, attrType AttributeTypes) (*Reader, error) {
	if attrType == nil {
		attrType = func(string) (customerv1.AttributeType, bool) { return 0, false }
	}
	switch format {
	case customerv1.ImportFormat_IMPORT_FORMAT_CSV:
		cr, err := newCSVReader(r, attrType)
		if err != nil {
			return nil, err
		}
		return &Reader{next: cr.next}, nil
	case customerv1.ImportFormat_IMPORT_FORMAT_NDJSON:
		nr := newNDJSONReader(r)
		return &Reader{next: nr.next}, nil
	default:
		return nil, fmt.Errorf("import format %v is not supported", format)
	}
}

// Next returns the next row, or io.EOF after the last one. A row that
// cannot be parsed comes back with Err set and a nil error; the returned
// error is only ever the underlying reader's (or io.EOF), after which the
// Reader must not be used.
func (r *Reader) Next() (Row, error) {
	return r.next()
}

// nulRowError is the error of a row whose customer c holds a NUL, nil when
// it holds none: text no store can keep is the row's fault, named like any
// other bad cell (see textguard). The readers call it only for rows whose
// raw text shows a NUL, so clean rows cost nothing.
func nulRowError(c *customerv1.Customer) *RowError {
	if bad := textguard.NULFields(c.ProtoReflect(), 1); len(bad) > 0 {
		return &RowError{Field: bad[0], Reason: textguard.Description}
	}
	return nil
}

// errRowTooLong stops the CSV parser when a record grows past MaxRowBytes.
var errRowTooLong = errors.New("row too long")

func rowTooLong() *RowError {
	return &RowError{Reason: fmt.Sprintf("the row is longer than %d MiB", MaxRowBytes>>20)}
}
