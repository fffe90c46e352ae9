package customerscli

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

// csvWriter writes customers as the CSV that ImportCustomers reads back, in
// the columns of the service's own parser (importfile.Columns), with cells
// a spreadsheet would take for a formula escaped (importfile.EscapeCell).
type csvWriter struct {
	w       *csv.Writer
	attrs   []string // attribute columns, in header order
	attrSet map[string]bool
	record  []string
	// unknown counts values of attributes that have no column: declared
	// after the header was written.
	unknown map[string]int
}

func newCSVWriter(w io.Writer, attrs []string) (*csvWriter, error) {
	cw := &csvWriter{w: csv.NewWriter(w), attrs: attrs, attrSet: map[string]bool{}, unknown: map[string]int{}}
	for _, a := range attrs {
		cw.attrSet[a] = true
	}
	header := append([]string(nil), importfile.Columns...)
	for _, a := range attrs {
		header = append(header, importfile.AttributePrefix+a)
	}
	cw.record = make([]string, len(header))
	if err := cw.w.Write(header); err != nil {
		return nil, err
	}
	return cw, nil
}

func (cw *csvWriter) write(c *customerv1.Customer) error {
	r := cw.record
	r[0] = c.GetExternalId()
	r[1] = enumShort(c.GetType().String(), "CUSTOMER_TYPE_")
	r[2] = enumShort(c.GetKind().String(), "CUSTOMER_KIND_")
	r[3] = enumShort(c.GetLifecycleStage().String(), "LIFECYCLE_STAGE_")
	r[4] = c.GetDisplayName()
	r[5] = c.GetEmail()
	r[6] = c.GetPhone()
	r[7] = strings.Join(c.GetOtherEmails(), importfile.ListSeparator)
	r[8] = strings.Join(c.GetOtherPhones(), importfile.ListSeparator)
	r[9] = strings.Join(c.GetTags(), importfile.ListSeparator)
	r[10] = c.GetLocale()
	r[11] = c.GetTimeZone()
	r[12] = formatDate(c.GetBirthday())
	r[13] = c.GetOwnerId()
	r[14] = c.GetTeamId()
	for i, a := range cw.attrs {
		r[len(importfile.Columns)+i] = formatAttribute(c.GetAttributes()[a])
	}
	for name := range c.GetAttributes() {
		if !cw.attrSet[name] {
			cw.unknown[name]++
		}
	}
	// No cell may run as a formula when the file is opened in a
	// spreadsheet; the import undoes the escape.
	for i := range r {
		r[i] = importfile.EscapeCell(r[i])
	}
	return cw.w.Write(r)
}

func (cw *csvWriter) flush() error {
	cw.w.Flush()
	return cw.w.Error()
}

// enumShort drops an enum value's prefix; the unspecified value is an
// empty cell.
func enumShort(name, prefix string) string {
	s := strings.TrimPrefix(name, prefix)
	if s == "UNSPECIFIED" {
		return ""
	}
	return s
}

// formatDate writes YYYY-MM-DD, or --MM-DD without a year.
func formatDate(d *date.Date) string {
	switch {
	case d == nil || d.GetMonth() == 0 && d.GetDay() == 0 && d.GetYear() == 0:
		return ""
	case d.GetYear() == 0:
		return fmt.Sprintf("--%02d-%02d", d.GetMonth(), d.GetDay())
	default:
		return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
	}
}

func formatAttribute(v *customerv1.AttributeValue) string {
	switch x := v.GetValue().(type) {
	case *customerv1.AttributeValue_StringValue:
		return x.StringValue
	case *customerv1.AttributeValue_NumberValue:
		return strconv.FormatFloat(x.NumberValue, 'g', -1, 64)
	case *customerv1.AttributeValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *customerv1.AttributeValue_DateValue:
		return formatDate(x.DateValue)
	case *customerv1.AttributeValue_EnumValue:
		return x.EnumValue
	default:
		return ""
	}
}
