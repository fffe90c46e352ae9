package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCustomerPathsThroughREST walks the customer service's main paths as
// a REST client sees them: attributes, duplicates, filters and search,
// relationships, consent, ownership transfer with its history, the audit
// log, and soft delete.
func TestCustomerPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	api.mustDo("POST", "/v1/attributeDefinitions", `{"name":"city","type":"ATTRIBUTE_TYPE_STRING","displayName":"城市"}`)
	org := api.mustDo("POST", "/v1/customers", `{"displayName":"杭州华联","type":"CUSTOMER_TYPE_ORGANIZATION",`+
		`"kind":"CUSTOMER_KIND_DISTRIBUTOR","tags":["vip"],"attributes":{"city":{"stringValue":"Hangzhou"}},"phone":"0571-8888 6666"}`)
	orgID := org["id"].(string)
	person := api.mustDo("POST", "/v1/customers", `{"displayName":"欧阳娜娜","email":"nana@example.com","teamId":"east"}`)
	personID := person["id"].(string)
	if person["ownerId"] != testActor {
		t.Errorf("owner = %v, want the caller %s", person["ownerId"], testActor)
	}

	// A second customer with the same phone is a conflict naming the first.
	code, dup := api.do("POST", "/v1/customers", `{"displayName":"华联","phone":"+86 571 8888 6666"}`)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(dup["message"]), orgID) {
		t.Errorf("duplicate phone: %d %v", code, dup)
	}
	if code, _ := api.do("POST", "/v1/customers", `{"displayName":"x","attributes":{"shoe":{"numberValue":1}}}`); code != http.StatusBadRequest {
		t.Errorf("undeclared attribute: status %d, want 400", code)
	}

	filter := url.QueryEscape(`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`)
	if cs, _ := api.mustDo("GET", "/v1/customers?filter="+filter, "")["customers"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != orgID {
		t.Errorf("filtered list = %v", cs)
	}
	if cs, _ := api.mustDo("GET", "/v1/customers?query="+url.QueryEscape("阳娜"), "")["customers"].([]any); len(cs) != 1 {
		t.Errorf("search by part of a Chinese name found %d", len(cs))
	}
	if code, _ := api.do("GET", "/v1/customers?filter="+url.QueryEscape(`colour = "red"`), ""); code != http.StatusBadRequest {
		t.Errorf("unknown filter field: status %d, want 400", code)
	}

	api.mustDo("POST", "/v1/relationships", `{"fromCustomerId":"`+personID+`","toCustomerId":"`+orgID+`","type":"RELATIONSHIP_TYPE_WORKS_AT","role":"采购经理"}`)
	if rs, _ := api.mustDo("GET", "/v1/customers/"+orgID+"/relationships", "")["relationships"].([]any); len(rs) != 1 {
		t.Errorf("the organization lists %d relationships, want the person working there", len(rs))
	}

	withConsent := api.mustDo("POST", "/v1/customers/"+personID+"/consents", `{"channel":"CONSENT_CHANNEL_SMS","status":"CONSENT_STATUS_OPTED_OUT","source":"call-center"}`)
	if cs, _ := withConsent["consents"].([]any); len(cs) != 1 || cs[0].(map[string]any)["status"] != "CONSENT_STATUS_OPTED_OUT" {
		t.Errorf("consents = %v", withConsent["consents"])
	}

	moved := api.mustDo("POST", "/v1/customers:transferOwnership", `{"fromOwnerId":"`+testActor+`","toOwnerId":"am-wang","reason":"territory change"}`)
	if moved["transferredCount"] != "2" {
		t.Errorf("transferred %v, want 2", moved["transferredCount"])
	}
	hist, _ := api.mustDo("GET", "/v1/customers/"+personID+"/ownershipChanges", "")["changes"].([]any)
	if len(hist) != 2 || hist[0].(map[string]any)["fromOwnerId"] != testActor || hist[0].(map[string]any)["toOwnerId"] != "am-wang" {
		t.Errorf("ownership history = %v", hist)
	}

	entries, _ := api.mustDo("GET", "/v1/auditEntries?customerId="+personID, "")["entries"].([]any)
	if len(entries) < 3 || entries[0].(map[string]any)["actor"] != testActor {
		t.Errorf("audit entries about the person = %v", entries)
	}

	deleted := api.mustDo("DELETE", "/v1/customers/"+personID, "")
	if deleted["state"] != "CUSTOMER_STATE_DELETED" {
		t.Errorf("deleted customer state = %v", deleted["state"])
	}
	if cs, _ := api.mustDo("GET", "/v1/customers?query="+url.QueryEscape("娜娜"), "")["customers"].([]any); len(cs) != 0 {
		t.Errorf("a deleted customer is still listed: %v", cs)
	}
	api.mustDo("POST", "/v1/customers/"+personID+":undelete", `{}`)
}
