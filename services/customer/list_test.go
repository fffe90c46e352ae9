package customer_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

func TestListCustomers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		var want []string
		for i := range 7 {
			want = append(want, h.create(t, &customerv1.Customer{DisplayName: fmt.Sprintf("Customer %d", i)}).GetId())
		}

		var got []string
		var sizes []int
		token := ""
		for {
			if len(sizes) > 5 {
				t.Fatal("paging does not end")
			}
			resp, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatalf("ListCustomers page %d: %v", len(sizes)+1, err)
			}
			sizes = append(sizes, len(resp.GetCustomers()))
			for _, cu := range resp.GetCustomers() {
				got = append(got, cu.GetId())
			}
			token = resp.GetNextPageToken()
			if token == "" {
				break
			}
		}
		if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ids, oldest first (-want +got):\n%s", diff)
		}

		all, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{})
		if err != nil || len(all.GetCustomers()) != 7 || all.GetNextPageToken() != "" {
			t.Fatalf("default page = %d customers, token %q, %v", len(all.GetCustomers()), all.GetNextPageToken(), err)
		}
		big, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 5000})
		if err != nil || len(big.GetCustomers()) != 7 {
			t.Errorf("page_size above the maximum: %d customers, %v", len(big.GetCustomers()), err)
		}

		desc := h.listIDs(t, &customerv1.ListCustomersRequest{OrderBy: "create_time desc", PageSize: 2})
		if !slices.Equal(desc, reversed(want)) {
			t.Errorf("create_time desc = %v, want %v", desc, reversed(want))
		}
		byName := h.listIDs(t, &customerv1.ListCustomersRequest{OrderBy: "display_name desc", PageSize: 4})
		if !slices.Equal(byName, reversed(want)) {
			t.Errorf("display_name desc = %v, want %v", byName, reversed(want))
		}

		_, err = h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: -1})
		wantViolation(t, err, "page_size")
		_, err = h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageToken: "garbage!"})
		wantViolation(t, err, "page_token")
		// A token is only good for the request it was issued for.
		first, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 2, PageToken: first.GetNextPageToken(), OrderBy: "display_name"})
		wantViolation(t, err, "page_token")
		_, err = h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{OrderBy: "colour"})
		wantViolation(t, err, "order_by")
	})
}

