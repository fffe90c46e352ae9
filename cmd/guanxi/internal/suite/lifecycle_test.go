package suite_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// purchaseBody is a REST purchase of amount yuan by customer id.
func purchaseBody(id, order, amountMinor string) string {
	return `{"customerId":"` + id + `","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",` +
		`"purchase":{"orderId":"` + order + `","total":{"currencyCode":"CNY","amountMinor":"` + amountMinor + `"}}}`
}

// TestMergeRoutesPurchasesToSurvivor is issue 3's merge path: after two
// customers merge, one remains with the union of their contacts, the merged
// id resolves to it, and a purchase recorded against the merged id lands on
// the survivor's loyalty account.
func TestMergeRoutesPurchasesToSurvivor(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	survivor := api.mustDo("POST", "/v1/customers", `{"displayName":"王小明","phone":"13800138000"}`)["id"].(string)
	merged := api.mustDo("POST", "/v1/customers", `{"displayName":"王 小明","email":"xm@example.com"}`)["id"].(string)
	api.mustDo("POST", "/v1/interactions", purchaseBody(merged, "POS-M1", "5000"))
	testinfra.Eventually(t, 10*time.Second, "the merged customer's first purchase credited", func() bool {
		_, acct := api.do("GET", "/v1/customers/"+merged+"/loyaltyAccount", "")
		return acct["pointsBalance"] == "50"
	})

	out := api.mustDo("POST", "/v1/customers/"+survivor+":merge", `{"mergedCustomerId":"`+merged+`","reason":"same person"}`)
	if out["id"] != survivor || out["phone"] != "+8613800138000" {
		t.Fatalf("merge returned %v", out)
	}
	if out["email"] != "xm@example.com" {
		t.Errorf("survivor's email = %v, want the merged customer's, as it had none", out["email"])
	}
	if got := api.mustDo("GET", "/v1/customers/"+merged, "")["id"]; got != survivor {
		t.Errorf("GET of the merged id returned %v, want the survivor %s", got, survivor)
	}
	list := api.mustDo("GET", "/v1/customers?query=小明", "")
	if cs, _ := list["customers"].([]any); len(cs) != 1 {
		t.Errorf("a search after the merge lists %d customers, want 1", len(cs))
	}

	api.mustDo("POST", "/v1/interactions", purchaseBody(merged, "POS-M2", "12000"))
	testinfra.Eventually(t, 10*time.Second, "both purchases on the survivor's account", func() bool {
		_, acct := api.do("GET", "/v1/customers/"+survivor+"/loyaltyAccount", "")
		return acct["pointsBalance"] == "170"
	})
	testinfra.Eventually(t, 10*time.Second, "both purchases on the survivor's timeline", func() bool {
		_, tl := api.do("GET", "/v1/customers/"+survivor+"/interactions", "")
		items, _ := tl["interactions"].([]any)
		return len(items) == 2
	})
}

// TestErasedCustomerIsGoneEverywhere is issue 3's erasure check: after
// EraseCustomer no service returns the customer's name, email or phone
// through any of its read APIs.
func TestErasedCustomerIsGoneEverywhere(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	const name, email, phone = "欧阳娜娜", "nana.ouyang@example.com", "+8613912345678"
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"`+name+`","email":"`+email+`","phone":"`+phone+`",`+
		`"addresses":[{"city":"杭州市","lines":["西湖区文三路 1 号"]}]}`)["id"].(string)
	api.mustDo("POST", "/v1/interactions", purchaseBody(id, "POS-E1", "9900"))
	reads := []string{
		"/v1/customers/" + id,
		"/v1/customers?query=" + "娜娜",
		"/v1/customers?showDeleted=true",
		"/v1/customers/" + id + "/interactions",
		"/v1/customers/" + id + "/loyaltyAccount",
		"/v1/customers/" + id + "/value",
		"/v1/customers/" + id + "/messages",
		"/v1/customers/" + id + "/ownershipChanges",
		"/v1/customers/" + id + "/relationships",
		"/v1/auditEntries?customerId=" + id,
	}
	leaks := func() []string {
		var out []string
		for _, path := range reads {
			_, body := api.raw("GET", path, "")
			for _, secret := range []string{name, email, phone, "13912345678", "文三路"} {
				if strings.Contains(string(body), secret) {
					out = append(out, path+" returns "+secret)
				}
			}
		}
		return out
	}
	testinfra.Eventually(t, 10*time.Second, "the customer known to every service", func() bool {
		_, msgs := api.do("GET", "/v1/customers/"+id+"/messages", "")
		items, _ := msgs["messages"].([]any)
		return len(items) == 1 && len(leaks()) > 0
	})

	code, out := api.do("POST", "/v1/customers/"+id+":erase", `{"reason":"PIPL erasure request #42"}`)
	if code != http.StatusOK || out["state"] != "CUSTOMER_STATE_ERASED" {
		t.Fatalf("erase: %d %v", code, out)
	}
	var left []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("still returned after erasure: %v", left)
		}
	})
	testinfra.Eventually(t, 15*time.Second, "no service returns the erased customer's name, email or phone", func() bool {
		left = leaks()
		return len(left) == 0
	})
	if code, _ := api.do("PATCH", "/v1/customers/"+id, `{"displayName":"back"}`); code != http.StatusBadRequest && code != http.StatusPreconditionFailed {
		t.Errorf("updating an erased customer: status %d, want a client error", code)
	}
}
