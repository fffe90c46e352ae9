package customer_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// bulkRows is the size of the files of TestImportOnePercentBadRows: more
// than two of the service's 5,000-row batches, so bad rows, duplicates
// and updates meet batch boundaries and batches written side by side.
const bulkRows = 12000

// bulkPhone is the phone of row i of the files.
func bulkPhone(i int) string { return fmt.Sprintf("138%08d", i) }

// TestImportOnePercentBadRows imports a file of several batches in which
// 1% of the rows are bad, then the same customers again, half of them
// changed and another 1% of rows bad: each bad row is reported with its
// line, field and reason in file order, and nothing else is refused; the
// second import updates by external id, skips unchanged rows, creates the
// rows the first refused and announces exactly what it created and changed.
func TestImportOnePercentBadRows(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, numberAttr("spend"))
		ctx := bulk(t, testActor)
		const header = "external_id,display_name,email,phone,attributes.spend\n"
		good := func(f *bytes.Buffer, i int, name string) {
			fmt.Fprintf(f, "ext-%05d,%s,c%05d@example.cn,%s,%d\n", i, name, i, bulkPhone(i), i)
		}
		name := func(i int) string { return fmt.Sprintf("客户%05d", i) }

		// The first file: rows with i%100 == 41 are bad.
		var first bytes.Buffer
		first.WriteString(header)
		var bad []badRow
		for i := range bulkRows {
			line := int64(i + 2)
			if i%100 != 41 {
				good(&first, i, name(i))
				continue
			}
			switch (i / 100) % 6 {
			case 0:
				fmt.Fprintf(&first, "ext-%05d,%s,not-an-email,%s,%d\n", i, name(i), bulkPhone(i), i)
				bad = append(bad, badRow{line, "email", "email"})
			case 1:
				fmt.Fprintf(&first, "ext-%05d,%s,c%05d@example.cn,12345,%d\n", i, name(i), i, i)
				bad = append(bad, badRow{line, "phone", "phone"})
			case 2:
				fmt.Fprintf(&first, "ext-%05d,,c%05d@example.cn,%s,%d\n", i, i, bulkPhone(i), i)
				bad = append(bad, badRow{line, "display_name", "required"})
			case 3:
				fmt.Fprintf(&first, "ext-%05d,%s,c%05d@example.cn,%s,12k\n", i, name(i), i, bulkPhone(i))
				bad = append(bad, badRow{line, "attributes.spend", "12k"})
			case 4:
				// The phone of a good row of an earlier batch, or of the
				// row before it in the first one, written differently.
				other := i - 1
				if i > 5001 {
					other = i - 5001
				}
				fmt.Fprintf(&first, "ext-%05d,%s,c%05d@example.cn,+86 %s,%d\n", i, name(i), i, bulkPhone(other), i)
				bad = append(bad, badRow{line, "phone", "already belongs to customer"})
			case 5:
				fmt.Fprintf(&first, "ext-%05d,%s,c%05d@example.cn\n", i, name(i), i)
				bad = append(bad, badRow{line, "", "columns"})
			}
		}
		if len(bad) != bulkRows/100 {
			t.Fatalf("generated %d bad rows, want %d", len(bad), bulkRows/100)
		}
		res, err := h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_CSV, first.Bytes(), false)
		if err != nil {
			t.Fatalf("first import: %v", err)
		}
		created := int64(bulkRows - len(bad))
		if res.GetRowCount() != bulkRows || res.GetCreatedCount() != created || res.GetUpdatedCount() != 0 ||
			res.GetUnchangedCount() != 0 || res.GetFailedCount() != int64(len(bad)) {
			t.Errorf("first import: rows %d created %d updated %d unchanged %d failed %d; want rows %d created %d failed %d",
				res.GetRowCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetUnchangedCount(), res.GetFailedCount(),
				bulkRows, created, len(bad))
		}
		checkRowErrors(t, "first import", res.GetErrors(), bad)

		// The second file: the rows the first refused, now good, are
		// created; even rows change their name; rows with i%100 == 73,
		// each a stored customer, are bad, the rest unchanged.
		var second bytes.Buffer
		second.WriteString(header)
		bad = bad[:0]
		var updated, unchanged int64
		for i := range bulkRows {
			line := int64(i + 2)
			switch {
			case i%100 == 41:
				good(&second, i, name(i))
				continue
			case i%100 != 73 && i%2 == 0:
				good(&second, i, name(i)+"改")
				updated++
				continue
			case i%100 != 73:
				good(&second, i, name(i))
				unchanged++
				continue
			}
			switch (i / 100) % 4 {
			case 0:
				fmt.Fprintf(&second, "ext-%05d,%s改,not-an-email,%s,%d\n", i, name(i), bulkPhone(i), i)
				bad = append(bad, badRow{line, "email", "email"})
			case 1: // the phone another stored customer holds
				fmt.Fprintf(&second, "ext-%05d,%s改,c%05d@example.cn,%s,%d\n", i, name(i), i, bulkPhone(i+1), i)
				bad = append(bad, badRow{line, "phone", "already belongs to customer"})
			case 2:
				fmt.Fprintf(&second, "ext-%05d,%s改,c%05d@example.cn,%s,lots\n", i, name(i), i, bulkPhone(i))
				bad = append(bad, badRow{line, "attributes.spend", "lots"})
			case 3:
				fmt.Fprintf(&second, "ext-%05d,%s改\n", i, name(i))
				bad = append(bad, badRow{line, "", "columns"})
			}
		}
		res, err = h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_CSV, second.Bytes(), false)
		if err != nil {
			t.Fatalf("second import: %v", err)
		}
		if res.GetRowCount() != bulkRows || res.GetCreatedCount() != bulkRows/100 || res.GetUpdatedCount() != updated ||
			res.GetUnchangedCount() != unchanged || res.GetFailedCount() != int64(len(bad)) {
			t.Errorf("second import: rows %d created %d updated %d unchanged %d failed %d; want rows %d created %d updated %d unchanged %d failed %d",
				res.GetRowCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetUnchangedCount(), res.GetFailedCount(),
				bulkRows, bulkRows/100, updated, unchanged, len(bad))
		}
		checkRowErrors(t, "second import", res.GetErrors(), bad)

		// Every customer is announced once as imported, and every change
		// once, naming the one field that changed.
		createdEvents := h.publishedEvents(t, customerv1.SubjectCustomerCreated)
		if len(createdEvents) != bulkRows {
			t.Errorf("%d CustomerCreated events, want %d", len(createdEvents), bulkRows)
		}
		for _, raw := range createdEvents {
			var ev customerv1.CustomerCreated
			if err := proto.Unmarshal(raw, &ev); err != nil || !ev.GetImported() {
				t.Fatalf("CustomerCreated %v not marked imported (%v)", ev.GetCustomer().GetExternalId(), err)
			}
		}
		updatedEvents := h.publishedEvents(t, customerv1.SubjectCustomerUpdated)
		if int64(len(updatedEvents)) != updated {
			t.Errorf("%d CustomerUpdated events, want %d", len(updatedEvents), updated)
		}
		for _, raw := range updatedEvents {
			var ev customerv1.CustomerUpdated
			if err := proto.Unmarshal(raw, &ev); err != nil || !slices.Equal(ev.GetChangedFields(), []string{"display_name"}) ||
				!strings.HasSuffix(ev.GetCustomer().GetDisplayName(), "改") {
				t.Fatalf("CustomerUpdated %v changed %v (%v)", ev.GetCustomer().GetDisplayName(), ev.GetChangedFields(), err)
			}
		}

		// The stored customers: changed, unchanged, refused and created.
		byExt := map[string]*customerv1.Customer{}
		for _, c := range h.export(t, &customerv1.ExportCustomersRequest{}) {
			byExt[c.GetExternalId()] = c
		}
		if len(byExt) != bulkRows {
			t.Errorf("%d customers stored, want %d", len(byExt), bulkRows)
		}
		for i, want := range map[int]string{10: name(10) + "改", 11: name(11), 141: name(141), 5173: name(5173), 11998: name(11998) + "改"} {
			c := byExt[fmt.Sprintf("ext-%05d", i)]
			if c.GetDisplayName() != want || c.GetPhone() != "+86"+bulkPhone(i) || c.GetAttributes()["spend"].GetNumberValue() != float64(i) {
				t.Errorf("ext-%05d = %v, want name %s", i, c, want)
			}
		}
	})
}

// checkRowErrors checks that errs are exactly the rows of want, in file
// order, each naming its field and giving its reason.
func checkRowErrors(t *testing.T, what string, errs []*customerv1.ImportError, want []badRow) {
	t.Helper()
	var lines, wantLines []int64
	for _, e := range errs {
		lines = append(lines, e.GetLine())
	}
	for _, b := range want {
		wantLines = append(wantLines, b.line)
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("%s: error lines (-want +got):\n%s", what, diff)
	}
	byLine := map[int64]*customerv1.ImportError{}
	for _, e := range errs {
		byLine[e.GetLine()] = e
	}
	for _, b := range want {
		e := byLine[b.line]
		if e == nil {
			continue
		}
		if e.GetField() != b.field || !strings.Contains(strings.ToLower(e.GetReason()), strings.ToLower(b.reason)) {
			t.Errorf("%s: line %d: field %q reason %q, want field %q and a reason mentioning %q", what, b.line, e.GetField(), e.GetReason(), b.field, b.reason)
		}
	}
}
