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

// restLinePurchase is a purchase of qty units of a category at unit
// minor units each.
func restLinePurchase(customerID, category string, qty, unit int64, at time.Time) string {
	return fmt.Sprintf(`{"customerId":%q,"kind":"INTERACTION_KIND_PURCHASE","occurTime":%q,`+
		`"purchase":{"total":{"currencyCode":"CNY","amountMinor":"%d"},"lines":[{"sku":"%s-1","category":%q,"quantity":"%d","unitPrice":{"currencyCode":"CNY","amountMinor":"%d"}}]}}`,
		customerID, at.UTC().Format(time.RFC3339), qty*unit, category, category, qty, unit)
}

// TestSegmentationPathsThroughREST walks the segmentation service's main
// paths as a REST client sees them: customer value with RFM and
// predictions, the Pareto summary, recompute and refit, segments and
// their members, demand series and forecast, and bad requests.
func TestSegmentationPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	// Months are segmentation's time zone's (Asia/Shanghai by default),
	// eight hours ahead of UTC at the turn of a month.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(shanghai)
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 6 {
		tags := `[]`
		if i%2 == 0 {
			tags = `["vip"]`
		}
		id := api.mustDo("POST", "/v1/customers", fmt.Sprintf(`{"displayName":"客户 %d","tags":%s}`, i, tags))["id"].(string)
		ids = append(ids, id)
		// Customer i buys tea in each of the last i+1 months, more the
		// higher i.
		for m := range i + 1 {
			api.mustDo("POST", "/v1/interactions", restLinePurchase(id, "tea", int64(i+1), 5000, thisMonth.AddDate(0, -m-1, 10)))
		}
	}
	last := ids[len(ids)-1]
	testinfra.Eventually(t, 20*time.Second, "the purchases in segmentation", func() bool {
		code, v := api.do("GET", "/v1/customers/"+last+"/value", "")
		return code == http.StatusOK && v["purchaseCount"] == "6"
	})

	rc := api.awaitOperation(api.mustDo("POST", "/v1/customerValues:recompute", `{}`))
	if rc["customerCount"] != "6" {
		t.Errorf("recompute = %v", rc)
	}
	fit := api.awaitOperation(api.mustDo("POST", "/v1/modelFit:refit", `{}`))
	if fit["timeUnit"] != "week" || fit["customerCount"] != "6" {
		t.Errorf("refit = %v", fit)
	}
	if got := api.mustDo("GET", "/v1/modelFit", ""); got["logLikelihood"] != fit["logLikelihood"] {
		t.Errorf("GET /v1/modelFit = %v, refit %v", got, fit)
	}
	v := api.mustDo("GET", "/v1/customers/"+last+"/value", "")
	rfm, _ := v["rfm"].(map[string]any)
	pred, _ := v["prediction"].(map[string]any)
	cats, _ := v["categorySpends"].([]any)
	if v["abcClass"] != "ABC_CLASS_A" || rfm["segment"] == nil || pred["pAlive"] == nil || pred["clv"] == nil || len(cats) != 1 {
		t.Errorf("value of the best customer = %v", v)
	}
	if c := cats[0].(map[string]any); c["category"] != "tea" || c["quantity"] != "36" {
		t.Errorf("category spend = %v", c)
	}

	sum := api.mustDo("GET", "/v1/paretoSummary", "")
	classes, _ := sum["classes"].([]any)
	if sum["customerCount"] != "6" || len(classes) != 3 || sum["classACutoff"] != 0.7 {
		t.Errorf("pareto summary = %v", sum)
	}
	if custom := api.mustDo("GET", "/v1/paretoSummary?classACutoff=0.5&classBCutoff=0.8", ""); custom["classACutoff"] != 0.5 {
		t.Errorf("custom cut-offs = %v", custom)
	}

	seg := api.mustDo("POST", "/v1/segments", `{"name":"vip_buyers","description":"VIPs who bought","filter":"tags:\"vip\" AND purchase_count >= 1"}`)
	segID := seg["id"].(string)
	if seg["memberCount"] != "3" {
		t.Errorf("created segment = %v", seg)
	}
	if got := api.mustDo("GET", "/v1/segments/"+segID, ""); got["name"] != "vip_buyers" {
		t.Errorf("GET segment = %v", got)
	}
	if list, _ := api.mustDo("GET", "/v1/segments", "")["segments"].([]any); len(list) != 1 {
		t.Errorf("segments = %v", list)
	}
	members := api.mustDo("GET", "/v1/segments/"+segID+"/members?pageSize=2", "")
	page, _ := members["customerIds"].([]any)
	if len(page) != 2 || members["nextPageToken"] == "" || members["totalSize"] != "3" {
		t.Errorf("first page = %v", members)
	}
	rest := api.mustDo("GET", "/v1/segments/"+segID+"/members?pageSize=2&pageToken="+url.QueryEscape(members["nextPageToken"].(string)), "")
	if more, _ := rest["customerIds"].([]any); len(more) != 1 {
		t.Errorf("second page = %v", rest)
	}
	if m := api.mustDo("GET", "/v1/segments/"+segID+"/members/"+ids[0], ""); m["member"] != true {
		t.Errorf("customer 0 membership = %v", m)
	}
	if m := api.mustDo("GET", "/v1/segments/"+segID+"/members/"+ids[1], ""); m["member"] == true {
		t.Errorf("customer 1 membership = %v", m)
	}
	upd := api.mustDo("PATCH", "/v1/segments/"+segID+"?updateMask=filter", `{"filter":"tags:\"vip\" AND purchase_count >= 3"}`)
	if upd["memberCount"] != "2" || upd["name"] != "vip_buyers" {
		t.Errorf("updated segment = %v", upd)
	}

	series, _ := api.mustDo("GET", "/v1/demandSeries?category=tea", "")["series"].([]any)
	if len(series) != 1 {
		t.Fatalf("demand series = %v", series)
	}
	points, _ := series[0].(map[string]any)["points"].([]any)
	// Six months back to this one; a month ago all six customers bought.
	if len(points) != 7 || points[5].(map[string]any)["quantity"] != float64(1+2+3+4+5+6) {
		t.Errorf("tea points = %v", points)
	}
	fc := api.mustDo("GET", "/v1/demandSeries/tea:forecast?horizonMonths=2", "")
	if fp, _ := fc["forecast"].(map[string]any)["points"].([]any); len(fp) != 2 || fc["method"] != "holt_linear" {
		t.Errorf("forecast = %v", fc)
	}

	for _, tc := range []struct {
		name, method, path, body string
		want                     int
		mention                  string
	}{
		{"unknown filter field", "POST", "/v1/segments", `{"name":"x","filter":"colour = \"red\""}`, 400, "segment.filter"},
		{"segment without name", "POST", "/v1/segments", `{"filter":"p_alive < 0.5"}`, 400, "segment.name"},
		{"name taken", "POST", "/v1/segments", `{"name":"vip_buyers","filter":"p_alive < 0.5"}`, 409, "vip_buyers"},
		{"malformed segment id", "GET", "/v1/segments/nope", "", 400, "id"},
		{"unknown segment", "GET", "/v1/segments/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f/members", "", 404, ""},
		{"cut-offs out of order", "GET", "/v1/paretoSummary?classACutoff=0.9&classBCutoff=0.5", "", 400, "class_a_cutoff"},
		{"horizon too long", "GET", "/v1/demandSeries/tea:forecast?horizonMonths=99", "", 400, "horizon_months"},
		{"unknown category", "GET", "/v1/demandSeries/coffee:forecast", "", 404, "coffee"},
		{"future calibration end", "POST", "/v1/modelFit:refit", `{"calibrationEndTime":"` + now.Add(72*time.Hour).Format(time.RFC3339) + `"}`, 400, "calibration_end_time"},
	} {
		code, raw := api.raw(tc.method, tc.path, tc.body)
		if code != tc.want || !strings.Contains(string(raw), tc.mention) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.name, code, raw, tc.want, tc.mention)
		}
	}

	if code, _ := api.do("DELETE", "/v1/segments/"+segID, ""); code != http.StatusOK {
		t.Errorf("DELETE segment: %d", code)
	}
	if code, _ := api.do("GET", "/v1/segments/"+segID, ""); code != http.StatusNotFound {
		t.Errorf("deleted segment: %d", code)
	}
}
