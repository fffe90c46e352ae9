package customer_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// history returns a customer's whole ownership history, newest first.
func (h harness) history(t *testing.T, id string) []*customerv1.OwnershipChange {
	t.Helper()
	var out []*customerv1.OwnershipChange
	token := ""
	for page := 0; ; page++ {
		if page > 50 {
			t.Fatal("paging does not end")
		}
		resp, err := h.client.ListOwnershipChanges(as(t, testActor), &customerv1.ListOwnershipChangesRequest{CustomerId: id, PageToken: token})
		if err != nil {
			t.Fatalf("ListOwnershipChanges(%s): %v", id, err)
		}
		out = append(out, resp.GetChanges()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// ignoreChangeTime compares ownership changes without their times.
var ignoreChangeTime = protocmp.IgnoreFields(&customerv1.OwnershipChange{}, "change_time")

func TestOwnershipHistory(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		evs := h.events(t, customerv1.SubjectOwnershipChanged)
		// Created without owner_id: the calling actor owns it.
		c := h.create(t, &customerv1.Customer{DisplayName: "周杰", TeamId: "team-east"})
		if c.GetOwnerId() != testActor || c.GetTeamId() != "team-east" {
			t.Fatalf("owner %q team %q, want the actor %q and team-east", c.GetOwnerId(), c.GetTeamId(), testActor)
		}
		created := &customerv1.OwnershipChange{CustomerId: c.GetId(), ToOwnerId: testActor, ToTeamId: "team-east", Reason: "created", Actor: testActor}
		if diff := cmp.Diff([]*customerv1.OwnershipChange{created}, h.history(t, c.GetId()), protocmp.Transform(), ignoreChangeTime); diff != "" {
			t.Errorf("history after create (-want +got):\n%s", diff)
		}

		// An explicit owner wins over the actor.
		other := h.create(t, &customerv1.Customer{DisplayName: "林峰", OwnerId: "am-li"})
		if other.GetOwnerId() != "am-li" {
			t.Errorf("owner %q, want am-li", other.GetOwnerId())
		}

		// A change of owner through UpdateCustomer is history too, with the
		// actor and reason from the metadata.
		up, err := h.client.UpdateCustomer(as(t, "director-wang", "territory change"), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), Etag: c.GetEtag(), OwnerId: "am-li", TeamId: "team-west"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner_id", "team_id"}},
		})
		if err != nil {
			t.Fatalf("UpdateCustomer owner: %v", err)
		}
		if up.GetCustomer().GetOwnerId() != "am-li" || up.GetCustomer().GetTeamId() != "team-west" {
			t.Errorf("updated owner %q team %q", up.GetCustomer().GetOwnerId(), up.GetCustomer().GetTeamId())
		}
		moved := &customerv1.OwnershipChange{CustomerId: c.GetId(), FromOwnerId: testActor, FromTeamId: "team-east",
			ToOwnerId: "am-li", ToTeamId: "team-west", Reason: "territory change", Actor: "director-wang"}
		hist := h.history(t, c.GetId())
		if diff := cmp.Diff([]*customerv1.OwnershipChange{moved, created}, hist, protocmp.Transform(), ignoreChangeTime); diff != "" {
			t.Errorf("history after update, newest first (-want +got):\n%s", diff)
		}
		if len(hist) == 2 && hist[0].GetChangeTime().AsTime().Before(hist[1].GetChangeTime().AsTime()) {
			t.Errorf("history not newest first: %v then %v", hist[0].GetChangeTime().AsTime(), hist[1].GetChangeTime().AsTime())
		}
		var ev customerv1.OwnershipChanged
		evs.next(t, &ev)
		if diff := cmp.Diff(moved, ev.GetChange(), protocmp.Transform(), ignoreChangeTime); diff != "" {
			t.Errorf("OwnershipChanged (-want +got):\n%s", diff)
		}

		// The owner can never be removed, by a mask naming it or by a full
		// replacement.
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), OwnerId: "  "},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner_id"}},
		})
		wantViolation(t, err, "customer.owner_id")
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), DisplayName: "周杰"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}},
		})
		wantViolation(t, err, "customer.owner_id")
		if got := h.get(t, c.GetId()); got.GetOwnerId() != "am-li" {
			t.Errorf("owner after refused updates %q, want am-li", got.GetOwnerId())
		}
		evs.none(t)

		// Paging through the history.
		resp, err := h.client.ListOwnershipChanges(callCtx(t), &customerv1.ListOwnershipChangesRequest{CustomerId: c.GetId(), PageSize: 1})
		if err != nil || len(resp.GetChanges()) != 1 || resp.GetNextPageToken() == "" {
			t.Fatalf("first page of 1: %v, token %q, %v", resp.GetChanges(), resp.GetNextPageToken(), err)
		}
		resp, err = h.client.ListOwnershipChanges(callCtx(t), &customerv1.ListOwnershipChangesRequest{CustomerId: c.GetId(), PageSize: 1, PageToken: resp.GetNextPageToken()})
		if err != nil || len(resp.GetChanges()) != 1 || resp.GetChanges()[0].GetReason() != "created" || resp.GetNextPageToken() != "" {
			t.Fatalf("second page: %v, token %q, %v", resp.GetChanges(), resp.GetNextPageToken(), err)
		}
		_, err = h.client.ListOwnershipChanges(callCtx(t), &customerv1.ListOwnershipChangesRequest{CustomerId: other.GetId(), PageToken: resp.GetNextPageToken() + "x"})
		wantViolation(t, err, "page_token")
		_, err = h.client.ListOwnershipChanges(callCtx(t), &customerv1.ListOwnershipChangesRequest{CustomerId: unknownID})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = h.client.ListOwnershipChanges(callCtx(t), &customerv1.ListOwnershipChangesRequest{CustomerId: "x"})
		wantViolation(t, err, "customer_id")
	})
}

