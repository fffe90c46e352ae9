package customer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// importChunk is how many bytes of a file go in one ImportCustomers message.
const importChunk = 64 << 10

// importFile streams data to ImportCustomers in importChunk pieces.
func (h harness) importFile(t *testing.T, ctx context.Context, format customerv1.ImportFormat, data []byte, allowDuplicates bool) (*customerv1.ImportCustomersResponse, error) {
	t.Helper()
	return h.importChunks(t, ctx, format, data, importChunk, allowDuplicates)
}

// importChunks streams data in pieces of chunk bytes, so rows may span
// messages.
func (h harness) importChunks(t *testing.T, ctx context.Context, format customerv1.ImportFormat, data []byte, chunk int, allowDuplicates bool) (*customerv1.ImportCustomersResponse, error) {
	t.Helper()
	stream, err := h.client.ImportCustomers(ctx)
	if err != nil {
		return nil, err
	}
	first := true
	for first || len(data) > 0 {
		n := min(chunk, len(data))
		req := &customerv1.ImportCustomersRequest{Data: data[:n]}
		if first {
			req.Format, req.AllowDuplicates = format, allowDuplicates
		}
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				// The server answered early; CloseAndRecv has its status.
				break
			}
			return nil, err
		}
		data, first = data[n:], false
	}
	return stream.CloseAndRecv()
}

// exportBatches runs ExportCustomers and returns the batches it streamed.
func (h harness) exportBatches(t *testing.T, req *customerv1.ExportCustomersRequest) ([][]*customerv1.Customer, error) {
	t.Helper()
	ctx := as(t, testActor)
	stream, err := h.client.ExportCustomers(ctx, req)
	if err != nil {
		return nil, err
	}
	var out [][]*customerv1.Customer
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, resp.GetCustomers())
	}
}

// export returns every customer ExportCustomers streams for req.
func (h harness) export(t *testing.T, req *customerv1.ExportCustomersRequest) []*customerv1.Customer {
	t.Helper()
	batches, err := h.exportBatches(t, req)
	if err != nil {
		t.Fatalf("ExportCustomers(%v): %v", req, err)
	}
	return slices.Concat(batches...)
}

// declare creates attribute definitions, failing the test when one fails.
func (h harness) declare(t *testing.T, defs ...*customerv1.AttributeDefinition) {
	t.Helper()
	for _, d := range defs {
		if _, err := h.client.CreateAttributeDefinition(as(t, "admin"), &customerv1.CreateAttributeDefinitionRequest{AttributeDefinition: d}); err != nil {
			t.Fatalf("CreateAttributeDefinition(%s): %v", d.GetName(), err)
		}
	}
}

func stringAttr(name string) *customerv1.AttributeDefinition {
	return &customerv1.AttributeDefinition{Name: name, Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING}
}

func numberAttr(name string) *customerv1.AttributeDefinition {
	return &customerv1.AttributeDefinition{Name: name, Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER}
}

// badRow is a malformed row of a generated file and the error it must get.
type badRow struct {
	line int64
	// field is the field the error must name; "" when the row as a whole
	// is at fault.
	field string
	// reason is a part the error's reason must hold.
	reason string
}

