package customer_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// TestNULInTextIsInvalidOnEveryStore: PostgreSQL refuses a NUL character
// in text (the call failed with Internal after the work), SQLite stored it;
// on both the service answers InvalidArgument naming the field.
func TestNULInTextIsInvalidOnEveryStore(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		c := h.create(t, &customerv1.Customer{DisplayName: "Ada"})
		calls := []struct {
			name, field string
			call        func() error
		}{
			{"create", "customer.display_name", func() error {
				_, err := h.client.CreateCustomer(as(t, "am-li"), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "A\x00da"}})
				return err
			}},
			{"update", "customer.tags[1]", func() error {
				_, err := h.client.UpdateCustomer(as(t, "am-li"), &customerv1.UpdateCustomerRequest{
					Customer:   &customerv1.Customer{Id: c.GetId(), DisplayName: "Ada", Tags: []string{"ok", "v\x00ip"}},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tags"}},
				})
				return err
			}},
			{"search", "query", func() error {
				_, err := h.client.ListCustomers(as(t, "am-li"), &customerv1.ListCustomersRequest{Query: "A\x00"})
				return err
			}},
			{"filter", "filter", func() error {
				_, err := h.client.ListCustomers(as(t, "am-li"), &customerv1.ListCustomersRequest{Filter: "display_name = \"A\x00\""})
				return err
			}},
		}
		for _, tc := range calls {
			err := tc.call()
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s: %v, want InvalidArgument", tc.name, err)
				continue
			}
			if v := rpcerr.Violations(err); len(v) != 1 || v[0].Field != tc.field {
				t.Errorf("%s: violations %v, want one on %s", tc.name, v, tc.field)
			}
		}
	})
}

// TestNULInAnImportedRowIsARowError: a file's row holding a NUL (in a CSV
// cell or an NDJSON string) is reported with its line and field, and the
// other rows are imported, on every store.
func TestNULInAnImportedRowIsARowError(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		for _, tc := range []struct {
			format customerv1.ImportFormat
			data   string
		}{
			{customerv1.ImportFormat_IMPORT_FORMAT_CSV, "external_id,display_name\nNUL-C1,Ada\nNUL-C2,Bo\x00b\n"},
			{customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, `{"externalId":"NUL-J1","displayName":"Ada"}` + "\n" + `{"externalId":"NUL-J2","displayName":"Bo\u0000b"}` + "\n"},
		} {
			resp, err := h.importFile(t, as(t, "am-li"), tc.format, []byte(tc.data), false)
			if err != nil {
				t.Fatalf("%v: %v", tc.format, err)
			}
			errs := resp.GetErrors()
			if resp.GetCreatedCount() != 1 || len(errs) != 1 || errs[0].GetLine() != 3 && errs[0].GetLine() != 2 || errs[0].GetField() != "display_name" {
				t.Errorf("%v: created %d, errors %v; want 1 created and the NUL row refused on display_name", tc.format, resp.GetCreatedCount(), errs)
			}
		}
	})
}
