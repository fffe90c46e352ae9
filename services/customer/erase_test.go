package customer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

func TestDeleteUndelete(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		evs := h.events(t, customerv1.SubjectCustomerDeleted, customerv1.SubjectCustomerUndeleted)
		c := h.create(t, &customerv1.Customer{DisplayName: "删除测试", Email: "del@example.cn", Tags: []string{"vip"}})
		// A stale etag protects deletes too.
		touched, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: c.GetId(), Locale: "zh-CN"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: c.GetId(), Etag: c.GetEtag()})
		wantCode(t, err, codes.Aborted)

		resp, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: c.GetId(), Etag: touched.GetCustomer().GetEtag()})
		if err != nil {
			t.Fatalf("DeleteCustomer: %v", err)
		}
		del := resp.GetCustomer()
		if del.GetState() != customerv1.CustomerState_CUSTOMER_STATE_DELETED || del.GetDeleteTime() == nil ||
			del.GetDisplayName() != "删除测试" || del.GetEmail() != "del@example.cn" {
			t.Errorf("deleted customer = %v", del)
		}
		var deleted customerv1.CustomerDeleted
		if subject := evs.next(t, &deleted); subject != customerv1.SubjectCustomerDeleted || deleted.GetCustomerId() != c.GetId() ||
			!deleted.GetDeleteTime().AsTime().Equal(del.GetDeleteTime().AsTime()) {
			t.Errorf("%s %v", subject, &deleted)
		}
		// Still readable by id, with its data; gone from lists and searches.
		if got := h.get(t, c.GetId()); !cmp.Equal(del, got, protocmp.Transform()) {
			t.Errorf("GetCustomer of a deleted customer = %v, want %v", got, del)
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{}); len(ids) != 0 {
			t.Errorf("deleted customer listed: %v", ids)
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{ShowDeleted: true}); !slices.Equal(ids, []string{c.GetId()}) {
			t.Errorf("show_deleted lists %v", ids)
		}

		// Writes other than undelete are refused, naming the customer.
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: c.GetId(), DisplayName: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
		wantCode(t, err, codes.FailedPrecondition, c.GetId(), "deleted")
		_, err = h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: c.GetId()})
		wantCode(t, err, codes.FailedPrecondition, c.GetId())

		un, err := h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: c.GetId()})
		if err != nil {
			t.Fatalf("UndeleteCustomer: %v", err)
		}
		u := un.GetCustomer()
		if u.GetState() != customerv1.CustomerState_CUSTOMER_STATE_ACTIVE || u.GetDeleteTime() != nil || u.GetDisplayName() != "删除测试" ||
			!slices.Equal(u.GetTags(), []string{"vip"}) || u.GetEtag() == del.GetEtag() {
			t.Errorf("undeleted customer = %v", u)
		}
		var undeleted customerv1.CustomerUndeleted
		if subject := evs.next(t, &undeleted); subject != customerv1.SubjectCustomerUndeleted || !cmp.Equal(u, undeleted.GetCustomer(), protocmp.Transform()) {
			t.Errorf("%s %v", subject, &undeleted)
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Query: "删除"}); !slices.Equal(ids, []string{c.GetId()}) {
			t.Errorf("undeleted customer not found again: %v", ids)
		}
		_, err = h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: c.GetId()})
		wantCode(t, err, codes.FailedPrecondition, c.GetId())
		evs.none(t)

		_, err = h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: unknownID})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: unknownID})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{})
		wantViolation(t, err, "id")
		_, err = h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: "x"})
		wantViolation(t, err, "id")
	})
}