// TestImportMalformedRows imports a file with 5% malformed rows of many
// kinds: every good row is imported and each bad row is reported with its
// line number and reason, in file order.
func TestImportMalformedRows(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, numberAttr("spend"), stringAttr("city"))
		existing := h.create(t, &customerv1.Customer{DisplayName: "已有客户", Phone: "139 0000 9999"})

		const rows = 400
		var file bytes.Buffer
		file.WriteString("external_id,display_name,email,phone,kind,tags,attributes.spend,attributes.city\n")
		var bad []badRow
		kinds := 0
		for i := range rows {
			line := int64(i + 2) // the header is line 1
			phone := fmt.Sprintf("138%08d", i)
			good := fmt.Sprintf("ext-%03d,客户%03d,c%03d@example.cn,%s,DISTRIBUTOR,vip;wholesale,%d.5,Hangzhou\n", i, i, i, phone, i)
			if i%20 != 7 {
				file.WriteString(good)
				continue
			}
			switch kinds % 10 {
			case 0: // a bare quote inside an unquoted field
				fmt.Fprintf(&file, "ext-%03d,Wang \"Xiao\" Ming,c%03d@example.cn,%s,,,,\n", i, i, phone)
				bad = append(bad, badRow{line, "", "quot"})
			case 1:
				fmt.Fprintf(&file, "ext-%03d,客户%03d,not-an-email,%s,,,,\n", i, i, phone)
				bad = append(bad, badRow{line, "email", "email"})
			case 2:
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,%s,WHOLESALER,,,\n", i, i, i, phone)
				bad = append(bad, badRow{line, "kind", "WHOLESALER"})
			case 3:
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,%s,,,12k,\n", i, i, i, phone)
				bad = append(bad, badRow{line, "attributes.spend", "12k"})
			case 4:
				fmt.Fprintf(&file, "ext-%03d,,c%03d@example.cn,%s,,,,\n", i, i, phone)
				bad = append(bad, badRow{line, "display_name", "required"})
			case 5: // the phone of the first good row, written differently
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,+86 138-0000-0000,,,,\n", i, i, i)
				bad = append(bad, badRow{line, "phone", "already belongs to customer"})
			case 6: // the phone of a customer created before the import
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,13900009999,,,,\n", i, i, i)
				bad = append(bad, badRow{line, "phone", existing.GetId()})
			case 7:
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,%s,,\n", i, i, i, phone)
				bad = append(bad, badRow{line, "", "columns"})
			case 8:
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,12345,,,,\n", i, i, i)
				bad = append(bad, badRow{line, "phone", "phone"})
			case 9: // a tag beyond the 100 characters a tag may have
				fmt.Fprintf(&file, "ext-%03d,客户%03d,c%03d@example.cn,%s,,vip;%s,,\n", i, i, i, phone, strings.Repeat("长", 101))
				bad = append(bad, badRow{line, "tags[1]", "100 characters"})
			}
			kinds++
		}
		if len(bad) != rows/20 {
			t.Fatalf("generated %d bad rows, want %d", len(bad), rows/20)
		}
		// A quoted field left open swallows the rest of the file into one
		// field unless the reader recovers; it goes last but one.
		file.WriteString("ext-open,\"客户 open,open@example.cn,13700000000,,,,\n")
		file.WriteString("ext-last,客户 last,last@example.cn,13700000001,,,,\n")
		bad = append(bad, badRow{rows + 2, "", "quot"})
		const good = rows - rows/20 + 1

		// Small chunks, so rows span messages.
		res, err := h.importChunks(t, as(t, testActor), customerv1.ImportFormat_IMPORT_FORMAT_CSV, file.Bytes(), 997, false)
		if err != nil {
			t.Fatalf("ImportCustomers: %v", err)
		}
		if res.GetRowCount() != rows+2 || res.GetCreatedCount() != good || res.GetFailedCount() != int64(len(bad)) ||
			res.GetUpdatedCount() != 0 || res.GetUnchangedCount() != 0 {
			t.Errorf("rows %d created %d updated %d unchanged %d failed %d; want rows %d created %d failed %d",
				res.GetRowCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetUnchangedCount(), res.GetFailedCount(),
				rows+2, good, len(bad))
		}
		var lines []int64
		for _, e := range res.GetErrors() {
			lines = append(lines, e.GetLine())
		}
		var wantLines []int64
		for _, b := range bad {
			wantLines = append(wantLines, b.line)
		}
		if diff := cmp.Diff(wantLines, slices.Sorted(slices.Values(lines))); diff != "" {
			t.Errorf("error lines (-want +got):\n%s", diff)
		}
		// The API promises the refused rows in file order.
		if !slices.IsSorted(lines) {
			t.Errorf("errors are not in file order: lines %v", lines)
		}
		byLine := map[int64]*customerv1.ImportError{}
		for _, e := range res.GetErrors() {
			byLine[e.GetLine()] = e
		}
		for _, b := range bad {
			e := byLine[b.line]
			if e == nil {
				continue
			}
			if e.GetField() != b.field {
				t.Errorf("line %d: field %q, want %q (reason %q)", b.line, e.GetField(), b.field, e.GetReason())
			}
			if e.GetReason() == "" || !strings.Contains(strings.ToLower(e.GetReason()), strings.ToLower(b.reason)) {
				t.Errorf("line %d: reason %q does not mention %q", b.line, e.GetReason(), b.reason)
			}
		}

		// One CustomerCreated per created row (and the customer made before).
		if got := len(h.publishedEvents(t, customerv1.SubjectCustomerCreated)); got != good+1 {
			t.Errorf("%d CustomerCreated events, want %d", got, good+1)
		}
		// The import is audited with its counts.
		var audited []string
		for _, e := range h.auditEntries(t, &customerv1.ListAuditEntriesRequest{Actor: testActor}) {
			if e.GetAction() == "ImportCustomers" {
				audited = append(audited, e.GetDetail())
			}
		}
		if len(audited) != 1 || !strings.Contains(audited[0], fmt.Sprintf("created=%d", good)) || !strings.Contains(audited[0], fmt.Sprintf("failed=%d", len(bad))) {
			t.Errorf("ImportCustomers audit entries %q", audited)
		}

		// Every good row is there, with its values; no bad row is.
		imported := h.export(t, &customerv1.ExportCustomersRequest{Filter: `external_id:*`})
		if len(imported) != good {
			t.Errorf("%d imported customers, want %d", len(imported), good)
		}
		byExt := map[string]*customerv1.Customer{}
		for _, c := range imported {
			byExt[c.GetExternalId()] = c
		}
		c := byExt["ext-001"]
		if c == nil {
			t.Fatal("ext-001 was not imported")
		}
		if c.GetDisplayName() != "客户001" || c.GetEmail() != "c001@example.cn" || c.GetPhone() != "+8613800000001" ||
			c.GetKind() != customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR || !slices.Equal(c.GetTags(), []string{"vip", "wholesale"}) ||
			c.GetAttributes()["spend"].GetNumberValue() != 1.5 || c.GetAttributes()["city"].GetStringValue() != "Hangzhou" ||
			c.GetOwnerId() != testActor {
			t.Errorf("ext-001 = %v", c)
		}
		if byExt["ext-last"] == nil {
			t.Error("the row after an unclosed quote was not imported")
		}
		for _, b := range bad {
			if b.line <= rows+1 {
				// The ext id of line L is ext-(L-2), or of L-3 for a repeated one.
				if c, ok := byExt[fmt.Sprintf("ext-%03d", b.line-2)]; ok && b.field != "external_id" {
					t.Errorf("bad line %d was imported: %v", b.line, c)
				}
			}
		}
	})
}

