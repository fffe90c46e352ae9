package importfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

type ndjsonReader struct {
	br   *bufio.Reader
	line int64  // the line last read
	long []byte // a line longer than br's buffer, put together
	opts protojson.UnmarshalOptions
}

func newNDJSONReader(src io.Reader) *ndjsonReader {
	return &ndjsonReader{
		br: bufio.NewReaderSize(src, readChunk),
		// Unknown fields are errors: a misspelt key would otherwise import
		// a row without the value its author meant to set.
		opts: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
}

func (r *ndjsonReader) next() (Row, error) {
	for {
		b, tooLong, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Row{}, io.EOF
			}
			return Row{}, fmt.Errorf("read ndjson: %w", err)
		}
		r.line++
		if r.line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		if tooLong {
			return Row{Line: r.line, Err: rowTooLong()}, nil
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		row := r.parse(b)
		// JSON carries a NUL only escaped.
		if row.Err == nil && bytes.Contains(b, []byte(`\u0000`)) {
			if rerr := nulRowError(row.Customer); rerr != nil {
				row.Customer, row.Err = nil, rerr
			}
		}
		return row, nil
	}
}

// readLine returns the next line with its newline, or tooLong when it is
// longer than MaxRowBytes (its bytes are skipped, not kept). The returned
// bytes are valid until the next call.
func (r *ndjsonReader) readLine() (line []byte, tooLong bool, err error) {
	b, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = r.br.ReadSlice('\n')
			if !tooLong && len(r.long)+len(b) > MaxRowBytes {
				tooLong, r.long = true, r.long[:0]
			}
			if !tooLong {
				r.long = append(r.long, b...)
			}
		}
		b = r.long
		if err == nil || errors.Is(err, io.EOF) {
			return b, tooLong, nil // an EOF comes again on the next call
		}
		return nil, false, err
	}
	if errors.Is(err, io.EOF) && len(b) > 0 {
		return b, false, nil
	}
	return b, false, err
}

func (r *ndjsonReader) parse(b []byte) Row {
	row := Row{Line: r.line}
	c := &customerv1.Customer{}
	if err := r.opts.Unmarshal(b, c); err != nil {
		row.Err = r.diagnose(b, err)
		return row
	}
	if rerr := checkDates(c); rerr != nil {
		row.Err = rerr
		return row
	}
	row.Customer = c
	row.Fields = appendKeys(make([]string, 0, 16), b)
	return row
}

// checkDates refuses dates that are not on the calendar, which protojson
// takes as any three numbers. An empty birthday object means none.
func checkDates(c *customerv1.Customer) *RowError {
	if b := c.GetBirthday(); b != nil {
		if b.GetYear() == 0 && b.GetMonth() == 0 && b.GetDay() == 0 {
			c.Birthday = nil
		} else if err := CheckDate(b); err != nil {
			return &RowError{Field: "birthday", Reason: err.Error()}
		}
	}
	for name, v := range c.GetAttributes() {
		if d := v.GetDateValue(); d != nil {
			if err := CheckDate(d); err != nil {
				return &RowError{Field: AttributePrefix + name, Reason: err.Error()}
			}
		}
	}
	return nil
}

// customerFields maps each Customer field's JSON and proto names to its
// proto name.
var customerFields = func() map[string]string {
	m := make(map[string]string)
	fields := (&customerv1.Customer{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		m[string(f.Name())] = string(f.Name())
		m[f.JSONName()] = string(f.Name())
	}
	return m
}()

// appendKeys appends the proto names of the keys of the JSON object b,
// which protojson has already accepted as a Customer. A scan for the
// top-level keys is much cheaper than decoding the line a second time.
func appendKeys(dst []string, b []byte) []string {
	depth, expectKey := 0, false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			start, escaped := i+1, false
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					escaped = true
					i++
				}
			}
			if !expectKey {
				continue
			}
			expectKey = false
			key := b[start:i]
			if escaped {
				var s string
				if json.Unmarshal(b[start-1:i+1], &s) == nil {
					key = []byte(s)
				}
			}
			if name, ok := customerFields[string(key)]; ok {
				dst = append(dst, name)
			} else {
				dst = append(dst, string(key))
			}
		}
	}
	return dst
}

// diagnose finds the field behind protojson's error, which does not name it
// in a form to rely on: it tries each top-level key on its own. It runs
// only for bad rows.
func (r *ndjsonReader) diagnose(b []byte, perr error) *RowError {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		var serr *json.SyntaxError
		if errors.As(err, &serr) {
			return &RowError{Reason: fmt.Sprintf("not valid JSON: %v (at byte %d)", serr, serr.Offset)}
		}
		return &RowError{Reason: "not valid JSON"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &RowError{Reason: "not a JSON object; each line must be one customer"}
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		name, known := customerFields[key]
		if !known {
			return &RowError{Field: key, Reason: "unknown field"}
		}
		if seen[name] {
			return &RowError{Field: name, Reason: "appears more than once"}
		}
		seen[name] = true
		one, _ := json.Marshal(map[string]json.RawMessage{key: raw})
		if err := r.opts.Unmarshal(one, &customerv1.Customer{}); err != nil {
			return &RowError{Field: name, Reason: protoReason(err)}
		}
	}
	return &RowError{Reason: protoReason(perr)}
}

// protoReason strips protojson's "proto:" lead and "(line 1:23)" positions,
// which point into the line or the one-field object diagnose made, from an
// error. Its separators vary on purpose (protobuf randomizes them so nobody
// parses its messages), hence the loose matching.
func protoReason(err error) string {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "proto:"); ok {
		s = rest
	}
	s = linePosition.ReplaceAllString(s, "")
	return strings.TrimLeft(strings.TrimSpace(s), ": ")
}

var linePosition = regexp.MustCompile(`[\s\x{00a0}]*\(line \d+:\d+\)`)
