package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestPageTokensBoundToTheirRequest: in every service, a next_page_token
// continues only the list it was issued for. Replayed with another filter,
// parent or flag, or on another list, it is refused as a bad page_token
// (400) instead of paging through a different result.
func TestPageTokensBoundToTheirRequest(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	// firstToken lists path with one item a page until a next page exists
	// (a list other services fill from events may not be there yet: a
	// loyalty account appears with its first purchase's points).
	firstToken := func(what, path string) string {
		t.Helper()
		var tok string
		testinfra.Eventually(t, 20*time.Second, what+" has a second page", func() bool {
			code, out := api.do("GET", path, "")
			tok, _ = out["nextPageToken"].(string)
			return code == http.StatusOK && tok != ""
		})
		return tok
	}
	refused := func(what, path, tok string) {
		t.Helper()
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		code, out := api.do("GET", path+sep+"pageToken="+url.QueryEscape(tok), "")
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), "page_token") {
			t.Errorf("%s: %d %v, want 400 naming page_token", what, code, out)
		}
	}

	a := api.mustDo("POST", "/v1/customers", `{"displayName":"翻页甲","email":"jia@example.com"}`)["id"].(string)
	b := api.mustDo("POST", "/v1/customers", `{"displayName":"翻页乙","email":"yi@example.com"}`)["id"].(string)

	// customer: the filter changed.
	tok := firstToken("customers", "/v1/customers?pageSize=1")
	refused("customers with a filter added", `/v1/customers?pageSize=1&filter=`+url.QueryEscape(`display_name = "翻页乙"`), tok)

	// access: show_revoked changed.
	api.mustDo("POST", "/v1/apiKeys", `{"name":"one","subject":"s1","roles":["agent"]}`)
	api.mustDo("POST", "/v1/apiKeys", `{"name":"two","subject":"s2","roles":["agent"]}`)
	tok = firstToken("api keys", "/v1/apiKeys?pageSize=1")
	refused("api keys with revoked ones shown", "/v1/apiKeys?pageSize=1&showRevoked=true", tok)

	// interaction and loyalty: another customer.
	api.mustDo("POST", "/v1/interactions", purchaseBody(a, "PAGE-1", "1000"))
	api.mustDo("POST", "/v1/interactions", purchaseBody(a, "PAGE-2", "2000"))
	tok = firstToken("interactions", "/v1/customers/"+a+"/interactions?pageSize=1")
	refused("interactions of another customer", "/v1/customers/"+b+"/interactions?pageSize=1", tok)
	tok = firstToken("ledger", "/v1/customers/"+a+"/loyaltyAccount/ledgerEntries?pageSize=1")
	refused("ledger of another customer", "/v1/customers/"+b+"/loyaltyAccount/ledgerEntries?pageSize=1", tok)

	// segmentation: a token of the segment list on a member list.
	seg := api.mustDo("POST", "/v1/segments", `{"name":"paging_one","filter":"purchase_count >= 0"}`)["id"].(string)
	api.mustDo("POST", "/v1/segments", `{"name":"paging_two","filter":"purchase_count >= 0"}`)
	tok = firstToken("segments", "/v1/segments?pageSize=1")
	refused("segment list token on members", "/v1/segments/"+seg+"/members?pageSize=1", tok)

	// notification: a token of the campaign list on the dead letters.
	api.mustDo("POST", "/v1/templates", `{"kind":"paging_sale","channel":"CHANNEL_EMAIL","locale":"zh-CN",`+
		`"subject":"特惠","body":"{{name}}，特惠！退订：{{unsubscribe_url}}"}`)
	for _, name := range []string{"一", "二"} {
		api.mustDo("POST", "/v1/campaigns", `{"name":"`+name+`","segmentId":"`+freshUUID(t)+`","templateKind":"paging_sale"}`)
	}
	tok = firstToken("campaigns", "/v1/campaigns?pageSize=1")
	refused("campaign list token on dead letters", "/v1/deadLetters?pageSize=1", tok)
}