func TestImportUpsert(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, stringAttr("city"))
		ctx := as(t, testActor)
		ndjson := strings.Join([]string{
			`{"externalId":"crm-1","displayName":"张三","phone":"13800000001","kind":"CUSTOMER_KIND_DISTRIBUTOR","attributes":{"city":{"stringValue":"Hangzhou"}},"ownerId":"am-li"}`,
			`{"external_id":"crm-2","display_name":"李四","email":"lisi@example.cn","tags":["vip"]}`,
			``,
			`{"externalId":"crm-3","displayName":`,
			`{"externalId":"crm-4","displayName":"王五","favouriteColour":"red"}`,
			`{"externalId":"crm-5","displayName":"赵六","attributes":{"shoe_size":{"numberValue":42}}}`,
		}, "\n") + "\n"
		res, err := h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, []byte(ndjson), false)
		if err != nil {
			t.Fatalf("ImportCustomers NDJSON: %v", err)
		}
		if res.GetCreatedCount() != 2 || res.GetFailedCount() != 3 || res.GetRowCount() != 5 {
			t.Errorf("NDJSON import: rows %d created %d failed %d (%v); want rows 5 created 2 failed 3",
				res.GetRowCount(), res.GetCreatedCount(), res.GetFailedCount(), res.GetErrors())
		}
		var lines []int64
		for _, e := range res.GetErrors() {
			lines = append(lines, e.GetLine())
			if e.GetReason() == "" {
				t.Errorf("line %d: no reason", e.GetLine())
			}
		}
		if diff := cmp.Diff([]int64{4, 5, 6}, lines); diff != "" {
			t.Errorf("NDJSON error lines (-want +got):\n%s", diff)
		}
		if e := res.GetErrors(); len(e) == 3 && e[2].GetField() != "attributes.shoe_size" {
			t.Errorf("undeclared attribute: field %q, want attributes.shoe_size", e[2].GetField())
		}

		byExt := func() map[string]*customerv1.Customer {
			out := map[string]*customerv1.Customer{}
			for _, c := range h.export(t, &customerv1.ExportCustomersRequest{}) {
				out[c.GetExternalId()] = c
			}
			return out
		}
		before := byExt()
		if c := before["crm-1"]; c.GetPhone() != "+8613800000001" || c.GetOwnerId() != "am-li" || c.GetAttributes()["city"].GetStringValue() != "Hangzhou" {
			t.Errorf("crm-1 = %v", c)
		}
		if c := before["crm-2"]; c.GetOwnerId() != testActor || !slices.Equal(c.GetTags(), []string{"vip"}) {
			t.Errorf("crm-2 = %v", c)
		}

		// A CSV naming some columns updates only those on matched rows.
		csv := "external_id,display_name,lifecycle_stage\n" +
			"crm-1,张三丰,active\n" + // changed
			"crm-2,李四,\n" + // the same
			"crm-9,孙七,at_risk\n" // new
		res, err = h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_CSV, []byte(csv), false)
		if err != nil {
			t.Fatalf("ImportCustomers CSV: %v", err)
		}
		if res.GetRowCount() != 3 || res.GetCreatedCount() != 1 || res.GetUpdatedCount() != 1 || res.GetUnchangedCount() != 1 || res.GetFailedCount() != 0 {
			t.Errorf("upsert: rows %d created %d updated %d unchanged %d failed %d (%v); want 3/1/1/1/0",
				res.GetRowCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetUnchangedCount(), res.GetFailedCount(), res.GetErrors())
		}
		after := byExt()
		if len(after) != 3 {
			t.Errorf("%d customers after the upsert, want 3", len(after))
		}
		c1 := after["crm-1"]
		if c1.GetId() != before["crm-1"].GetId() || c1.GetDisplayName() != "张三丰" ||
			c1.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_ACTIVE ||
			c1.GetPhone() != "+8613800000001" || c1.GetAttributes()["city"].GetStringValue() != "Hangzhou" || c1.GetOwnerId() != "am-li" {
			t.Errorf("crm-1 after upsert = %v", c1)
		}
		if after["crm-2"].GetEtag() != before["crm-2"].GetEtag() {
			t.Error("an unchanged row changed the customer's etag")
		}
		if c := after["crm-9"]; c.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK || c.GetOwnerId() != testActor {
			t.Errorf("crm-9 = %v", c)
		}

		// A row taking another customer's phone is refused on update, and
		// flagged on create with allow_duplicates.
		csv = "external_id,display_name,phone\n" +
			"crm-2,李四,13800000001\n" +
			"crm-10,张三 again,+86 138 0000 0001\n"
		res, err = h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_CSV, []byte(csv), true)
		if err != nil {
			t.Fatalf("ImportCustomers allow_duplicates: %v", err)
		}
		if res.GetCreatedCount() != 1 || res.GetFailedCount() != 1 || len(res.GetErrors()) != 1 || res.GetErrors()[0].GetLine() != 2 ||
			!strings.Contains(res.GetErrors()[0].GetReason(), c1.GetId()) {
			t.Errorf("allow_duplicates import: created %d failed %d errors %v; want the update of line 2 refused naming %s",
				res.GetCreatedCount(), res.GetFailedCount(), res.GetErrors(), c1.GetId())
		}
		if c := byExt()["crm-10"]; !c.GetPossibleDuplicate() || c.GetPhone() != "+8613800000001" {
			t.Errorf("crm-10 = %v, want a possible duplicate", c)
		}

		// A row that changes the owner is ownership history, and an
		// OwnershipChanged event as any other change of owner.
		res, err = h.importFile(t, as(t, "director-wang"), customerv1.ImportFormat_IMPORT_FORMAT_CSV, []byte("external_id,display_name,owner_id\ncrm-1,张三丰,am-wu\n"), false)
		if err != nil || res.GetUpdatedCount() != 1 {
			t.Fatalf("import a new owner: %v, %v", res, err)
		}
		if hist := h.history(t, c1.GetId()); len(hist) == 0 || hist[0].GetFromOwnerId() != "am-li" || hist[0].GetToOwnerId() != "am-wu" || hist[0].GetActor() != "director-wang" {
			t.Errorf("history after importing a new owner: %v", hist)
		}
		if evs := h.publishedEvents(t, customerv1.SubjectOwnershipChanged); len(evs) != 1 {
			t.Errorf("%d OwnershipChanged events for an owner changed by import, want 1", len(evs))
		} else {
			var moved customerv1.OwnershipChanged
			if err := proto.Unmarshal(evs[0], &moved); err != nil {
				t.Fatal(err)
			}
			if ch := moved.GetChange(); ch.GetCustomerId() != c1.GetId() || ch.GetFromOwnerId() != "am-li" || ch.GetToOwnerId() != "am-wu" {
				t.Errorf("OwnershipChanged = %v", ch)
			}
		}

		// A row matching a deleted customer says so.
		if _, err := h.client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: after["crm-9"].GetId()}); err != nil {
			t.Fatal(err)
		}
		res, err = h.importFile(t, ctx, customerv1.ImportFormat_IMPORT_FORMAT_CSV, []byte("external_id,display_name\ncrm-9,孙七七\n"), false)
		if err != nil {
			t.Fatalf("ImportCustomers onto a deleted customer: %v", err)
		}
		if res.GetFailedCount() != 1 || len(res.GetErrors()) != 1 || !strings.Contains(res.GetErrors()[0].GetReason(), "deleted") {
			t.Errorf("row matching a deleted customer: failed %d, errors %v; want a reason saying it is deleted", res.GetFailedCount(), res.GetErrors())
		}
	})
}

