package customer_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

func TestDuplicateContacts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		first := h.create(t, &customerv1.Customer{DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "138 0013 8000",
			OtherEmails: []string{"xm@work.example"}, OtherPhones: []string{"021-6212 3456"}})

		// The message names the field and the holder, never the contact
		// itself: error texts reach logs and import reports.
		for _, tc := range []struct {
			name, field string
			c           *customerv1.Customer
			value       string
		}{
			{"SamePhoneOtherFormat", "phone", &customerv1.Customer{DisplayName: "小明", Phone: "+86 138-0013-8000"}, "13800138000"},
			{"SameEmailOtherCase", "email", &customerv1.Customer{DisplayName: "小明", Email: "XiaoMing@EXAMPLE.cn"}, "xiaoming@"},
			{"OtherEmailOfFirst", "email", &customerv1.Customer{DisplayName: "小明", Email: "xm@work.example"}, "xm@"},
			{"OtherPhoneMatchesPrimary", "other_phones", &customerv1.Customer{DisplayName: "小明", OtherPhones: []string{"13800138000"}}, "13800138000"},
			{"PhoneMatchesOtherPhone", "phone", &customerv1.Customer{DisplayName: "小明", Phone: "+862162123456"}, "2162123456"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{Customer: tc.c})
				wantCode(t, err, codes.AlreadyExists, first.GetId(), tc.field+" already belongs")
				if msg := status.Convert(err).Message(); strings.Contains(strings.ToLower(msg), strings.ToLower(tc.value)) {
					t.Errorf("message %q repeats the contact", msg)
				}
			})
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{}); len(ids) != 1 {
			t.Fatalf("refused duplicates were stored: %v", ids)
		}

		// allow_duplicate creates the customer, flagged.
		resp, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "王小明 (门店)", Phone: "13800138000"}, AllowDuplicate: true,
		})
		if err != nil {
			t.Fatalf("CreateCustomer allow_duplicate: %v", err)
		}
		dup := resp.GetCustomer()
		if !dup.GetPossibleDuplicate() || dup.GetPhone() != "+8613800138000" {
			t.Errorf("allowed duplicate = %v", dup)
		}
		if first := h.get(t, first.GetId()); first.GetPossibleDuplicate() {
			t.Error("the first customer got flagged")
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Filter: "possible_duplicate = true"}); !slices.Equal(ids, []string{dup.GetId()}) {
			t.Errorf("possible_duplicate = true lists %v, want %s", ids, dup.GetId())
		}
		// The first holder keeps the claim: a third customer is still told
		// about the first one.
		_, err = h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "第三", Phone: "13800138000"}})
		wantCode(t, err, codes.AlreadyExists, first.GetId())

		// Updates are checked as well, and the etag stays.
		other := h.create(t, &customerv1.Customer{DisplayName: "李雷", Email: "lilei@example.cn"})
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: other.GetId(), OtherPhones: []string{"138 0013 8000"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"other_phones"}},
		})
		wantCode(t, err, codes.AlreadyExists, first.GetId())
		if got := h.get(t, other.GetId()); got.GetEtag() != other.GetEtag() || len(got.GetOtherPhones()) != 0 {
			t.Errorf("a refused update was written: %v", got)
		}
		// A customer may keep its own contacts and move them around.
		up, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: first.GetId(), Email: "xm@work.example", OtherEmails: []string{"xiaoming@example.cn"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "other_emails"}},
		})
		if err != nil || up.GetCustomer().GetEmail() != "xm@work.example" {
			t.Errorf("swap own emails: %v, %v", up.GetCustomer(), err)
		}
		// A contact a customer gives up is free for others.
		if _, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: first.GetId()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"other_phones"}},
		}); err != nil {
			t.Fatalf("drop other phones: %v", err)
		}
		if _, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "上海办公室", Phone: "021 6212 3456"}}); err != nil {
			t.Errorf("create with a released phone: %v", err)
		}
	})
}

