package customer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// auditEntries lists every audit entry req selects, all pages.
func (h harness) auditEntries(t *testing.T, req *customerv1.ListAuditEntriesRequest) []*customerv1.AuditEntry {
	t.Helper()
	var out []*customerv1.AuditEntry
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		resp, err := h.client.ListAuditEntries(as(t, "auditor"), req)
		if err != nil {
			t.Fatalf("ListAuditEntries: %v", err)
		}
		out = append(out, resp.GetEntries()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// actions is "actor action reason" per entry, for compact comparisons.
func actions(entries []*customerv1.AuditEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = strings.TrimSpace(e.GetActor() + " " + e.GetAction() + " " + e.GetReason())
	}
	return out
}

func TestAudit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		created, err := h.client.CreateCustomer(as(t, "am-chen", "met at the trade fair"), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "13800138000"},
		})
		if err != nil {
			t.Fatal(err)
		}
		c := created.GetCustomer()
		if _, err := h.client.GetCustomer(as(t, "am-li", "follow-up call"), &customerv1.GetCustomerRequest{Id: c.GetId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.ListCustomers(as(t, "marketing"), &customerv1.ListCustomersRequest{Filter: `tags:"vip"`, Query: "王小明"}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.ListCustomers(as(t, "marketing"), &customerv1.ListCustomersRequest{Filter: `email = "xiaoming@example.cn"`}); err != nil {
			t.Fatal(err)
		}
		exported := h.export(t, &customerv1.ExportCustomersRequest{Query: "小明"})
		if len(exported) != 1 {
			t.Fatalf("exported %d", len(exported))
		}

		mid := time.Now()
		if _, err := h.client.UpdateCustomer(as(t, "am-li", "typo in the name"), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), DisplayName: "王晓明", Email: "wxm@example.cn"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "email"}},
		}); err != nil {
			t.Fatal(err)
		}
		afterUpdate := time.Now()
		if _, err := h.client.SetConsent(as(t, "call-center-7"), &customerv1.SetConsentRequest{CustomerId: c.GetId(),
			Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN, Source: "call"}); err != nil {
			t.Fatal(err)
		}
		// A service calling for nobody (a consumer, a scheduled job) is
		// named itself, never anonymous or blank.
		if _, err := h.client.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: c.GetId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.TransferOwnership(as(t, "director-wang"), &customerv1.TransferOwnershipRequest{
			FromOwnerId: "am-chen", ToOwnerId: "am-li", Reason: "am-chen left"}); err != nil {
			t.Fatal(err)
		}

		// By customer, newest first.
		byCustomer := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{CustomerId: c.GetId()})
		want := []string{
			"director-wang TransferOwnership am-chen left",
			"svc:test GetCustomer",
			"call-center-7 SetConsent",
			"am-li UpdateCustomer typo in the name",
			"am-li GetCustomer follow-up call",
			"am-chen CreateCustomer met at the trade fair",
		}
		if diff := cmp.Diff(want, actions(byCustomer)); diff != "" {
			t.Errorf("entries about the customer, newest first (-want +got):\n%s", diff)
		}
		for i, e := range byCustomer {
			// Every call came through the test's service token.
			if e.GetVia() != "svc:test" {
				t.Errorf("entry %v: via %q, want svc:test", e, e.GetVia())
			}
			if e.GetId() == "" || e.GetTime() == nil || e.GetCustomerId() != c.GetId() {
				t.Errorf("entry %v lacks id, time or customer", e)
			}
			if i > 0 && e.GetTime().AsTime().After(byCustomer[i-1].GetTime().AsTime()) {
				t.Errorf("entries not newest first at %d", i)
			}
		}
		if len(byCustomer) > 3 && !strings.Contains(byCustomer[3].GetDetail(), "display_name") {
			t.Errorf("update detail %q does not say what changed", byCustomer[3].GetDetail())
		}
		if len(byCustomer) > 0 && !strings.Contains(byCustomer[0].GetDetail(), "am-chen -> am-li") {
			t.Errorf("transfer detail %q does not name the owners", byCustomer[0].GetDetail())
		}

		// Lists and exports are recorded with what was asked and how much
		// came back, and never with the personal data searched for.
		lists := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{Actor: "marketing"})
		if len(lists) != 2 || lists[0].GetAction() != "ListCustomers" || !strings.Contains(lists[0].GetDetail(), "email") ||
			lists[1].GetAction() != "ListCustomers" || !strings.Contains(lists[1].GetDetail(), "tags") {
			t.Errorf("marketing's entries %v, want two lists naming the fields filtered on", lists)
		}
		exports := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{Actor: testActor})
		if len(exports) != 1 || exports[0].GetAction() != "ExportCustomers" || !strings.Contains(exports[0].GetDetail(), "returned=1") {
			t.Errorf("the export's entries %v", exports)
		}
		transfers := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{Actor: "director-wang"})
		// One entry for the whole transfer, one per customer moved.
		if len(transfers) != 2 || transfers[0].GetAction() != "TransferOwnership" || transfers[0].GetReason() != "am-chen left" ||
			!strings.Contains(transfers[1].GetDetail()+transfers[0].GetDetail(), "count=1") {
			t.Errorf("the transfer's entries %v", transfers)
		}
		all := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{PageSize: 2})
		if len(all) != len(byCustomer)+4 {
			t.Errorf("%d entries in all, want %d: %v", len(all), len(byCustomer)+4, actions(all))
		}
		for _, e := range all {
			for _, pii := range []string{"王小明", "王晓明", "小明", "xiaoming", "wxm@", "13800138000"} {
				if strings.Contains(e.GetDetail(), pii) || strings.Contains(e.GetReason(), pii) {
					t.Errorf("%s entry holds personal data %q: %v", e.GetAction(), pii, e)
				}
			}
		}

		// By actor and time.
		window := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{
			Actor: "am-li", StartTime: timestamppb.New(mid), EndTime: timestamppb.New(afterUpdate)})
		if diff := cmp.Diff([]string{"am-li UpdateCustomer typo in the name"}, actions(window)); diff != "" {
			t.Errorf("am-li's entries during the update (-want +got):\n%s", diff)
		}
		since := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{CustomerId: c.GetId(), StartTime: timestamppb.New(afterUpdate)})
		if diff := cmp.Diff(want[:3], actions(since)); diff != "" {
			t.Errorf("entries since the update (-want +got):\n%s", diff)
		}
		before := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{CustomerId: c.GetId(), EndTime: timestamppb.New(mid)})
		if diff := cmp.Diff(want[4:], actions(before)); diff != "" {
			t.Errorf("entries before the update (-want +got):\n%s", diff)
		}

		_, err = h.client.ListAuditEntries(callCtx(t), &customerv1.ListAuditEntriesRequest{CustomerId: "x"})
		wantViolation(t, err, "customer_id")
		_, err = h.client.ListAuditEntries(callCtx(t), &customerv1.ListAuditEntriesRequest{PageSize: -5})
		wantViolation(t, err, "page_size")
		page, err := h.client.ListAuditEntries(callCtx(t), &customerv1.ListAuditEntriesRequest{PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.client.ListAuditEntries(callCtx(t), &customerv1.ListAuditEntriesRequest{PageSize: 1, Actor: "am-li", PageToken: page.GetNextPageToken()})
		wantViolation(t, err, "page_token")
	})
}
