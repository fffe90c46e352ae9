package customer_test

import (
	"fmt"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// TestListCustomersTotalSize: every page tells how many customers the
// filter, query and caller's scope select (AIP-158), exactly up to the
// count limit and as a flagged lower bound beyond it.
func TestListCustomersTotalSize(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			const limit = 4
			h := startOn(t, d.URL, func(c *customer.Config) { c.ListCountLimit = limit })
			for i := range 3 {
				h.create(t, &customerv1.Customer{DisplayName: fmt.Sprintf("North %d", i), Tags: []string{"vip"}, TeamId: "north"})
			}
			for i := range 3 {
				h.create(t, &customerv1.Customer{DisplayName: fmt.Sprintf("South %d", i), TeamId: "south"})
			}
			deleted := h.create(t, &customerv1.Customer{DisplayName: "Gone", TeamId: "north"})
			if _, err := h.client.DeleteCustomer(as(t, testActor), &customerv1.DeleteCustomerRequest{Id: deleted.GetId()}); err != nil {
				t.Fatal(err)
			}

			type want struct {
				total      int32
				lowerBound bool
			}
			check := func(what string, c customerv1.CustomerServiceClient, req *customerv1.ListCustomersRequest, w want) {
				t.Helper()
				var token string
				for page := 1; page < 10; page++ {
					req.PageToken = token
					resp, err := c.ListCustomers(callCtx(t), req)
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					if got := (want{resp.GetTotalSize(), resp.GetTotalSizeIsLowerBound()}); got != w {
						t.Errorf("%s, page %d: total_size %d (lower bound %t), want %d (%t)", what, page, got.total, got.lowerBound, w.total, w.lowerBound)
					}
					if token = resp.GetNextPageToken(); token == "" {
						return
					}
				}
				t.Fatalf("%s: paging does not end", what)
			}
			check("a filter, pages of 2", h.client, &customerv1.ListCustomersRequest{PageSize: 2, Filter: `tags:"vip"`}, want{3, false})
			check("a query", h.client, &customerv1.ListCustomersRequest{PageSize: 1, Query: "South"}, want{3, false})
			check("one page", h.client, &customerv1.ListCustomersRequest{}, want{6, false})
			check("deleted ones too", h.client, &customerv1.ListCustomersRequest{ShowDeleted: true}, want{7, false})
			// Beyond the limit the count stops and says so; the last page
			// still knows its exact total.
			resp, err := h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetTotalSize() != limit || !resp.GetTotalSizeIsLowerBound() {
				t.Errorf("first page of 6 with a count limit of %d: total_size %d (lower bound %t), want %d (true)",
					limit, resp.GetTotalSize(), resp.GetTotalSizeIsLowerBound(), limit)
			}
			agent := h.clientAs(t, auth.Identity{Subject: "agent-li", Roles: []auth.Role{auth.Agent}, Teams: []string{"north"}})
			check("an agent's team only", agent, &customerv1.ListCustomersRequest{PageSize: 1}, want{3, false})
			check("a query past the last page", h.client, &customerv1.ListCustomersRequest{PageSize: 2, Query: "nobody"}, want{0, false})
		})
	}
}
