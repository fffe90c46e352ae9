package importfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/textguard"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// Columns are the CSV columns besides attributes.<name>, in the order an
// export writes them.
var Columns = []string{
	"external_id", "type", "kind", "lifecycle_stage", "display_name", "email", "phone",
	"other_emails", "other_phones", "tags", "locale", "time_zone", "birthday", "owner_id", "team_id",
}

// AttributePrefix starts the name of a custom attribute's column.
const AttributePrefix = "attributes."

// ListSeparator separates the items of other_emails, other_phones and tags.
const ListSeparator = ";"

// formulaStart are the characters with which a spreadsheet takes a cell
// for a formula (OWASP, "CSV Injection"): a cell starting with one of them
// in an exported file could run a formula when the file is opened.
const formulaStart = "=+-@\t\r"

// EscapeCell is how an export writes a cell: a value a spreadsheet would
// take for a formula gets a leading single quote, which spreadsheets show
// as text and import drops again (OWASP's advice). A value that already
// starts with a quote followed by such a character or another quote gets
// one too, so that UnescapeCell(EscapeCell(v)) == v for every v: the
// escape is reversible, and an exported file imports unchanged. A phone in
// E.164 ("+86...") is escaped like any other cell, which also keeps a
// spreadsheet from reading it as a number.
func EscapeCell(v string) string {
	if needsQuote(v) || len(v) > 1 && v[0] == '\'' && (needsQuote(v[1:]) || v[1] == '\'') {
		return "'" + v
	}
	return v
}

// UnescapeCell undoes EscapeCell for a cell read from a CSV file: it drops
// a leading single quote that is followed by a formula character or by
// another quote. Any other leading quote ("'t Hooft") is part of the value.
func UnescapeCell(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && (needsQuote(cell[1:]) || cell[1] == '\'') {
		return cell[1:]
	}
	return cell
}

func needsQuote(v string) bool {
	return v != "" && strings.IndexByte(formulaStart, v[0]) >= 0
}

// columnKind says how a column's text becomes a Customer field.
type columnKind int

const (
	colExternalID columnKind = iota
	colType
	colKind
	colLifecycleStage
	colDisplayName
	colEmail
	colPhone
	colOtherEmails
	colOtherPhones
	colTags
	colLocale
	colTimeZone
	colBirthday
	colOwnerID
	colTeamID
	colAttribute
)

type column struct {
	kind     columnKind
	path     string // the proto field path, as in Row.Fields
	attr     string // the attribute name, for colAttribute
	attrType customerv1.AttributeType
}

type csvReader struct {
	w       *window
	cr      *csv.Reader
	csvBase int64 // offset in the file where cr's input starts
	lineOff int64 // cr's line n is line lineOff+n of the file
	cols    []column
	fields  []string
}

func newCSVReader(src io.Reader, attrType AttributeTypes) (*csvReader, error) {
	r := &csvReader{w: newWindow(src, MaxRowBytes)}
	if err := r.w.skipBOM(); err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	r.restart(0)
	header, err := r.cr.Read()
	var perr *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return nil, &HeaderError{Reason: "the file is empty; the first line must name the columns"}
	case errors.Is(err, errRowTooLong):
		return nil, &HeaderError{Reason: rowTooLong().Reason}
	case errors.As(err, &perr):
		return nil, &HeaderError{Reason: perr.Err.Error()}
	case err != nil:
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	if err := r.parseHeader(header, attrType); err != nil {
		return nil, err
	}
	r.cr.FieldsPerRecord = len(header)
	r.w.advance(r.csvBase + r.cr.InputOffset())
	return r, nil
}

// restart starts a new encoding/csv reader at the window's read position,
// which is the start of line lineOff+1.
func (r *csvReader) restart(lineOff int64) {
	r.cr = csv.NewReader(r.w)
	r.cr.ReuseRecord = true
	if r.cols != nil {
		r.cr.FieldsPerRecord = len(r.cols)
	}
	r.csvBase = r.w.pos
	r.lineOff = lineOff
}

func (r *csvReader) parseHeader(header []string, attrType AttributeTypes) error {
	seen := make(map[string]bool, len(header))
	r.cols = make([]column, len(header))
	r.fields = make([]string, len(header))
	for i, cell := range header {
		name := strings.ToLower(strings.TrimSpace(cell))
		if name == "" {
			return &HeaderError{Column: cell, Reason: fmt.Sprintf("column %d has no name", i+1)}
		}
		if seen[name] {
			return &HeaderError{Column: cell, Reason: "appears more than once"}
		}
		seen[name] = true
		col := column{path: name}
		if attr, ok := strings.CutPrefix(name, AttributePrefix); ok {
			t, declared := attrType(attr)
			if !declared {
				return &HeaderError{Column: cell, Reason: fmt.Sprintf("no attribute %q is declared; create its definition first", attr)}
			}
			col.kind, col.attr, col.attrType = colAttribute, attr, t
		} else {
			k, known := columnKinds[name]
			if !known {
				return &HeaderError{Column: cell, Reason: "unknown column; want one of " + strings.Join(Columns, ", ") + " or " + AttributePrefix + "<name>"}
			}
			col.kind = k
		}
		r.cols[i], r.fields[i] = col, name
	}
	if !seen["display_name"] {
		return &HeaderError{Column: "display_name", Reason: "the column is missing"}
	}
	return nil
}

