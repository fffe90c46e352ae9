package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

func TestImportUpsertsAndReportsRows(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			a, rec := newApp(t, d.URL)
			ctx := asOwner()
			row := func(line int64, ext, name, phone string, fields ...domain.Field) app.ImportRow {
				return app.ImportRow{Line: line, Profile: domain.Profile{ExternalID: ext, DisplayName: name, Phone: phone}, Fields: fields}
			}
			im := a.Imports.NewImport(ctx, false)
			if err := im.Add(ctx, []app.ImportRow{
				row(2, "e1", "张三", "13800000001"),
				row(3, "e2", "李四", "13800000002"),
				row(4, "", "", "13800000003"),       // no name
				row(5, "e3", "王五", "138 0000 0001"), // phone of line 2
				// Repeats e2 in the batch: updates what line 3 created,
				// as if the file were imported row by row.
				row(6, "e2", "李四四", "13800000009", domain.FieldDisplayName, domain.FieldPhone),
				{Line: 7, ParseError: &app.RowError{Line: 7, Reason: "bad quoting"}},
			}); err != nil {
				t.Fatal(err)
			}
			// A later batch updates e1 by its external id, only the fields
			// the row sets; a row that changes nothing counts as unchanged.
			if err := im.Add(ctx, []app.ImportRow{
				row(8, "e1", "张三丰", "", domain.FieldDisplayName),
				row(9, "e2", "李四四", "", domain.FieldDisplayName),
			}); err != nil {
				t.Fatal(err)
			}
			res, err := im.Finish(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 8 || res.Created != 2 || res.Updated != 2 || res.Unchanged != 1 || res.Failed != 3 {
				t.Fatalf("result %+v", res)
			}
			want := map[int64]string{4: "display_name", 5: "phone", 7: ""}
			for _, e := range res.Errors {
				if f, ok := want[e.Line]; !ok || f != e.Field || e.Reason == "" {
					t.Errorf("unexpected row error %+v", e)
				}
				delete(want, e.Line)
			}
			if len(want) > 0 {
				t.Errorf("rows not reported: %v", want)
			}
			page, err := a.Customers.ListCustomers(ctx, app.ListCustomers{Filter: `external_id = "e1"`})
			if err != nil || len(page.Customers) != 1 || page.Customers[0].DisplayName != "张三丰" || page.Customers[0].Phone != "+8613800000001" {
				t.Fatalf("e1 after update: %+v %v", page.Customers, err)
			}
			page, err = a.Customers.ListCustomers(ctx, app.ListCustomers{Filter: `external_id = "e2"`})
			if err != nil || len(page.Customers) != 1 || page.Customers[0].DisplayName != "李四四" || page.Customers[0].Phone != "+8613800000009" {
				t.Fatalf("e2 after its repeat: %+v %v", page.Customers, err)
			}
			var created, updated int
			for _, ev := range rec.snapshot() {
				switch ev := ev.(type) {
				case domain.CustomerCreated:
					if !ev.Imported {
						t.Errorf("imported customer %s not marked imported, so it would be welcomed", ev.Customer.ID)
					}
					created++
				case domain.CustomerUpdated:
					updated++
				}
			}
			if created != 2 || updated != 1 {
				t.Errorf("events: %d created, %d updated", created, updated)
			}
			n := 0
			if _, err := a.Imports.ExportCustomers(ctx, "", "", func(cs []domain.Customer) error { n += len(cs); return nil }); err != nil || n != 2 {
				t.Errorf("export returned %d, %v", n, err)
			}
		})
	}
}