func TestImportRefusedFiles(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		ctx := as(t, testActor)
		for _, tc := range []struct {
			name   string
			format customerv1.ImportFormat
			data   string
			field  string
		}{
			{"NoFormat", customerv1.ImportFormat_IMPORT_FORMAT_UNSPECIFIED, "display_name\nx\n", "format"},
			{"UnknownColumn", customerv1.ImportFormat_IMPORT_FORMAT_CSV, "display_name,colour\nx,red\n", "data"},
			{"NoDisplayNameColumn", customerv1.ImportFormat_IMPORT_FORMAT_CSV, "email\nx@example.cn\n", "data"},
			{"UndeclaredAttribute", customerv1.ImportFormat_IMPORT_FORMAT_CSV, "display_name,attributes.city\nx,Hangzhou\n", "data"},
			{"EmptyFile", customerv1.ImportFormat_IMPORT_FORMAT_CSV, "", "data"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.importFile(t, ctx, tc.format, []byte(tc.data), false)
				wantViolation(t, err, tc.field)
			})
		}
		t.Run("NoMessages", func(t *testing.T) {
			stream, err := h.client.ImportCustomers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = stream.CloseAndRecv()
			wantViolation(t, err, "format")
		})
		t.Run("NoOwner", func(t *testing.T) {
			// Without an actor and an owner_id column, rows have no owner.
			res, err := h.importFile(t, callCtx(t), customerv1.ImportFormat_IMPORT_FORMAT_CSV, []byte("display_name,owner_id\nx,am-li\ny,\n"), false)
			if err != nil {
				t.Fatalf("ImportCustomers: %v", err)
			}
			if res.GetCreatedCount() != 1 || len(res.GetErrors()) != 1 || res.GetErrors()[0].GetLine() != 3 || res.GetErrors()[0].GetField() != "owner_id" {
				t.Errorf("created %d, errors %v; want line 3 refused on owner_id", res.GetCreatedCount(), res.GetErrors())
			}
		})
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{}); len(ids) != 1 {
			t.Errorf("%d customers after refused files, want the 1 owned row", len(ids))
		}
	})
}

