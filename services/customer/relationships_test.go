package customer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

const (
	person = customerv1.CustomerType_CUSTOMER_TYPE_PERSON
	org    = customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION
)

// relate creates a relationship and fails the test when that fails.
func (h harness) relate(t *testing.T, from, to string, typ customerv1.RelationshipType, role string) *customerv1.Relationship {
	t.Helper()
	resp, err := h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{
		Relationship: &customerv1.Relationship{FromCustomerId: from, ToCustomerId: to, Type: typ, Role: role},
	})
	if err != nil {
		t.Fatalf("CreateRelationship(%s %v %s): %v", from, typ, to, err)
	}
	return resp.GetRelationship()
}

// relationships lists a customer's relationships in both directions.
func (h harness) relationships(t *testing.T, id string) []*customerv1.Relationship {
	t.Helper()
	resp, err := h.client.ListRelationships(as(t, testActor), &customerv1.ListRelationshipsRequest{CustomerId: id})
	if err != nil {
		t.Fatalf("ListRelationships(%s): %v", id, err)
	}
	return resp.GetRelationships()
}

// sortRelationships makes relationship lists comparable whatever their
// order.
var sortRelationships = cmpopts.SortSlices(func(a, b *customerv1.Relationship) bool { return a.GetId() < b.GetId() })

func TestRelationships(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		lei := h.create(t, &customerv1.Customer{Type: person, DisplayName: "李雷"})
		mei := h.create(t, &customerv1.Customer{Type: person, DisplayName: "韩梅梅"})
		maker := h.create(t, &customerv1.Customer{Type: org, DisplayName: "杭州茶业有限公司", Kind: customerv1.CustomerKind_CUSTOMER_KIND_SUPPLIER})
		dist := h.create(t, &customerv1.Customer{Type: org, DisplayName: "华东经销商", Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR})

		worksAt := h.relate(t, lei.GetId(), maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, " 采购经理 ")
		if worksAt.GetId() == "" || worksAt.GetRole() != "采购经理" || worksAt.GetCreateTime() == nil {
			t.Errorf("created relationship %v", worksAt)
		}
		meiAt := h.relate(t, mei.GetId(), dist.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "")
		distOf := h.relate(t, dist.GetId(), maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_DISTRIBUTOR_OF, "")
		partner := h.relate(t, maker.GetId(), dist.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_PARTNER_OF, "")

		// Listed from either side.
		for _, tc := range []struct {
			who  *customerv1.Customer
			want []*customerv1.Relationship
		}{
			{lei, []*customerv1.Relationship{worksAt}},
			{mei, []*customerv1.Relationship{meiAt}},
			{maker, []*customerv1.Relationship{worksAt, distOf, partner}},
			{dist, []*customerv1.Relationship{meiAt, distOf, partner}},
		} {
			if diff := cmp.Diff(tc.want, h.relationships(t, tc.who.GetId()), protocmp.Transform(), sortRelationships); diff != "" {
				t.Errorf("relationships of %s (-want +got):\n%s", tc.who.GetDisplayName(), diff)
			}
		}

		t.Run("Refused", func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				from, to string
				typ      customerv1.RelationshipType
				field    string
			}{
				{"OrganizationWorksAt", dist.GetId(), maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "relationship.from_customer_id"},
				{"WorksAtPerson", lei.GetId(), mei.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "relationship.to_customer_id"},
				{"DistributorOfPerson", dist.GetId(), lei.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_DISTRIBUTOR_OF, "relationship.to_customer_id"},
				{"Self", maker.GetId(), maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_PARTNER_OF, "relationship.to_customer_id"},
				{"NoType", lei.GetId(), maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_UNSPECIFIED, "relationship.type"},
				{"BadFrom", "lei", maker.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "relationship.from_customer_id"},
				{"NoTo", lei.GetId(), "", customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "relationship.to_customer_id"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{
						Relationship: &customerv1.Relationship{FromCustomerId: tc.from, ToCustomerId: tc.to, Type: tc.typ},
					})
					wantViolation(t, err, tc.field)
				})
			}
			_, err := h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{})
			wantViolation(t, err, "relationship")
			_, err = h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{
				Relationship: &customerv1.Relationship{FromCustomerId: lei.GetId(), ToCustomerId: maker.GetId(), Type: customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, Role: "again"},
			})
			wantCode(t, err, codes.AlreadyExists)
			_, err = h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{
				Relationship: &customerv1.Relationship{FromCustomerId: lei.GetId(), ToCustomerId: unknownID, Type: customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT},
			})
			wantCode(t, err, codes.NotFound, unknownID)
		})

		t.Run("DeletedCustomer", func(t *testing.T) {
			gone := h.create(t, &customerv1.Customer{Type: org, DisplayName: "已删除公司"})
			if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: gone.GetId()}); err != nil {
				t.Fatal(err)
			}
			_, err := h.client.CreateRelationship(as(t, testActor), &customerv1.CreateRelationshipRequest{
				Relationship: &customerv1.Relationship{FromCustomerId: mei.GetId(), ToCustomerId: gone.GetId(), Type: customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT},
			})
			wantCode(t, err, codes.FailedPrecondition, gone.GetId())
		})

		if _, err := h.client.DeleteRelationship(as(t, testActor), &customerv1.DeleteRelationshipRequest{Id: partner.GetId()}); err != nil {
			t.Fatalf("DeleteRelationship: %v", err)
		}
		if diff := cmp.Diff([]*customerv1.Relationship{worksAt, distOf}, h.relationships(t, maker.GetId()), protocmp.Transform(), sortRelationships); diff != "" {
			t.Errorf("relationships of the maker after a delete (-want +got):\n%s", diff)
		}
		_, err := h.client.DeleteRelationship(as(t, testActor), &customerv1.DeleteRelationshipRequest{Id: partner.GetId()})
		wantCode(t, err, codes.NotFound, partner.GetId())
		_, err = h.client.DeleteRelationship(as(t, testActor), &customerv1.DeleteRelationshipRequest{Id: "x"})
		wantViolation(t, err, "id")
		_, err = h.client.ListRelationships(as(t, testActor), &customerv1.ListRelationshipsRequest{CustomerId: unknownID})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = h.client.ListRelationships(as(t, testActor), &customerv1.ListRelationshipsRequest{})
		wantViolation(t, err, "customer_id")
	})
}