func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, stringAttr("city"))
		evs := h.events(t, customerv1.SubjectCustomerErased)
		c := h.create(t, &customerv1.Customer{
			DisplayName: "陈美玲", Email: "meiling@example.cn", Phone: "13800138000",
			OtherEmails: []string{"ml@work.example"}, OtherPhones: []string{"021 6212 3456"},
			Addresses:  []*customerv1.Address{{City: "杭州市", Lines: []string{"文三路 100 号"}}},
			Birthday:   &date.Date{Year: 1990, Month: 5, Day: 17},
			Attributes: map[string]*customerv1.AttributeValue{"city": strVal("Hangzhou")},
			Tags:       []string{"vip"}, Locale: "zh-CN", TimeZone: "Asia/Shanghai", ExternalId: "legacy-9",
			Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR, TeamId: "team-east",
		})
		pii := []string{"陈美玲", "美玲", "meiling", "ml@work", "13800138000", "62123456", "杭州", "文三路", "1990", "Hangzhou", "legacy-9", "vip"}
		company := h.create(t, &customerv1.Customer{Type: org, DisplayName: "杭州茶业"})
		h.relate(t, c.GetId(), company.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "采购")
		if _, err := h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: c.GetId(),
			Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN, Source: "signup"}); err != nil {
			t.Fatal(err)
		}

		_, err := h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: c.GetId()})
		wantViolation(t, err, "reason")
		_, err = h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: c.GetId(), Reason: "   "})
		wantViolation(t, err, "reason")

		resp, err := h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: c.GetId(), Reason: "PIPL deletion request #123"})
		if err != nil {
			t.Fatalf("EraseCustomer: %v", err)
		}
		tomb := resp.GetCustomer()
		if tomb.GetId() != c.GetId() || tomb.GetState() != customerv1.CustomerState_CUSTOMER_STATE_ERASED || tomb.GetDeleteTime() == nil ||
			!tomb.GetCreateTime().AsTime().Equal(c.GetCreateTime().AsTime()) {
			t.Errorf("tombstone = %v", tomb)
		}
		// Nothing of the person is left, in any field.
		noPII := func(what string, m *customerv1.Customer) {
			t.Helper()
			js := protojson.Format(m)
			for _, p := range pii {
				if strings.Contains(js, p) {
					t.Errorf("%s holds %q after erasure: %s", what, p, js)
				}
			}
			if m.GetDisplayName() != "" || m.GetEmail() != "" || m.GetPhone() != "" || len(m.GetOtherEmails())+len(m.GetOtherPhones())+
				len(m.GetAddresses())+len(m.GetAttributes())+len(m.GetTags())+len(m.GetConsents()) != 0 || m.GetBirthday() != nil || m.GetExternalId() != "" {
				t.Errorf("%s keeps personal fields: %s", what, js)
			}
		}
		noPII("EraseCustomer's answer", tomb)
		got := h.get(t, c.GetId())
		noPII("GetCustomer", got)
		for _, p := range pii {
			if row := h.storedRow(t, c.GetId()); strings.Contains(row, p) {
				t.Errorf("the stored row still holds %q: %s", p, row)
			}
		}
		if got.GetState() != customerv1.CustomerState_CUSTOMER_STATE_ERASED {
			t.Errorf("GetCustomer state %v", got.GetState())
		}

		var ev customerv1.CustomerErased
		evs.next(t, &ev)
		if ev.GetCustomerId() != c.GetId() || ev.GetEraseTime() == nil {
			t.Errorf("CustomerErased = %v", &ev)
		}

		// Not listed, found, exported or offered as a duplicate.
		for _, req := range []*customerv1.ListCustomersRequest{
			{ShowDeleted: true}, {Query: "陈美玲"}, {Query: "13800138000"}, {Filter: `email = "meiling@example.cn"`, ShowDeleted: true},
			{Filter: `external_id = "legacy-9"`, ShowDeleted: true},
		} {
			if ids := h.listIDs(t, req); slices.Contains(ids, c.GetId()) {
				t.Errorf("ListCustomers(%v) returns the erased customer", req)
			}
		}
		for _, e := range h.export(t, &customerv1.ExportCustomersRequest{}) {
			if e.GetId() == c.GetId() {
				t.Error("ExportCustomers returns the erased customer")
			}
		}
		if rs := h.relationships(t, company.GetId()); len(rs) != 0 {
			t.Errorf("the company still lists relationships %v", rs)
		}

		// Its email, phone and external id are free again.
		again := h.create(t, &customerv1.Customer{DisplayName: "陈美玲", Email: "meiling@example.cn", Phone: "13800138000", ExternalId: "legacy-9"})
		if again.GetPossibleDuplicate() {
			t.Error("a new customer with the erased one's contacts is flagged as a duplicate")
		}
		dups, err := h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: again.GetId()})
		if err != nil || len(dups.GetCandidates()) != 0 {
			t.Errorf("FindDuplicates offers %v, %v", dups.GetCandidates(), err)
		}

		// The erasure is audited with who and why; no entry holds the data.
		entries := h.auditEntries(t, &customerv1.ListAuditEntriesRequest{CustomerId: c.GetId()})
		var erased *customerv1.AuditEntry
		for _, e := range entries {
			if e.GetAction() == "EraseCustomer" {
				erased = e
			}
			for _, p := range pii {
				if strings.Contains(e.GetDetail(), p) {
					t.Errorf("audit entry %v holds %q", e, p)
				}
			}
		}
		if erased == nil || erased.GetActor() != "dpo" || erased.GetReason() != "PIPL deletion request #123" {
			t.Errorf("erasure audit entry %v", erased)
		}

		// Erasure is final.
		for name, call := range map[string]func() error{
			"Update": func() error {
				_, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
					Customer: &customerv1.Customer{Id: c.GetId(), DisplayName: "陈美玲"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
				return err
			},
			"Erase": func() error {
				_, err := h.client.EraseCustomer(as(t, testActor), &customerv1.EraseCustomerRequest{Id: c.GetId(), Reason: "again"})
				return err
			},
			"Delete": func() error {
				_, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: c.GetId()})
				return err
			},
			"Undelete": func() error {
				_, err := h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: c.GetId()})
				return err
			},
			"SetConsent": func() error {
				_, err := h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: c.GetId(),
					Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN, Source: "x"})
				return err
			},
			"Merge": func() error {
				_, err := h.client.MergeCustomers(as(t, testActor), &customerv1.MergeCustomersRequest{SurvivorCustomerId: again.GetId(), MergedCustomerId: c.GetId()})
				return err
			},
			"Relate": func() error {
				_, err := h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{Relationship: &customerv1.Relationship{
					FromCustomerId: c.GetId(), ToCustomerId: company.GetId(), Type: customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT}})
				return err
			},
		} {
			t.Run(name, func(t *testing.T) { wantCode(t, call(), codes.FailedPrecondition, c.GetId()) })
		}
		noPII("GetCustomer after refused writes", h.get(t, c.GetId()))

		// A deleted customer can be erased; a merged one is erased through
		// its survivor.
		gone := h.create(t, &customerv1.Customer{DisplayName: "先删后抹", Email: "gone@example.cn"})
		if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: gone.GetId()}); err != nil {
			t.Fatal(err)
		}
		if resp, err := h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: gone.GetId(), Reason: "request #124"}); err != nil ||
			resp.GetCustomer().GetState() != customerv1.CustomerState_CUSTOMER_STATE_ERASED || resp.GetCustomer().GetEmail() != "" {
			t.Errorf("erase a deleted customer: %v, %v", resp.GetCustomer(), err)
		}
		folded := h.create(t, &customerv1.Customer{DisplayName: "被合并", Email: "folded@example.cn"})
		if _, err := h.client.MergeCustomers(as(t, testActor), &customerv1.MergeCustomersRequest{SurvivorCustomerId: again.GetId(), MergedCustomerId: folded.GetId()}); err != nil {
			t.Fatal(err)
		}
		_, err = h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: folded.GetId(), Reason: "request #125"})
		wantCode(t, err, codes.FailedPrecondition, again.GetId())
		_, err = h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: unknownID, Reason: "r"})
		wantCode(t, err, codes.NotFound, unknownID)

		// Erasing the survivor erases what was merged into it: the merged
		// id resolves to the tombstone.
		if _, err := h.client.EraseCustomer(as(t, "dpo"), &customerv1.EraseCustomerRequest{Id: again.GetId(), Reason: "request #126"}); err != nil {
			t.Fatalf("erase the survivor: %v", err)
		}
		viaMerged := h.get(t, folded.GetId())
		if viaMerged.GetId() != again.GetId() || viaMerged.GetEmail() != "" || viaMerged.GetOtherEmails() != nil {
			t.Errorf("GetCustomer(merged id) after the survivor's erasure = %v", viaMerged)
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Query: "folded"}); len(ids) != 0 {
			t.Errorf("search finds the merged customer's email after erasure: %v", ids)
		}
		// Nor is the merged customer's data kept where no API shows it:
		// erasing the person erases every record of them.
		for _, id := range []string{folded.GetId(), again.GetId()} {
			row := h.storedRow(t, id)
			for _, p := range []string{"被合并", "folded@", "陈美玲", "meiling", "13800138000"} {
				if strings.Contains(row, p) {
					t.Errorf("after erasing %s, the stored row of %s still holds %q: %s", again.GetId(), id, p, row)
				}
			}
		}
	})
}