func TestFindDuplicates(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		target := h.create(t, &customerv1.Customer{DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "13800138000"})
		mk := func(c *customerv1.Customer) *customerv1.Customer {
			t.Helper()
			resp, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{Customer: c, AllowDuplicate: true})
			if err != nil {
				t.Fatalf("CreateCustomer(%s): %v", c.GetDisplayName(), err)
			}
			return resp.GetCustomer()
		}
		samePhoneAndName := mk(&customerv1.Customer{DisplayName: " 王 小明 ", OtherPhones: []string{"+86 138 0013 8000"}})
		sameEmail := mk(&customerv1.Customer{DisplayName: "Wang Xiaoming", Email: "XIAOMING@example.cn"})
		sameName := mk(&customerv1.Customer{DisplayName: "王小明"})
		mk(&customerv1.Customer{DisplayName: "小明王"})  // another order: another name
		mk(&customerv1.Customer{DisplayName: "王小明明"}) // a longer name
		mk(&customerv1.Customer{DisplayName: "李雷", Phone: "13900139000"})

		resp, err := h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: target.GetId()})
		if err != nil {
			t.Fatalf("FindDuplicates: %v", err)
		}
		var got []string
		reasons := map[string][]string{}
		for _, c := range resp.GetCandidates() {
			got = append(got, c.GetCustomer().GetId())
			reasons[c.GetCustomer().GetId()] = c.GetReasons()
			if c.GetScore() <= 0 || c.GetScore() > 1 {
				t.Errorf("%s: score %v out of (0, 1]", c.GetCustomer().GetDisplayName(), c.GetScore())
			}
		}
		// Contact and name beat contact alone, which beats name alone.
		if diff := cmp.Diff([]string{samePhoneAndName.GetId(), sameEmail.GetId(), sameName.GetId()}, got); diff != "" {
			t.Errorf("candidates, likeliest first (-want +got):\n%s", diff)
		}
		if slices.Contains(got, target.GetId()) {
			t.Error("a customer is its own duplicate")
		}
		wantReasons := map[string][]string{
			samePhoneAndName.GetId(): {"same other_phones +8613800138000", "same name"},
			sameEmail.GetId():        {"same email XIAOMING@example.cn"},
			sameName.GetId():         {"same name"},
		}
		if diff := cmp.Diff(wantReasons, reasons); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}

		// Latin names match whatever the order, case and width.
		latin := h.create(t, &customerv1.Customer{DisplayName: "XIAOMING Wang"})
		fullWidth := mk(&customerv1.Customer{DisplayName: "ｗａｎｇ　ｘｉａｏｍｉｎｇ"})
		resp, err = h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: latin.GetId()})
		if err != nil {
			t.Fatalf("FindDuplicates latin: %v", err)
		}
		got = got[:0]
		for _, c := range resp.GetCandidates() {
			got = append(got, c.GetCustomer().GetId())
		}
		if diff := cmp.Diff([]string{sameEmail.GetId(), fullWidth.GetId()}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("latin name candidates (-want +got):\n%s", diff)
		}

		resp, err = h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: target.GetId(), PageSize: 1})
		if err != nil || len(resp.GetCandidates()) != 1 || resp.GetCandidates()[0].GetCustomer().GetId() != samePhoneAndName.GetId() {
			t.Errorf("page_size 1: %v, %v", resp.GetCandidates(), err)
		}
		_, err = h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: target.GetId(), PageSize: -1})
		wantViolation(t, err, "page_size")
		_, err = h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{CustomerId: unknownID})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = h.client.FindDuplicates(as(t, testActor), &customerv1.FindDuplicatesRequest{})
		wantViolation(t, err, "customer_id")
	})
}