func TestConsent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		evs := h.events(t, customerv1.SubjectConsentChanged)
		c := h.create(t, &customerv1.Customer{DisplayName: "同意测试", Phone: "13800138000"})
		if len(c.GetConsents()) != 0 {
			t.Errorf("a new customer has consents %v", c.GetConsents())
		}
		set := func(ch customerv1.ConsentChannel, st customerv1.ConsentStatus, source string) *customerv1.Customer {
			t.Helper()
			resp, err := h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: c.GetId(), Channel: ch, Status: st, Source: source})
			if err != nil {
				t.Fatalf("SetConsent(%v %v): %v", ch, st, err)
			}
			return resp.GetCustomer()
		}
		const (
			sms    = customerv1.ConsentChannel_CONSENT_CHANNEL_SMS
			email  = customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL
			wechat = customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT
			in     = customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN
			out    = customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT
		)
		ignoreTime := protocmp.IgnoreFields(&customerv1.Consent{}, "update_time")

		after := set(sms, in, " signup-form ")
		want := []*customerv1.Consent{{Channel: sms, Status: in, Source: "signup-form"}}
		if diff := cmp.Diff(want, after.GetConsents(), protocmp.Transform(), ignoreTime); diff != "" {
			t.Errorf("consents (-want +got):\n%s", diff)
		}
		if after.GetConsents()[0].GetUpdateTime() == nil || after.GetEtag() == c.GetEtag() {
			t.Errorf("consent without time or etag unchanged: %v", after)
		}
		var ev customerv1.ConsentChanged
		evs.next(t, &ev)
		if ev.GetCustomerId() != c.GetId() || !cmp.Equal(want[0], ev.GetConsent(), protocmp.Transform(), ignoreTime) {
			t.Errorf("ConsentChanged = %v", &ev)
		}

		// The same answer again changes nothing.
		again := set(sms, in, "signup-form")
		if again.GetEtag() != after.GetEtag() {
			t.Errorf("repeating a consent changed the etag %s -> %s", after.GetEtag(), again.GetEtag())
		}

		set(wechat, out, "call-center")
		set(sms, out, "unsubscribe-link")
		set(email, in, "newsletter-form")
		final := h.get(t, c.GetId())
		want = []*customerv1.Consent{
			{Channel: sms, Status: out, Source: "unsubscribe-link"},
			{Channel: email, Status: in, Source: "newsletter-form"},
			{Channel: wechat, Status: out, Source: "call-center"},
		}
		if diff := cmp.Diff(want, final.GetConsents(), protocmp.Transform(), ignoreTime); diff != "" {
			t.Errorf("consents by channel (-want +got):\n%s", diff)
		}
		for _, w := range []*customerv1.Consent{want[2], want[0], want[1]} {
			var ev customerv1.ConsentChanged
			evs.next(t, &ev)
			if !cmp.Equal(w, ev.GetConsent(), protocmp.Transform(), ignoreTime) {
				t.Errorf("ConsentChanged %v, want %v", ev.GetConsent(), w)
			}
		}
		evs.none(t)

		// Consents are output-only on update.
		up, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), Consents: []*customerv1.Consent{{Channel: sms, Status: in, Source: "forged"}}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"consents"}},
		})
		if err != nil || !cmp.Equal(final.GetConsents(), up.GetCustomer().GetConsents(), protocmp.Transform()) {
			t.Errorf("update naming consents: %v, %v", up.GetCustomer().GetConsents(), err)
		}

		for _, tc := range []struct {
			name  string
			req   *customerv1.SetConsentRequest
			field string
		}{
			{"NoChannel", &customerv1.SetConsentRequest{CustomerId: c.GetId(), Status: in, Source: "s"}, "channel"},
			{"UnknownChannel", &customerv1.SetConsentRequest{CustomerId: c.GetId(), Channel: 42, Status: in, Source: "s"}, "channel"},
			{"NoStatus", &customerv1.SetConsentRequest{CustomerId: c.GetId(), Channel: sms, Source: "s"}, "status"},
			{"NoSource", &customerv1.SetConsentRequest{CustomerId: c.GetId(), Channel: sms, Status: in, Source: " "}, "source"},
			{"BadID", &customerv1.SetConsentRequest{CustomerId: "c1", Channel: sms, Status: in, Source: "s"}, "customer_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.client.SetConsent(as(t, testActor), tc.req)
				wantViolation(t, err, tc.field)
			})
		}
		_, err = h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: unknownID, Channel: sms, Status: in, Source: "s"})
		wantCode(t, err, codes.NotFound, unknownID)
		if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: c.GetId()}); err != nil {
			t.Fatal(err)
		}
		_, err = h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: c.GetId(), Channel: sms, Status: in, Source: "s"})
		wantCode(t, err, codes.FailedPrecondition, c.GetId())
	})
}