func TestListFiltersAndSearch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		h.declare(t, stringAttr("city"), numberAttr("spend"))
		dist := customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR
		city := func(c string) map[string]*customerv1.AttributeValue {
			return map[string]*customerv1.AttributeValue{"city": strVal(c)}
		}
		before := time.Now()
		a := h.create(t, &customerv1.Customer{Type: org, Kind: dist, DisplayName: "杭州经销商", Tags: []string{"vip"}, Attributes: city("Hangzhou"), OwnerId: "am-li"})
		b := h.create(t, &customerv1.Customer{Type: org, Kind: dist, DisplayName: "上海经销商", Tags: []string{"vip", "east"}, Attributes: city("Shanghai")})
		c := h.create(t, &customerv1.Customer{Type: org, Kind: dist, DisplayName: "杭州批发部", Attributes: city("Hangzhou"), TeamId: "team-east"})
		d := h.create(t, &customerv1.Customer{DisplayName: "王小明", Tags: []string{"vip"}, Attributes: map[string]*customerv1.AttributeValue{
			"city": strVal("Hangzhou"), "spend": numVal(1200)}, Email: "xiaoming@example.cn", Phone: "13800138000", OtherPhones: []string{"+1 415 555 2671"}})
		e := h.create(t, &customerv1.Customer{Type: org, Kind: customerv1.CustomerKind_CUSTOMER_KIND_PARTNER, LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_ACTIVE,
			DisplayName: "Acme Trading Ltd", Email: "sales@acme.com", ExternalId: "sf-001", Locale: "en-US",
			Attributes: map[string]*customerv1.AttributeValue{"spend": numVal(99.5)}})
		name := map[string]string{a.GetId(): "a", b.GetId(): "b", c.GetId(): "c", d.GetId(): "d", e.GetId(): "e"}
		letters := func(ids []string) []string {
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = name[id]
			}
			slices.Sort(out)
			return out
		}

		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`, []string{"a"}},
			{`kind = DISTRIBUTOR`, []string{"a", "b", "c"}},
			{`kind = "CUSTOMER_KIND_DISTRIBUTOR"`, []string{"a", "b", "c"}},
			{`kind = "distributor" OR kind = "PARTNER"`, []string{"a", "b", "c", "e"}},
			{`kind != "DISTRIBUTOR"`, []string{"d", "e"}},
			{`type = "PERSON"`, []string{"d"}},
			{`lifecycle_stage = "ACTIVE"`, []string{"e"}},
			{`tags:"vip"`, []string{"a", "b", "d"}},
			{`tags:vip tags:east`, []string{"b"}},
			{`NOT tags:"vip"`, []string{"c", "e"}},
			{`-tags:vip`, []string{"c", "e"}},
			{`tags:*`, []string{"a", "b", "d"}},
			{`attributes.city = "Hangzhou"`, []string{"a", "c", "d"}},
			{`attributes.city != "Hangzhou"`, []string{"b"}},
			{`attributes.spend > 100`, []string{"d"}},
			{`attributes.spend <= 1200`, []string{"d", "e"}},
			{`attributes.spend:*`, []string{"d", "e"}},
			{`NOT attributes.city = "Hangzhou"`, []string{"b", "e"}},
			{`attributes.city = ""`, nil},
			{`attributes.spend = 99.5`, []string{"e"}},
			{`attributes.spend != 1200`, []string{"e"}},
			// A phone is compared in E.164, however the filter writes it.
			{`phone = "+8613800138000"`, []string{"d"}},
			{`phone = "13800138000"`, []string{"d"}},
			{`phone = "138 0013 8000"`, []string{"d"}},
			{`phone = "+86 138-0013-8000"`, []string{"d"}},
			{`phone = "+14155552671"`, []string{"d"}},
			{`phone:*`, []string{"d"}},
			{`email = "XiaoMing@Example.CN"`, []string{"d"}},
			{`email:"acme"`, []string{"e"}},
			{`owner_id = "am-li"`, []string{"a"}},
			{`owner_id = "` + testActor + `"`, []string{"b", "c", "d", "e"}},
			{`team_id = "team-east"`, []string{"c"}},
			{`external_id = "sf-001"`, []string{"e"}},
			{`locale = "en-US"`, []string{"e"}},
			{`display_name = "王小明"`, []string{"d"}},
			{`possible_duplicate = false`, []string{"a", "b", "c", "d", "e"}},
			{`create_time >= "` + before.Add(-time.Second).UTC().Format(time.RFC3339) + `"`, []string{"a", "b", "c", "d", "e"}},
			{`create_time < "` + before.Add(-time.Hour).UTC().Format(time.RFC3339) + `"`, nil},
			{`(kind = "PARTNER" OR tags:"east") AND attributes.spend:*`, []string{"e"}},
		} {
			if diff := cmp.Diff(tc.want, letters(h.listIDs(t, &customerv1.ListCustomersRequest{Filter: tc.filter})), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("filter %s (-want +got):\n%s", tc.filter, diff)
			}
		}

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"小明", []string{"d"}},
			{"王", []string{"d"}},
			{"王小明", []string{"d"}},
			{"杭州", []string{"a", "c"}},
			{"经销", []string{"a", "b"}},
			{"13800138000", []string{"d"}},
			{"138-0013-8000", []string{"d"}},
			{"+8613800138000", []string{"d"}},
			{"4155552671", []string{"d"}},
			{"acme.com", []string{"e"}},
			{"ACME trading", []string{"e"}},
			{"ａｃｍｅ", []string{"e"}},
			{"xiaoming@example", []string{"d"}},
			{"100%", nil},
			{"王_明", nil},
			{"nobody", nil},
		} {
			if diff := cmp.Diff(tc.want, letters(h.listIDs(t, &customerv1.ListCustomersRequest{Query: tc.query})), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("query %q (-want +got):\n%s", tc.query, diff)
			}
		}
		// Query and filter together.
		if got := letters(h.listIDs(t, &customerv1.ListCustomersRequest{Query: "杭州", Filter: `tags:"vip"`})); !slices.Equal(got, []string{"a"}) {
			t.Errorf("query 杭州 with tags:vip = %v, want [a]", got)
		}

		// Soft-deleted customers only with show_deleted.
		if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: b.GetId()}); err != nil {
			t.Fatal(err)
		}
		if got := letters(h.listIDs(t, &customerv1.ListCustomersRequest{Filter: `tags:"vip"`})); !slices.Equal(got, []string{"a", "d"}) {
			t.Errorf("vip after deleting b = %v", got)
		}
		if got := letters(h.listIDs(t, &customerv1.ListCustomersRequest{Filter: `tags:"vip"`, ShowDeleted: true})); !slices.Equal(got, []string{"a", "b", "d"}) {
			t.Errorf("vip with show_deleted = %v", got)
		}
		if got := letters(h.listIDs(t, &customerv1.ListCustomersRequest{Query: "上海"})); len(got) != 0 {
			t.Errorf("search finds a deleted customer: %v", got)
		}

		// An empty phone matches the customers without one (AIP-160: an
		// unset field equals its zero value).
		resp, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{Filter: `phone = ""`})
		if err != nil || len(resp.GetCustomers()) == 0 {
			t.Errorf(`filter phone = "": %d customers, %v; want those without a phone`, len(resp.GetCustomers()), err)
		}
		for _, c := range resp.GetCustomers() {
			if c.GetPhone() != "" || len(c.GetOtherPhones()) > 0 {
				t.Errorf(`filter phone = "" returned %s with phone %q %v`, c.GetDisplayName(), c.GetPhone(), c.GetOtherPhones())
			}
		}

		for _, filter := range []string{
			`colour = "red"`,
			`kind = "WHOLESALER"`,
			`attributes.shoe_size = 42`,
			`attributes.spend > "a lot"`,
			`tags:"vip" AND`,
			`kind = ("DISTRIBUTOR" OR "PARTNER")`,
			`create_time > "yesterday"`,
			`王小明`,
		} {
			_, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{Filter: filter})
			wantViolation(t, err, "filter")
		}
	})
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