func TestExportCustomers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		const n = 1500
		var file bytes.Buffer
		file.WriteString("display_name,tags\n")
		// Long labels make the export larger than one message may be.
		labels := strings.Repeat("甲", 80) + ";" + strings.Repeat("乙", 80) + ";" + strings.Repeat("丙", 80)
		for i := range n {
			tags := labels
			if i%3 == 0 {
				tags = "vip;" + labels
			}
			fmt.Fprintf(&file, "导出 %04d,%s\n", i, tags)
		}
		res, err := h.importFile(t, as(t, testActor), customerv1.ImportFormat_IMPORT_FORMAT_CSV, file.Bytes(), false)
		if err != nil || res.GetCreatedCount() != n {
			t.Fatalf("import: %v, %v", res, err)
		}
		deleted := h.create(t, &customerv1.Customer{DisplayName: "导出 deleted", Tags: []string{"vip"}})
		if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: deleted.GetId()}); err != nil {
			t.Fatal(err)
		}

		batches, err := h.exportBatches(t, &customerv1.ExportCustomersRequest{})
		if err != nil {
			t.Fatalf("ExportCustomers: %v", err)
		}
		if len(batches) < 2 {
			t.Errorf("%d customers came in %d batch(es); want them streamed in several", n, len(batches))
		}
		for i, b := range batches {
			if size := proto.Size(&customerv1.ExportCustomersResponse{Customers: b}); size > 1<<20 {
				t.Errorf("batch %d is %d bytes; want at most 1 MiB, under gRPC's default receive limit", i, size)
			}
		}
		all := slices.Concat(batches...)
		if len(all) != n {
			t.Errorf("exported %d customers, want %d (the deleted one left out)", len(all), n)
		}
		ids := make([]string, len(all))
		for i, c := range all {
			ids[i] = c.GetId()
			if c.GetId() == deleted.GetId() {
				t.Error("a deleted customer was exported")
			}
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Error("exported ids are not in id order without repeats")
		}

		vip := h.export(t, &customerv1.ExportCustomersRequest{Filter: `tags:"vip"`})
		if len(vip) != n/3 {
			t.Errorf("exported %d vip customers, want %d", len(vip), n/3)
		}
		found := h.export(t, &customerv1.ExportCustomersRequest{Query: "导出 0042"})
		if len(found) != 1 || found[0].GetDisplayName() != "导出 0042" {
			t.Errorf("query export = %v", found)
		}

		_, err = h.exportBatches(t, &customerv1.ExportCustomersRequest{Filter: `colour = "red"`})
		wantViolation(t, err, "filter")
		_, err = h.exportBatches(t, &customerv1.ExportCustomersRequest{Filter: `tags:"vip" AND`})
		wantViolation(t, err, "filter")
	})
}