var columnKinds = func() map[string]columnKind {
	m := make(map[string]columnKind, len(Columns))
	for i, name := range Columns {
		m[name] = columnKind(i)
	}
	return m
}()

func (r *csvReader) next() (Row, error) {
	rec, err := r.cr.Read()
	var perr *csv.ParseError
	switch {
	case err == nil:
		line, _ := r.cr.FieldPos(0)
		r.w.advance(r.csvBase + r.cr.InputOffset())
		row := Row{Line: r.lineOff + int64(line), Fields: r.fields}
		row.Customer, row.Err = r.convert(rec)
		if row.Err != nil {
			row.Customer = nil
		}
		return row, nil
	case errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrFieldCount):
		// The record itself was read whole; only its width is wrong.
		r.w.advance(r.csvBase + r.cr.InputOffset())
		return Row{
			Line:   r.lineOff + int64(perr.StartLine),
			Fields: r.fields,
			Err:    &RowError{Reason: fmt.Sprintf("the row has %d columns, the header %d", len(rec), len(r.cols))},
		}, nil
	case errors.As(err, &perr):
		// Bad quoting. encoding/csv may have read on past the row's
		// first line looking for a closing quote, taking good rows
		// with it; start again on the line after the row's first.
		line := r.lineOff + int64(perr.StartLine)
		rerr := &RowError{Reason: quoteReason(perr, r.lineOff)}
		r.w.restartAt(line + 1)
		r.restart(line)
		return Row{Line: line, Fields: r.fields, Err: rerr}, nil
	case errors.Is(err, errRowTooLong):
		line := r.w.firstRowLine()
		r.w.restartAt(line + 1)
		r.restart(line)
		return Row{Line: line, Fields: r.fields, Err: rowTooLong()}, nil
	case errors.Is(err, io.EOF):
		return Row{}, io.EOF
	default:
		return Row{}, fmt.Errorf("read csv: %w", err)
	}
}

// quoteReason explains a quoting error; lineOff makes the parser's line
// numbers the file's.
func quoteReason(perr *csv.ParseError, lineOff int64) string {
	line := lineOff + int64(perr.Line)
	switch {
	case errors.Is(perr.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`bad quoting: a " inside a field that does not start with one (column %d); quote the whole field and double the inner quote`, perr.Column)
	case perr.Line > perr.StartLine:
		return fmt.Sprintf(`bad quoting: a quoted field opened on this line is not closed properly (the parser gave up at line %d, column %d); look for a missing or stray "`, line, perr.Column)
	default:
		return fmt.Sprintf(`bad quoting: a quoted field is not closed, or text follows its closing " (column %d)`, perr.Column)
	}
}

// convert builds the Customer of one record; the first cell that cannot be
// read is the row's error.
func (r *csvReader) convert(rec []string) (*customerv1.Customer, *RowError) {
	c := &customerv1.Customer{}
	for i, cell := range rec {
		if cell == "" {
			continue
		}
		cell = UnescapeCell(cell)
		col := &r.cols[i]
		if strings.IndexByte(cell, 0) >= 0 {
			// Text no store can keep (see textguard).
			return nil, &RowError{Field: col.path, Reason: textguard.Description}
		}
		switch col.kind {
		case colExternalID:
			c.ExternalId = cell
		case colDisplayName:
			c.DisplayName = cell
		case colEmail:
			c.Email = cell
		case colPhone:
			c.Phone = cell
		case colLocale:
			c.Locale = cell
		case colTimeZone:
			c.TimeZone = cell
		case colOwnerID:
			c.OwnerId = cell
		case colTeamID:
			c.TeamId = cell
		case colOtherEmails:
			c.OtherEmails = splitList(cell)
		case colOtherPhones:
			c.OtherPhones = splitList(cell)
		case colTags:
			c.Tags = splitList(cell)
		case colType:
			v, err := customerEnums.customerType.parse(cell)
			if err != nil {
				return nil, &RowError{Field: col.path, Reason: err.Error()}
			}
			c.Type = customerv1.CustomerType(v)
		case colKind:
			v, err := customerEnums.kind.parse(cell)
			if err != nil {
				return nil, &RowError{Field: col.path, Reason: err.Error()}
			}
			c.Kind = customerv1.CustomerKind(v)
		case colLifecycleStage:
			v, err := customerEnums.lifecycleStage.parse(cell)
			if err != nil {
				return nil, &RowError{Field: col.path, Reason: err.Error()}
			}
			c.LifecycleStage = customerv1.LifecycleStage(v)
		case colBirthday:
			d, err := ParseDate(cell)
			if err != nil {
				return nil, &RowError{Field: col.path, Reason: err.Error()}
			}
			c.Birthday = d
		case colAttribute:
			v, err := parseAttribute(col.attrType, cell)
			if err != nil {
				return nil, &RowError{Field: col.path, Reason: err.Error()}
			}
			if v == nil {
				continue
			}
			if c.Attributes == nil {
				c.Attributes = make(map[string]*customerv1.AttributeValue, 4)
			}
			c.Attributes[col.attr] = v
		}
	}
	return c, nil
}

// splitList splits a list cell on ";", trimming each item and dropping
// empty ones, so "vip; wholesale;" is two tags.
func splitList(cell string) []string {
	n := strings.Count(cell, ListSeparator) + 1
	out := make([]string, 0, n)
	for cell != "" {
		item, rest, _ := strings.Cut(cell, ListSeparator)
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
		cell = rest
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