func TestMergeCustomers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, stringAttr("city"), numberAttr("spend"))
		evs := h.events(t, customerv1.SubjectCustomerMerged)
		survivor := h.create(t, &customerv1.Customer{
			DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "13800138000", Tags: []string{"vip"},
			Attributes: map[string]*customerv1.AttributeValue{"city": strVal("Hangzhou")},
			Addresses:  []*customerv1.Address{{City: "杭州市", Lines: []string{"文三路 100 号"}}},
			OwnerId:    "am-li",
		})
		merged := h.create(t, &customerv1.Customer{
			DisplayName: "王 小明", Email: "wxm@work.example", Phone: "13900139000", OtherPhones: []string{"021 6212 3456"},
			Tags:       []string{"wholesale", "vip"},
			Attributes: map[string]*customerv1.AttributeValue{"city": strVal("Shanghai"), "spend": numVal(800)},
			Addresses:  []*customerv1.Address{{City: "杭州市", Lines: []string{"文三路 100 号"}}, {City: "上海市", Lines: []string{"南京路 1 号"}}},
			Birthday:   &date.Date{Year: 1990, Month: 5, Day: 17},
			ExternalId: "legacy-7",
			OwnerId:    "am-zhao",
		})
		company := h.create(t, &customerv1.Customer{Type: org, DisplayName: "杭州茶业"})
		h.relate(t, merged.GetId(), company.GetId(), customerv1.RelationshipType_RELATIONSHIP_TYPE_WORKS_AT, "采购")
		if _, err := h.client.SetConsent(as(t, testActor), &customerv1.SetConsentRequest{CustomerId: merged.GetId(),
			Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "call"}); err != nil {
			t.Fatal(err)
		}
		// Something to see in the merged customer's history.
		h.get(t, merged.GetId())

		resp, err := h.client.MergeCustomers(as(t, "data-steward", "same person"), &customerv1.MergeCustomersRequest{
			SurvivorCustomerId: survivor.GetId(), MergedCustomerId: merged.GetId(), Reason: "same phone owner confirmed",
		})
		if err != nil {
			t.Fatalf("MergeCustomers: %v", err)
		}
		s := resp.GetCustomer()
		want := &customerv1.Customer{
			Id: survivor.GetId(), Type: person, Kind: survivor.GetKind(), LifecycleStage: survivor.GetLifecycleStage(),
			State:       customerv1.CustomerState_CUSTOMER_STATE_ACTIVE,
			DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "+8613800138000",
			OtherEmails: []string{"wxm@work.example"}, OtherPhones: []string{"+8613900139000", "+862162123456"},
			Tags:       []string{"vip", "wholesale"},
			Attributes: map[string]*customerv1.AttributeValue{"city": strVal("Hangzhou"), "spend": numVal(800)},
			Addresses: []*customerv1.Address{{CountryCode: "CN", City: "杭州市", Lines: []string{"文三路 100 号"}},
				{CountryCode: "CN", City: "上海市", Lines: []string{"南京路 1 号"}}},
			Birthday:          &date.Date{Year: 1990, Month: 5, Day: 17},
			ExternalId:        "legacy-7",
			OwnerId:           "am-li",
			MergedCustomerIds: []string{merged.GetId()},
		}
		ignore := protocmp.IgnoreFields(&customerv1.Customer{}, "create_time", "update_time", "etag", "consents")
		if diff := cmp.Diff(want, s, protocmp.Transform(), ignore); diff != "" {
			t.Errorf("survivor (-want +got):\n%s", diff)
		}
		if len(s.GetConsents()) != 1 || s.GetConsents()[0].GetStatus() != customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT {
			t.Errorf("survivor consents %v, want the merged customer's SMS opt-out", s.GetConsents())
		}

		// The merged id resolves to the survivor.
		if got := h.get(t, merged.GetId()); got.GetId() != survivor.GetId() {
			t.Errorf("GetCustomer(merged id) = %s, want the survivor %s", got.GetId(), survivor.GetId())
		}
		// One customer remains.
		ids := h.listIDs(t, &customerv1.ListCustomersRequest{Filter: `type = "PERSON"`})
		if !slices.Equal(ids, []string{survivor.GetId()}) {
			t.Errorf("people after the merge: %v, want only the survivor", ids)
		}
		if got := h.listIDs(t, &customerv1.ListCustomersRequest{Query: "13900139000"}); !slices.Equal(got, []string{survivor.GetId()}) {
			t.Errorf("search for the merged customer's phone finds %v", got)
		}

		// History and relationships moved.
		hist := h.history(t, survivor.GetId())
		var owners []string
		for _, c := range hist {
			owners = append(owners, c.GetToOwnerId())
		}
		if !slices.Contains(owners, "am-zhao") || !slices.Contains(owners, "am-li") {
			t.Errorf("survivor's ownership history %v lacks the merged customer's", owners)
		}
		if rs := h.relationships(t, survivor.GetId()); len(rs) != 1 || rs[0].GetFromCustomerId() != survivor.GetId() || rs[0].GetToCustomerId() != company.GetId() {
			t.Errorf("survivor's relationships %v, want the merged customer's job", rs)
		}
		audit, err := h.client.ListAuditEntries(callCtx(t), &customerv1.ListAuditEntriesRequest{CustomerId: survivor.GetId(), PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var sawMergedRead, sawMerge bool
		for _, e := range audit.GetEntries() {
			sawMergedRead = sawMergedRead || e.GetCustomerId() == merged.GetId() && e.GetAction() == "GetCustomer"
			sawMerge = sawMerge || e.GetAction() == "MergeCustomers" && e.GetActor() == "data-steward" && e.GetReason() == "same phone owner confirmed"
		}
		if !sawMergedRead || !sawMerge {
			t.Errorf("survivor's audit trail (merged customer's read %t, the merge %t): %v", sawMergedRead, sawMerge, audit.GetEntries())
		}

		// The event tells other services to re-key.
		var ev customerv1.CustomerMerged
		evs.next(t, &ev)
		if ev.GetMergedCustomerId() != merged.GetId() || ev.GetSurvivorCustomerId() != survivor.GetId() || ev.GetSurvivor().GetId() != survivor.GetId() ||
			!slices.Contains(ev.GetSurvivor().GetOtherPhones(), "+8613900139000") {
			t.Errorf("CustomerMerged = %v", &ev)
		}

		// The merged customer's contacts now belong to the survivor.
		_, err = h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "x", Email: "wxm@work.example"}})
		wantCode(t, err, codes.AlreadyExists, survivor.GetId())
		// Writes to the merged id are refused; reads of its history follow it.
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: merged.GetId(), DisplayName: "x"}})
		wantCode(t, err, codes.FailedPrecondition, survivor.GetId())
		if got := h.history(t, merged.GetId()); len(got) != len(hist) {
			t.Errorf("history by the merged id has %d entries, the survivor's %d", len(got), len(hist))
		}

		// A chain of merges still resolves.
		third := h.create(t, &customerv1.Customer{DisplayName: "王小明 3", Email: "third@example.cn"})
		if _, err := h.client.MergeCustomers(as(t, testActor), &customerv1.MergeCustomersRequest{
			SurvivorCustomerId: third.GetId(), MergedCustomerId: survivor.GetId()}); err != nil {
			t.Fatalf("merge the survivor into a third: %v", err)
		}
		for _, id := range []string{merged.GetId(), survivor.GetId()} {
			if got := h.get(t, id); got.GetId() != third.GetId() {
				t.Errorf("GetCustomer(%s) = %s, want %s", id, got.GetId(), third.GetId())
			}
		}
		if got := h.get(t, third.GetId()); !slices.Contains(got.GetMergedCustomerIds(), merged.GetId()) || !slices.Contains(got.GetMergedCustomerIds(), survivor.GetId()) {
			t.Errorf("merged ids of the last survivor %v", got.GetMergedCustomerIds())
		}

		for _, tc := range []struct {
			name        string
			req         *customerv1.MergeCustomersRequest
			code        codes.Code
			fieldOrText string
		}{
			{"Self", &customerv1.MergeCustomersRequest{SurvivorCustomerId: third.GetId(), MergedCustomerId: third.GetId()}, codes.InvalidArgument, "merged_customer_id"},
			{"NoSurvivor", &customerv1.MergeCustomersRequest{MergedCustomerId: third.GetId()}, codes.InvalidArgument, "survivor_customer_id"},
			{"BadMerged", &customerv1.MergeCustomersRequest{SurvivorCustomerId: third.GetId(), MergedCustomerId: "x"}, codes.InvalidArgument, "merged_customer_id"},
			{"LongReason", &customerv1.MergeCustomersRequest{SurvivorCustomerId: third.GetId(), MergedCustomerId: company.GetId(), Reason: strings.Repeat("理", 501)}, codes.InvalidArgument, "reason"},
			{"Unknown", &customerv1.MergeCustomersRequest{SurvivorCustomerId: third.GetId(), MergedCustomerId: unknownID}, codes.NotFound, unknownID},
			{"AlreadyMerged", &customerv1.MergeCustomersRequest{SurvivorCustomerId: company.GetId(), MergedCustomerId: merged.GetId()}, codes.FailedPrecondition, merged.GetId()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.client.MergeCustomers(as(t, testActor), tc.req)
				if tc.code == codes.InvalidArgument {
					wantViolation(t, err, tc.fieldOrText)
					return
				}
				wantCode(t, err, tc.code, tc.fieldOrText)
			})
		}
	})
}