// TestImportAcrossBatches imports a file of several batches (which
// PostgreSQL writes side by side) whose rows share contacts and external
// ids with rows a thousand lines back, in the same batch or an earlier
// one: the result is what a row-by-row import in file order gives. The earlier row keeps a contact, a later row with
// an earlier external id updates that customer, and every other row is
// created.
func TestImportAcrossBatches(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		const rows = 12000 // three batches of the port's 5,000 rows
		var file bytes.Buffer
		file.WriteString("external_id,display_name,phone,tags\n")
		var wantLines []int64
		wantUpdated := map[string]string{} // external id -> display name after the import
		updated := 0
		for i := range rows {
			line := int64(i + 2)
			switch {
			case i%250 == 3 && i >= 1000:
				// The phone of a row one batch (or more) back: refused,
				// naming the customer that row created.
				fmt.Fprintf(&file, "dup-%d,重复%d,138%08d,\n", i, i, i-997)
				wantLines = append(wantLines, line)
			case i%250 == 7 && i >= 1000:
				// The external id of a row one batch back: an update.
				ext := fmt.Sprintf("ext-%d", i-1001)
				fmt.Fprintf(&file, "%s,改名%d,138%08d,renamed\n", ext, i, i-1001)
				wantUpdated[ext] = fmt.Sprintf("改名%d", i)
				updated++
			default:
				fmt.Fprintf(&file, "ext-%d,客户%d,138%08d,batch%d\n", i, i, i, i/1000)
			}
		}
		res, err := h.importFile(t, as(t, testActor), customerv1.ImportFormat_IMPORT_FORMAT_CSV, file.Bytes(), false)
		if err != nil {
			t.Fatalf("ImportCustomers: %v", err)
		}
		wantCreated := rows - len(wantLines) - updated
		if res.GetRowCount() != rows || res.GetCreatedCount() != int64(wantCreated) ||
			res.GetUpdatedCount() != int64(updated) || res.GetFailedCount() != int64(len(wantLines)) {
			t.Fatalf("rows %d created %d updated %d failed %d; want %d, %d, %d, %d (errors %v)",
				res.GetRowCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetFailedCount(),
				rows, wantCreated, updated, len(wantLines), res.GetErrors())
		}
		byExt := map[string]*customerv1.Customer{}
		for _, c := range h.export(t, &customerv1.ExportCustomersRequest{}) {
			byExt[c.GetExternalId()] = c
		}
		var lines []int64
		for _, e := range res.GetErrors() {
			lines = append(lines, e.GetLine())
			i := int(e.GetLine()) - 2
			owner := byExt[fmt.Sprintf("ext-%d", i-997)]
			if e.GetField() != "phone" || owner == nil || !strings.Contains(e.GetReason(), owner.GetId()) {
				t.Errorf("line %d: %s %q, want the phone refused naming the customer of line %d", e.GetLine(), e.GetField(), e.GetReason(), i-997+2)
			}
		}
		if diff := cmp.Diff(wantLines, lines); diff != "" {
			t.Errorf("error lines, in file order (-want +got):\n%s", diff)
		}
		for ext, name := range wantUpdated {
			if c := byExt[ext]; c.GetDisplayName() != name || !slices.Equal(c.GetTags(), []string{"renamed"}) || c.GetPhone() == "" {
				t.Errorf("%s = %q tags %v phone %q, want renamed to %q, tagged renamed, its phone kept", ext, c.GetDisplayName(), c.GetTags(), c.GetPhone(), name)
			}
		}
		if len(byExt) != wantCreated {
			t.Errorf("%d customers stored, want %d", len(byExt), wantCreated)
		}
	})
}
