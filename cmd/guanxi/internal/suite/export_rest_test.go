package suite_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestCustomerExportThroughRESTIsNDJSON: GET /v1/customers:export answers
// NDJSON, one customer per line in the API's JSON form (not grpc-gateway's
// {"result": batch} envelope), honouring the filter; a bad filter is a 400
// before any line. The listing says how many match (total_size).
func TestCustomerExportThroughRESTIsNDJSON(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	var vips []string
	for i := range 5 {
		tags := `[]`
		if i%2 == 0 {
			tags = `["vip"]`
		}
		id := api.mustDo("POST", "/v1/customers", fmt.Sprintf(`{"displayName":"Export %d","tags":%s}`, i, tags))["id"].(string)
		if i%2 == 0 {
			vips = append(vips, id)
		}
	}

	get := func(query string) (*http.Response, []map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.HTTP+"/v1/customers:export"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+api.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var lines []map[string]any
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %d is not JSON: %q", len(lines)+1, sc.Text())
			}
			lines = append(lines, m)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("reading the export: %v", err)
		}
		return resp, lines
	}

	resp, lines := get("")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("export: status %d, Content-Type %q, want 200 application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(lines) != 5 {
		t.Fatalf("export gave %d lines, want 5 customers: %v", len(lines), lines)
	}
	for i, l := range lines {
		if _, wrapped := l["result"]; wrapped || l["id"] == nil || !strings.HasPrefix(fmt.Sprint(l["displayName"]), "Export ") {
			t.Errorf("line %d = %v, want one customer", i+1, l)
		}
	}

	_, lines = get("?filter=" + url.QueryEscape(`tags:"vip"`))
	var got []string
	for _, l := range lines {
		got = append(got, fmt.Sprint(l["id"]))
	}
	slices.Sort(got)
	slices.Sort(vips)
	if !slices.Equal(got, vips) {
		t.Errorf("filtered export = %v, want the VIPs %v", got, vips)
	}

	resp, lines = get("?filter=" + url.QueryEscape(`colour = "red"`))
	if resp.StatusCode != http.StatusBadRequest || len(lines) != 1 || lines[0]["message"] == nil {
		t.Errorf("bad filter: status %d, body %v, want 400 with a message", resp.StatusCode, lines)
	}

	page := api.mustDo("GET", "/v1/customers?pageSize=2&filter="+url.QueryEscape(`tags:"vip"`), "")
	if page["totalSize"] != 3.0 || page["totalSizeIsLowerBound"] != false {
		t.Errorf("list page: totalSize %v (lower bound %v), want 3 (false)", page["totalSize"], page["totalSizeIsLowerBound"])
	}
}

// TestAllowDuplicateIsAQueryParameter: as the README says, a duplicate
// contact is created with ?allowDuplicate=true; in the body (which is the
// customer itself) the field is unknown and refused.
func TestAllowDuplicateIsAQueryParameter(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	api.mustDo("POST", "/v1/customers", `{"displayName":"王小明","phone":"138 0013 8000"}`)
	if code, _ := api.do("POST", "/v1/customers", `{"displayName":"王小明 2","phone":"138 0013 8000"}`); code != http.StatusConflict {
		t.Errorf("duplicate phone: status %d, want 409", code)
	}
	if code, _ := api.do("POST", "/v1/customers", `{"displayName":"王小明 2","phone":"138 0013 8000","allowDuplicate":true}`); code != http.StatusBadRequest {
		t.Errorf("allowDuplicate in the body: status %d, want 400 (unknown field)", code)
	}
	c := api.mustDo("POST", "/v1/customers?allowDuplicate=true", `{"displayName":"王小明 2","phone":"138 0013 8000"}`)
	if c["possibleDuplicate"] != true {
		t.Errorf("created with ?allowDuplicate=true: %v, want possibleDuplicate", c)
	}
}
