package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestLoyaltyPathsThroughREST walks the loyalty service's main paths as a
// REST client sees them: a program with rules and tiers, enrollment with a
// welcome bonus, a purchase recorded through the interaction service
// earning by the program's rules in real time, the ledger, a manual
// adjustment, engagement points, a reward redeemed and cancelled, and bad
// input answered with 400.
func TestLoyaltyPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	prog := api.mustDo("POST", "/v1/programs", `{"name":"金卡计划","timeZone":"Asia/Shanghai","welcomePoints":"50",`+
		`"baseRates":[{"currencyCode":"CNY","pointsPerUnit":"2"}],"currencyCode":"CNY",`+
		`"earnRules":[{"id":"tea-3x","category":"tea","multiplierPercent":"300"}],`+
		`"engagementRules":[{"kind":"check_in","points":"5"}],`+
		`"tiers":[{"code":"normal","name":"普通"},{"code":"gold","name":"金卡","qualifyPoints":"500","multiplierPercent":"150"}],`+
		`"tierWindowMonths":12,"expiryKind":"EXPIRY_KIND_NEVER"}`)
	progID, _ := prog["id"].(string)
	if progID == "" || prog["tiers"].([]any)[1].(map[string]any)["name"] != "金卡" {
		t.Fatalf("created program = %v", prog)
	}
	if code, out := api.do("POST", "/v1/programs", `{"name":"x","tiers":[]}`); code != http.StatusBadRequest {
		t.Errorf("program without tiers: %d %v, want 400", code, out)
	}
	patched := api.mustDo("PATCH", "/v1/programs/"+progID+"?updateMask=autoEnroll", `{"autoEnroll":true}`)
	if patched["autoEnroll"] != true || patched["name"] != "金卡计划" {
		t.Errorf("patched program = %v", patched)
	}

	cust := api.mustDo("POST", "/v1/customers", `{"displayName":"李雷","email":"lilei@example.com"}`)
	id := cust["id"].(string)
	acct := api.mustDo("POST", "/v1/programs/"+progID+"/members", `{"customerId":"`+id+`"}`)
	if acct["pointsBalance"] != "50" || acct["memberNumber"] == nil || acct["tierCode"] != "normal" {
		t.Fatalf("enrolled account = %v", acct)
	}

	// 88.00 CNY of tea: 88 * 2 * 3 = 528 points, visible at once, and gold.
	api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",`+
		`"purchase":{"orderId":"POS-9","total":{"currencyCode":"CNY","amountMinor":"8800"},`+
		`"lines":[{"sku":"TEA-2","productName":"碧螺春","category":"tea","quantity":"1","unitPrice":{"currencyCode":"CNY","amountMinor":"8800"}}]}}`)
	var account map[string]any
	testinfra.Eventually(t, 5*time.Second, "purchase points", func() bool {
		_, account = api.do("GET", "/v1/customers/"+id+"/loyaltyAccount?programId="+progID, "")
		return account["pointsBalance"] == "578"
	})
	if account["tierCode"] != "gold" || account["tierName"] != "金卡" || account["lifetimePoints"] != "578" || account["windowPoints"] != "528" {
		t.Errorf("account after the purchase = %v", account)
	}
	// The default program credited it too, by its own rules.
	testinfra.Eventually(t, 5*time.Second, "default program points", func() bool {
		_, def := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", "")
		return def["pointsBalance"] == "88"
	})

	adj := api.mustDo("POST", "/v1/customers/"+id+"/loyaltyAccount:adjustPoints",
		`{"programId":"`+progID+`","points":"-8","reason":"价格调整","requestId":"adj-1"}`)
	if adj["actor"] != testActor || adj["kind"] != "LEDGER_ENTRY_KIND_ADJUST" || adj["points"] != "-8" {
		t.Errorf("adjustment = %v", adj)
	}
	eng := api.mustDo("POST", "/v1/customers/"+id+"/loyaltyAccount:recordEngagement", `{"kind":"check_in","sourceId":"store-1/2025-03-04"}`)
	if es, _ := eng["entries"].([]any); len(es) != 1 {
		t.Errorf("check-in entries = %v", eng)
	}

	reward := api.mustDo("POST", "/v1/rewards", `{"programId":"`+progID+`","name":"茶具","pointsCost":"300","stock":"1","minTierCode":"gold"}`)
	rewardID := reward["id"].(string)
	red := api.mustDo("POST", "/v1/rewards/"+rewardID+":redeem", `{"customerId":"`+id+`"}`)
	if red["state"] != "REDEMPTION_STATE_ACTIVE" || red["points"] != "300" {
		t.Fatalf("redemption = %v", red)
	}
	if code, out := api.do("POST", "/v1/rewards/"+rewardID+":redeem", `{"customerId":"`+id+`"}`); code != http.StatusBadRequest {
		t.Errorf("redeeming an empty stock: %d %v, want 400 (failed precondition)", code, out)
	}
	if got := api.mustDo("GET", "/v1/customers/"+id+"/loyaltyAccount?programId="+progID, "")["pointsBalance"]; got != "275" {
		t.Errorf("balance after redeeming = %v, want 578-8+5-300 = 275", got)
	}
	cancelled := api.mustDo("POST", "/v1/redemptions/"+red["id"].(string)+":cancel", `{}`)
	if cancelled["state"] != "REDEMPTION_STATE_CANCELLED" {
		t.Errorf("cancelled = %v", cancelled)
	}
	if got := api.mustDo("GET", "/v1/rewards/"+rewardID, "")["stock"]; got != "1" {
		t.Errorf("stock after cancel = %v, want 1", got)
	}

	ledger := api.mustDo("GET", "/v1/customers/"+id+"/loyaltyAccount/ledgerEntries?programId="+progID+"&pageSize=2", "")
	entries, _ := ledger["entries"].([]any)
	if len(entries) != 2 || ledger["nextPageToken"] == "" || entries[0].(map[string]any)["kind"] != "LEDGER_ENTRY_KIND_REVERSE" {
		t.Errorf("first ledger page = %v", ledger)
	}
	rest := api.mustDo("GET", "/v1/customers/"+id+"/loyaltyAccount/ledgerEntries?programId="+progID+"&pageSize=10&pageToken="+ledger["nextPageToken"].(string), "")
	// The refund and the redemption first; then check-in, adjustment,
	// purchase and welcome bonus.
	if es, _ := rest["entries"].([]any); len(es) != 4 || rest["nextPageToken"] != "" ||
		es[3].(map[string]any)["cause"] != "welcome:"+id {
		t.Errorf("second ledger page = %v, want the other 4 entries ending with the welcome bonus", rest)
	}

	for _, bad := range []struct{ method, path, body string }{
		{"GET", "/v1/customers/not-a-uuid/loyaltyAccount", ""},
		{"POST", "/v1/customers/" + id + "/loyaltyAccount:adjustPoints", `{"points":"0","reason":"x","requestId":"r"}`},
		{"POST", "/v1/rewards", `{"programId":"` + progID + `","name":"","pointsCost":"1"}`},
		{"POST", "/v1/customers/" + id + "/loyaltyAccount:recordEngagement", `{"kind":"like","sourceId":"x"}`},
	} {
		if code, out := api.do(bad.method, bad.path, bad.body); code != http.StatusBadRequest {
			t.Errorf("%s %s: %d %v, want 400", bad.method, bad.path, code, out)
		}
	}
	if code, _ := api.do("GET", "/v1/programs/"+id, ""); code != http.StatusNotFound {
		t.Errorf("unknown program: %d, want 404", code)
	}
}