func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		evs := h.events(t, customerv1.SubjectOwnershipChanged)
		var vip, plain []*customerv1.Customer
		for i := range 3 {
			vip = append(vip, h.create(t, &customerv1.Customer{DisplayName: seq("vip", i), OwnerId: "am-old", TeamId: "team-a", Tags: []string{"vip"}}))
			plain = append(plain, h.create(t, &customerv1.Customer{DisplayName: seq("plain", i), OwnerId: "am-old", TeamId: "team-a"}))
		}
		bystander := h.create(t, &customerv1.Customer{DisplayName: "bystander", OwnerId: "am-other", Tags: []string{"vip"}})
		// A soft-deleted customer moves too: undeleting it later must not
		// bring back an owner who has left.
		if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: plain[2].GetId()}); err != nil {
			t.Fatalf("DeleteCustomer: %v", err)
		}

		// The vip customers first, to a new team.
		ctx := as(t, "director-wang")
		resp, err := h.client.TransferOwnership(ctx, &customerv1.TransferOwnershipRequest{
			FromOwnerId: "am-old", ToOwnerId: "am-new", ToTeamId: "team-b", Filter: `tags:"vip"`, Reason: "account manager left",
		})
		if err != nil {
			t.Fatalf("TransferOwnership vip: %v", err)
		}
		if resp.GetTransferredCount() != 3 {
			t.Errorf("transferred %d, want the 3 vip customers", resp.GetTransferredCount())
		}
		for _, c := range vip {
			got := h.get(t, c.GetId())
			if got.GetOwnerId() != "am-new" || got.GetTeamId() != "team-b" {
				t.Errorf("%s: owner %q team %q, want am-new team-b", c.GetDisplayName(), got.GetOwnerId(), got.GetTeamId())
			}
			if got.GetEtag() == c.GetEtag() {
				t.Errorf("%s: etag unchanged by the transfer", c.GetDisplayName())
			}
			want := &customerv1.OwnershipChange{CustomerId: c.GetId(), FromOwnerId: "am-old", FromTeamId: "team-a",
				ToOwnerId: "am-new", ToTeamId: "team-b", Reason: "account manager left", Actor: "director-wang"}
			if hist := h.history(t, c.GetId()); len(hist) != 2 || !cmp.Equal(want, hist[0], protocmp.Transform(), ignoreChangeTime) {
				t.Errorf("%s: history %v, want newest %v", c.GetDisplayName(), hist, want)
			}
		}
		if got := h.get(t, bystander.GetId()); got.GetOwnerId() != "am-other" {
			t.Errorf("another owner's customer moved to %q", got.GetOwnerId())
		}

		// Then the rest, keeping their team.
		resp, err = h.client.TransferOwnership(ctx, &customerv1.TransferOwnershipRequest{
			FromOwnerId: "am-old", ToOwnerId: "am-new", Reason: "account manager left",
		})
		if err != nil {
			t.Fatalf("TransferOwnership rest: %v", err)
		}
		if resp.GetTransferredCount() != 3 {
			t.Errorf("transferred %d, want the 3 plain customers (one of them deleted)", resp.GetTransferredCount())
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Filter: `owner_id = "am-old"`, ShowDeleted: true}); len(ids) != 0 {
			t.Errorf("am-old still owns %v", ids)
		}
		undeleted, err := h.client.UndeleteCustomer(as(t, testActor), &customerv1.UndeleteCustomerRequest{Id: plain[2].GetId()})
		if err != nil {
			t.Fatalf("UndeleteCustomer: %v", err)
		}
		if got := undeleted.GetCustomer(); got.GetOwnerId() != "am-new" || got.GetTeamId() != "team-a" {
			t.Errorf("undeleted customer owner %q team %q, want am-new team-a", got.GetOwnerId(), got.GetTeamId())
		}

		// One event per moved customer, with the old and the new owner.
		moved := map[string]bool{}
		for range 6 {
			var ev customerv1.OwnershipChanged
			evs.next(t, &ev)
			ch := ev.GetChange()
			if ch.GetFromOwnerId() != "am-old" || ch.GetToOwnerId() != "am-new" || ch.GetReason() != "account manager left" || ch.GetActor() != "director-wang" {
				t.Errorf("OwnershipChanged = %v", ch)
			}
			if moved[ch.GetCustomerId()] {
				t.Errorf("two events for %s", ch.GetCustomerId())
			}
			moved[ch.GetCustomerId()] = true
		}
		for _, c := range append(vip, plain...) {
			if !moved[c.GetId()] {
				t.Errorf("no OwnershipChanged for %s", c.GetDisplayName())
			}
		}

		// Nothing left to move: no customers, no events.
		resp, err = h.client.TransferOwnership(ctx, &customerv1.TransferOwnershipRequest{FromOwnerId: "am-old", ToOwnerId: "am-new", Reason: "again"})
		if err != nil || resp.GetTransferredCount() != 0 {
			t.Errorf("second transfer moved %d, %v; want 0", resp.GetTransferredCount(), err)
		}
		// The same owner to another team moves only the team.
		resp, err = h.client.TransferOwnership(ctx, &customerv1.TransferOwnershipRequest{
			FromOwnerId: "am-other", ToOwnerId: "am-other", ToTeamId: "team-c", Reason: "reorganisation"})
		if err != nil || resp.GetTransferredCount() != 1 {
			t.Errorf("team-only transfer moved %d, %v; want 1", resp.GetTransferredCount(), err)
		}
		var ev customerv1.OwnershipChanged
		evs.next(t, &ev)
		if ch := ev.GetChange(); ch.GetCustomerId() != bystander.GetId() || ch.GetToTeamId() != "team-c" || ch.GetFromOwnerId() != "am-other" || ch.GetToOwnerId() != "am-other" {
			t.Errorf("team-only OwnershipChanged = %v", ch)
		}
		evs.none(t)

		for _, tc := range []struct {
			name  string
			req   *customerv1.TransferOwnershipRequest
			field string
		}{
			{"NoReason", &customerv1.TransferOwnershipRequest{FromOwnerId: "am-new", ToOwnerId: "am-x"}, "reason"},
			{"NoTarget", &customerv1.TransferOwnershipRequest{FromOwnerId: "am-new", Reason: "r"}, "to_owner_id"},
			{"BlankTarget", &customerv1.TransferOwnershipRequest{FromOwnerId: "am-new", ToOwnerId: "  ", Reason: "r"}, "to_owner_id"},
			{"NoSource", &customerv1.TransferOwnershipRequest{ToOwnerId: "am-x", Reason: "r"}, "from_owner_id"},
			{"SameOwner", &customerv1.TransferOwnershipRequest{FromOwnerId: "am-new", ToOwnerId: "am-new", Reason: "r"}, "to_owner_id"},
			{"BadFilter", &customerv1.TransferOwnershipRequest{FromOwnerId: "am-new", ToOwnerId: "am-x", Reason: "r", Filter: `colour = "red"`}, "filter"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.client.TransferOwnership(ctx, tc.req)
				wantViolation(t, err, tc.field)
			})
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{Filter: `owner_id = "am-new"`}); len(ids) != 6 {
			t.Errorf("am-new owns %d customers after refused transfers, want 6", len(ids))
		}
	})
}