// An import does not ask who holds its contacts until a batch meets one
// that is taken; that batch is written again asking, and so are the later
// ones. The rows that take a stored customer's contact fail alone, naming
// the holder, and no row of a batch written twice is stored or announced
// twice.
func TestImportRetriesABatchThatMeetsATakenContact(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			a, rec := newApp(t, d.URL)
			ctx := asOwner()
			held, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "老客户", Phone: "13900000001", Email: "old@example.cn"}})
			if err != nil {
				t.Fatal(err)
			}
			before := len(rec.snapshot())
			row := func(line int64, phone, email string) app.ImportRow {
				return app.ImportRow{Line: line, Profile: domain.Profile{ExternalID: fmt.Sprint("x", line), DisplayName: fmt.Sprint("客户", line), Phone: phone, Email: email}}
			}
			im := a.Imports.NewImport(ctx, false)
			for _, batch := range [][]app.ImportRow{
				{row(2, "13800000002", ""), row(3, "13800000003", "")},                              // nothing taken
				{row(4, "13800000004", ""), row(5, "139 0000 0001", ""), row(6, "13800000006", "")}, // line 5 takes the stored phone
				{row(7, "", "OLD@example.cn"), row(8, "13800000008", "")},                           // line 7 its email
			} {
				if err := im.Add(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			res, err := im.Finish(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 7 || res.Created != 5 || res.Failed != 2 {
				t.Fatalf("result %+v, want 7 rows, 5 created, 2 failed", res)
			}
			for i, want := range []struct {
				line  int64
				field string
			}{{5, "phone"}, {7, "email"}} {
				e := res.Errors[i]
				if e.Line != want.line || e.Field != want.field || !strings.Contains(e.Reason, held.ID) {
					t.Errorf("error %d = %+v, want line %d field %s naming %s", i, e, want.line, want.field, held.ID)
				}
			}
			if created := len(rec.snapshot()) - before; created != 5 {
				t.Errorf("%d events after the import, want 5 (one per created customer)", created)
			}
			n := 0
			if _, err := a.Imports.ExportCustomers(ctx, "", "", func(cs []domain.Customer) error { n += len(cs); return nil }); err != nil || n != 6 {
				t.Errorf("export returned %d, %v; want 6", n, err)
			}
		})
	}
}

func TestTransferPublishesOneEventPerCustomer(t *testing.T) {
	a, rec := newApp(t, testinfra.SQLiteURL(t))
	ctx := asOwner()
	for i := range 30 {
		kind := domain.KindEndCustomer
		if i%3 == 0 {
			kind = domain.KindDistributor
		}
		if _, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: fmt.Sprint("c", i), Kind: kind, TeamID: "east"}}); err != nil {
			t.Fatal(err)
		}
	}
	before := len(rec.snapshot())
	n, err := a.Ownership.TransferOwnership(ctx, domain.Transfer{FromOwner: "am-li", ToOwner: "am-wang", Filter: `kind = "DISTRIBUTOR"`, Reason: "territory split"})
	if err != nil || n != 10 {
		t.Fatalf("transferred %d, %v", n, err)
	}
	evs := rec.snapshot()[before:]
	if len(evs) != 10 {
		t.Fatalf("%d events, want 10", len(evs))
	}
	for _, ev := range evs {
		oc, ok := ev.(domain.OwnershipChanged)
		if !ok || oc.Change.FromOwner != "am-li" || oc.Change.ToOwner != "am-wang" || oc.Change.ToTeam != "east" || oc.Change.Reason != "territory split" {
			t.Fatalf("event %#v", ev)
		}
	}
	hist, _, err := a.Ownership.OwnershipChanges(ctx, evs[0].CustomerID(), 10, 0)
	if err != nil || len(hist) != 2 || hist[0].ToOwner != "am-wang" || hist[1].ToOwner != "am-li" || hist[1].FromOwner != "" {
		t.Fatalf("history %+v %v", hist, err)
	}
	again, err := a.Ownership.TransferOwnership(ctx, domain.Transfer{FromOwner: "am-li", ToOwner: "am-wang", Filter: `kind = "DISTRIBUTOR"`, Reason: "again"})
	if err != nil || again != 0 {
		t.Fatalf("second transfer moved %d, %v", again, err)
	}
}