// TestConcurrentWrites: racing creates with the same phone leave exactly
// one customer holding it, the others told who; racing updates from the
// same etag leave exactly one winner, the others Aborted.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		const racers = 6
		type result struct {
			id  string
			err error
		}
		race := func(call func(i int) (string, error)) []result {
			out := make([]result, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					id, err := call(i)
					out[i] = result{id, err}
				})
			}
			wg.Wait()
			return out
		}

		// A few rounds, as the window the race needs is narrow.
		var winner string
		for round := range 4 {
			phone := fmt.Sprintf("+86 138 0013 800%d", round)
			created := race(func(i int) (string, error) {
				resp, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
					Customer: &customerv1.Customer{DisplayName: fmt.Sprintf("racer %d-%d", round, i), Phone: phone}})
				return resp.GetCustomer().GetId(), err
			})
			var winners []string
			for _, r := range created {
				if r.err == nil {
					winners = append(winners, r.id)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: %d creates with the same phone succeeded (%v), want 1", round, len(winners), winners)
			}
			winner = winners[0]
			for _, r := range created {
				if r.err != nil {
					wantCode(t, r.err, codes.AlreadyExists, winner)
				}
			}
			if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Filter: fmt.Sprintf("phone = %q", "+861380013800"+fmt.Sprint(round))}); !slices.Equal(ids, []string{winner}) {
				t.Errorf("round %d: customers with the phone: %v, want only %s", round, ids, winner)
			}
		}

		c := h.get(t, winner)
		updated := race(func(i int) (string, error) {
			resp, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: c.GetId(), Etag: c.GetEtag(), DisplayName: fmt.Sprintf("winner %d", i)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
			return resp.GetCustomer().GetDisplayName(), err
		})
		var won []string
		for _, r := range updated {
			if r.err == nil {
				won = append(won, r.id)
				continue
			}
			wantCode(t, r.err, codes.Aborted)
		}
		if len(won) != 1 {
			t.Fatalf("%d updates from the same etag succeeded (%v), want 1", len(won), won)
		}
		if got := h.get(t, c.GetId()); got.GetDisplayName() != won[0] {
			t.Errorf("stored name %q, want the winner's %q", got.GetDisplayName(), won[0])
		}
	})
}