// TestTransferTenThousand moves 10,000 customers in one call and checks
// that each has the new owner, a history entry naming the old and the new
// one, one OwnershipChanged event, and that no customer is left without an
// owner.
func TestTransferTenThousand(t *testing.T) {
	t.Parallel()
	const n = 10000
	forEachDB(t, func(t *testing.T, h harness) {
		var csv bytes.Buffer
		csv.WriteString("external_id,display_name,owner_id,team_id\n")
		for i := range n {
			owner := "am-leaving"
			if i%10 == 0 {
				// Tenth customers belong to someone else and stay.
				owner = "am-staying"
			}
			fmt.Fprintf(&csv, "ext-%05d,客户 %05d,%s,team-a\n", i, i, owner)
		}
		// Plus exactly n customers for the leaving owner.
		for i := range n / 10 {
			fmt.Fprintf(&csv, "ext-x%05d,客户 x%05d,am-leaving,team-a\n", i, i)
		}
		start := time.Now()
		res, err := h.importFile(t, bulk(t, testActor), customerv1.ImportFormat_IMPORT_FORMAT_CSV, csv.Bytes(), false)
		if err != nil {
			t.Fatalf("ImportCustomers: %v", err)
		}
		if res.GetCreatedCount() != n+n/10 || res.GetFailedCount() != 0 {
			t.Fatalf("import created %d, failed %d (%v)", res.GetCreatedCount(), res.GetFailedCount(), res.GetErrors())
		}
		t.Logf("%s: imported %d customers in %v", h.db, n+n/10, time.Since(start))

		start = time.Now()
		resp, err := h.client.TransferOwnership(bulk(t, "director-wang"), &customerv1.TransferOwnershipRequest{
			FromOwnerId: "am-leaving", ToOwnerId: "am-taking-over", Reason: "am-leaving left the company",
		})
		if err != nil {
			t.Fatalf("TransferOwnership: %v", err)
		}
		t.Logf("%s: transferred %d customers in %v", h.db, resp.GetTransferredCount(), time.Since(start))
		if resp.GetTransferredCount() != n {
			t.Fatalf("transferred %d, want %d", resp.GetTransferredCount(), n)
		}

		countOf := func(filter string) int {
			return len(h.listIDs(t, &customerv1.ListCustomersRequest{Filter: filter, PageSize: 1000}))
		}
		if got := countOf(`owner_id = "am-taking-over"`); got != n {
			t.Errorf("am-taking-over owns %d customers, want %d", got, n)
		}
		if got := countOf(`owner_id = "am-leaving"`); got != 0 {
			t.Errorf("am-leaving still owns %d customers", got)
		}
		if got := countOf(`owner_id = ""`); got != 0 {
			t.Errorf("%d customers have no owner", got)
		}
		if got := countOf(`owner_id = "am-staying"`); got != n/10 {
			t.Errorf("am-staying owns %d customers, want %d", got, n/10)
		}

		// Every exported customer has an owner; none is am-leaving.
		exported := h.export(t, &customerv1.ExportCustomersRequest{})
		if len(exported) != n+n/10 {
			t.Errorf("exported %d customers, want %d", len(exported), n+n/10)
		}
		var sample []*customerv1.Customer
		moved := 0
		for _, c := range exported {
			switch c.GetOwnerId() {
			case "":
				t.Errorf("customer %s has no owner", c.GetId())
			case "am-leaving":
				t.Errorf("customer %s still owned by am-leaving", c.GetId())
			case "am-taking-over":
				if moved%500 == 0 {
					sample = append(sample, c)
				}
				moved++
			}
		}

		// History names the old and the new owner, sampled.
		if len(sample) < 10 {
			t.Fatalf("sample of %d customers", len(sample))
		}
		for _, c := range sample {
			hist := h.history(t, c.GetId())
			want := []*customerv1.OwnershipChange{
				{CustomerId: c.GetId(), FromOwnerId: "am-leaving", FromTeamId: "team-a", ToOwnerId: "am-taking-over", ToTeamId: "team-a",
					Reason: "am-leaving left the company", Actor: "director-wang"},
				{CustomerId: c.GetId(), ToOwnerId: "am-leaving", ToTeamId: "team-a", Reason: "import", Actor: testActor},
			}
			if diff := cmp.Diff(want, hist, protocmp.Transform(), ignoreChangeTime); diff != "" {
				t.Errorf("history of %s (-want +got):\n%s", c.GetExternalId(), diff)
			}
		}

		// And for all of them, counted in the history table.
		if got := h.count(t, `SELECT COUNT(DISTINCT customer_id) FROM ownership_changes
			WHERE from_owner_id = ? AND to_owner_id = ? AND reason = ?`, "am-leaving", "am-taking-over", "am-leaving left the company"); got != n {
			t.Errorf("%d customers have the transfer in their history, want %d", got, n)
		}

		// One OwnershipChanged per moved customer, written with the
		// transfer. (The relay publishes 21,000 events one by one, too slow
		// to wait for here; TestTransferOwnership reads them from NATS.)
		payloads := h.publishedEvents(t, customerv1.SubjectOwnershipChanged)
		if len(payloads) != n {
			t.Errorf("%d OwnershipChanged events, want %d", len(payloads), n)
		}
		seen := map[string]bool{}
		for _, p := range payloads {
			var ev customerv1.OwnershipChanged
			if err := proto.Unmarshal(p, &ev); err != nil {
				t.Fatalf("decode OwnershipChanged: %v", err)
			}
			ch := ev.GetChange()
			if ch.GetFromOwnerId() != "am-leaving" || ch.GetToOwnerId() != "am-taking-over" || seen[ch.GetCustomerId()] {
				t.Fatalf("OwnershipChanged %v (repeated: %t)", ch, seen[ch.GetCustomerId()])
			}
			seen[ch.GetCustomerId()] = true
		}
	})
}
