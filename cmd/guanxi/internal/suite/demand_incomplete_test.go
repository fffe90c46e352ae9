package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestDemandSeriesMarksTheRunningMonth: the current month's demand is
// partial, so GET /v1/demandSeries flags it incomplete instead of showing
// it as a low month among complete ones.
func TestDemandSeriesMarksTheRunningMonth(t *testing.T) {
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
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"Tea lover"}`)["id"].(string)
	api.mustDo("POST", "/v1/interactions", restLinePurchase(id, "tea", 9, 1000, thisMonth.AddDate(0, -2, 5)))
	api.mustDo("POST", "/v1/interactions", restLinePurchase(id, "tea", 8, 1000, thisMonth.AddDate(0, -1, 5)))
	api.mustDo("POST", "/v1/interactions", restLinePurchase(id, "tea", 1, 1000, now))

	var points []any
	testinfra.Eventually(t, 20*time.Second, "three months of tea demand", func() bool {
		code, v := api.do("GET", "/v1/demandSeries?category=tea", "")
		if code != http.StatusOK {
			return false
		}
		series, _ := v["series"].([]any)
		if len(series) != 1 {
			return false
		}
		points, _ = series[0].(map[string]any)["points"].([]any)
		return len(points) == 3 && points[2].(map[string]any)["quantity"] == 1.0
	})
	for i, p := range points {
		p := p.(map[string]any)
		month := thisMonth.AddDate(0, i-2, 0).Format("2006-01")
		running := i == 2
		if p["month"] != month || p["incomplete"] != running {
			t.Errorf("point %d = %v, want month %s with incomplete %t", i, p, month, running)
		}
	}
}
