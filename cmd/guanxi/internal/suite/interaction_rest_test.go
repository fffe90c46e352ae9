package suite_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestInteractionPathsThroughREST walks the interaction service's main
// paths as a REST client sees them: interactions on several channels with
// their details, a purchase and its return, the filtered timeline, and
// call-center ingest matching callers by phone against the real customer
// service and creating prospects for unknown numbers.
func TestInteractionPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	cust := api.mustDo("POST", "/v1/customers", `{"displayName":"李雷","phone":"+8613900001111"}`)
	id := cust["id"].(string)
	complaint := api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_COMPLAINT",`+
		`"channel":"CHANNEL_WECHAT","direction":"DIRECTION_INBOUND","summary":"快递三天没到","details":{"openid":"o-123"},"occurTime":"2025-03-01T02:00:00Z"}`)
	if complaint["kind"] != "INTERACTION_KIND_COMPLAINT" || complaint["details"].(map[string]any)["openid"] != "o-123" {
		t.Errorf("complaint = %v", complaint)
	}
	purchase := api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_STORE",`+
		`"occurTime":"2025-03-02T02:00:00Z","purchase":{"orderId":"SO-9","total":{"currencyCode":"CNY","amountMinor":"30000"},`+
		`"lines":[{"sku":"KETTLE","category":"kitchen","quantity":"1","unitPrice":{"currencyCode":"CNY","amountMinor":"30000"}}]}}`)
	ret := api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_RETURN","channel":"CHANNEL_STORE",`+
		`"occurTime":"2025-03-03T02:00:00Z","return":{"purchaseInteractionId":"`+purchase["id"].(string)+`","orderId":"SO-9",`+
		`"refund":{"currencyCode":"CNY","amountMinor":"30000"},"reason":"漏水"}}`)
	if ret["return"].(map[string]any)["refund"].(map[string]any)["amountMinor"] != "30000" {
		t.Errorf("return = %v", ret)
	}
	if code, _ := api.do("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_RETURN"}`); code != http.StatusBadRequest {
		t.Errorf("return without its return: status %d, want 400", code)
	}

	timeline := func(filter string) []any {
		t.Helper()
		list, _ := api.mustDo("GET", "/v1/customers/"+id+"/interactions?filter="+url.QueryEscape(filter), "")["interactions"].([]any)
		return list
	}
	if all := timeline(""); len(all) != 3 || all[0].(map[string]any)["id"] != ret["id"] {
		t.Errorf("timeline = %v, want return, purchase, complaint", all)
	}
	if got := timeline("channel = STORE AND kind = PURCHASE"); len(got) != 1 || got[0].(map[string]any)["id"] != purchase["id"] {
		t.Errorf("store purchases = %v", got)
	}
	if got := timeline(`occur_time < "2025-03-02T00:00:00Z"`); len(got) != 1 || got[0].(map[string]any)["id"] != complaint["id"] {
		t.Errorf("before March 2 = %v", got)
	}
	if code, _ := api.do("GET", "/v1/customers/"+id+"/interactions?filter="+url.QueryEscape("channel = CARRIER_PIGEON"), ""); code != http.StatusBadRequest {
		t.Errorf("unknown channel in filter: status %d, want 400", code)
	}

	// Call-center ingest: the known number joins 李雷's timeline, the
	// unknown one becomes a prospect; a replay changes nothing.
	batch := `{"events":[` +
		`{"source":"hotline","externalId":"c-1","phone":"139 0000 1111","interaction":{"kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_CALL_CENTER","details":{"call_duration_s":"95"}}},` +
		`{"source":"hotline","externalId":"c-2","phone":"+8613700002222","callerName":"韩梅梅","interaction":{"kind":"INTERACTION_KIND_INQUIRY","channel":"CHANNEL_CALL_CENTER"}},` +
		`{"source":"hotline","externalId":"c-3","interaction":{"kind":"INTERACTION_KIND_CALL"}}]}`
	first := api.mustDo("POST", "/v1/interactions:batchIngest", batch)
	if first["createdCount"] != float64(2) || first["rejectedCount"] != float64(1) {
		t.Fatalf("first ingest = %v", first)
	}
	results := first["results"].([]any)
	known, prospect, rejected := results[0].(map[string]any), results[1].(map[string]any), results[2].(map[string]any)
	if known["customerId"] != id || known["outcome"] != "INGEST_OUTCOME_CREATED" {
		t.Errorf("known caller = %v, want recorded for %s", known, id)
	}
	if prospect["prospectCreated"] != true || prospect["customerId"] == "" {
		t.Errorf("unknown caller = %v, want a prospect", prospect)
	}
	if rejected["outcome"] != "INGEST_OUTCOME_REJECTED" || rejected["field"] != "phone" {
		t.Errorf("event without caller = %v", rejected)
	}
	p := api.mustDo("GET", "/v1/customers/"+prospect["customerId"].(string), "")
	if p["kind"] != "CUSTOMER_KIND_PROSPECT" || p["displayName"] != "韩梅梅" || p["phone"] != "+8613700002222" {
		t.Errorf("prospect = %v", p)
	}
	again := api.mustDo("POST", "/v1/interactions:batchIngest", batch)
	if again["duplicateCount"] != float64(2) || again["createdCount"] != nil && again["createdCount"] != float64(0) {
		t.Errorf("replay = %v, want 2 duplicates", again)
	}
	if again["results"].([]any)[1].(map[string]any)["interactionId"] != prospect["interactionId"] {
		t.Errorf("replay names another interaction")
	}
	if got := timeline("channel = CALL_CENTER"); len(got) != 1 || got[0].(map[string]any)["details"].(map[string]any)["call_duration_s"] != "95" {
		t.Errorf("call center entries of 李雷 = %v", got)
	}
}

// TestCasePathsThroughREST opens, works and resolves a case under an SLA
// policy through the REST edge.
func TestCasePathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"周杰","phone":"+8613900002222"}`)["id"].(string)
	hours := ""
	for d := 1; d <= 5; d++ {
		if d > 1 {
			hours += ","
		}
		hours += `{"weekday":` + string(rune('0'+d)) + `,"startTime":"09:00","endTime":"18:00"}`
	}
	api.mustDo("POST", "/v1/calendars", `{"id":"cn-support","hours":[`+hours+`],"holidays":["2025-10-01"]}`)
	if code, _ := api.do("POST", "/v1/calendars", `{"id":"Bad Id","hours":[]}`); code != http.StatusBadRequest {
		t.Errorf("bad calendar: status %d, want 400", code)
	}
	api.mustDo("POST", "/v1/teams", `{"id":"after-sales","managerId":"mgr-qian"}`)
	policy := api.mustDo("POST", "/v1/slaPolicies", `{"priority":"CASE_PRIORITY_URGENT","calendarId":"cn-support",`+
		`"firstResponseTarget":"3600s","resolutionTarget":"28800s"}`)
	if policy["firstResponseTarget"] != "3600s" {
		t.Errorf("policy = %v", policy)
	}
	if code, _ := api.do("POST", "/v1/slaPolicies", `{"priority":"CASE_PRIORITY_URGENT","calendarId":"cn-support","firstResponseTarget":"60s"}`); code != http.StatusConflict {
		t.Errorf("second policy for a priority: status %d, want 409", code)
	}

	c := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"电视黑屏","priority":"CASE_PRIORITY_URGENT",`+
		`"kind":"INTERACTION_KIND_REPAIR_REQUEST","teamId":"after-sales","channel":"CHANNEL_PHONE"}`)
	caseID := c["id"].(string)
	if c["status"] != "CASE_STATUS_NEW" || c["slaPolicyId"] != policy["id"] || c["firstResponseDueTime"] == nil {
		t.Fatalf("opened case = %v", c)
	}
	api.mustDo("POST", "/v1/cases/"+caseID+":assign", `{"assigneeId":"agent-sun"}`)
	api.mustDo("POST", "/v1/cases/"+caseID+"/comments", `{"authorId":"agent-sun","body":"明天上门","customerVisible":true}`)
	waiting := api.mustDo("POST", "/v1/cases/"+caseID+":setStatus", `{"status":"CASE_STATUS_WAITING_ON_CUSTOMER"}`)
	if waiting["slaPaused"] != true || waiting["firstResponseTime"] == nil {
		t.Errorf("waiting case = %v", waiting)
	}
	if code, _ := api.do("POST", "/v1/cases/"+caseID+":setStatus", `{"status":"CASE_STATUS_RESOLVED"}`); code != http.StatusBadRequest {
		t.Errorf("resolving through setStatus: status %d, want 400", code)
	}
	resolved := api.mustDo("POST", "/v1/cases/"+caseID+":resolve", `{"resolution":"更换主板"}`)
	if resolved["status"] != "CASE_STATUS_RESOLVED" || resolved["surveyId"] == nil {
		t.Errorf("resolved case = %v", resolved)
	}
	if code, _ := api.do("POST", "/v1/cases/"+caseID+":resolve", `{"resolution":"again"}`); code != http.StatusBadRequest && code != http.StatusConflict {
		t.Errorf("resolving twice: status %d, want a client error", code)
	}
	if got := api.mustDo("GET", "/v1/cases/"+caseID, ""); got["resolution"] != "更换主板" {
		t.Errorf("case = %v", got)
	}
	list, _ := api.mustDo("GET", "/v1/cases?filter="+url.QueryEscape(`team_id = "after-sales" AND status = RESOLVED`), "")["cases"].([]any)
	if len(list) != 1 {
		t.Errorf("resolved cases of after-sales = %v", list)
	}
	comments, _ := api.mustDo("GET", "/v1/cases/"+caseID+"/comments", "")["comments"].([]any)
	if len(comments) != 1 {
		t.Errorf("comments = %v", comments)
	}
	// The timeline holds the case's opening, the reply and the resolution.
	tl, _ := api.mustDo("GET", "/v1/customers/"+id+"/interactions?filter="+url.QueryEscape(`case_id = "`+caseID+`"`), "")["interactions"].([]any)
	if len(tl) != 3 {
		t.Errorf("case entries on the timeline = %v, want 3", tl)
	}
}

// TestSurveyAndFollowupPathsThroughREST answers the survey of a resolved
// case, reads the statistics, and schedules, lists and completes a
// follow-up through the REST edge.
func TestSurveyAndFollowupPathsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"吴敏","phone":"+8613900003333"}`)["id"].(string)
	api.mustDo("POST", "/v1/followupRules", `{"trigger":"FOLLOWUP_TRIGGER_CASE_RESOLVED","offset":"86400s","note":"结案回访"}`)
	c := api.mustDo("POST", "/v1/cases", `{"customerId":"`+id+`","subject":"发票错误","assigneeId":"agent-he","teamId":"billing"}`)
	resolved := api.mustDo("POST", "/v1/cases/"+c["id"].(string)+":resolve", `{"resolution":"已重开发票"}`)
	surveyID := resolved["surveyId"].(string)
	if code, _ := api.do("POST", "/v1/surveys/"+surveyID+":answer", `{"score":9}`); code != http.StatusBadRequest {
		t.Errorf("CSAT 9: status %d, want 400", code)
	}
	answered := api.mustDo("POST", "/v1/surveys/"+surveyID+":answer", `{"score":4,"comment":"还行"}`)
	if answered["answered"] != true || answered["score"] != float64(4) {
		t.Errorf("answered survey = %v", answered)
	}
	stats, _ := api.mustDo("GET", "/v1/surveyStats?kind=SURVEY_KIND_CSAT&groupBy=SURVEY_GROUP_BY_TEAM", "")["stats"].([]any)
	if len(stats) != 1 || stats[0].(map[string]any)["key"] != "billing" || stats[0].(map[string]any)["satisfiedPercent"] != float64(100) {
		t.Errorf("CSAT per team = %v", stats)
	}

	due, _ := api.mustDo("GET", "/v1/followups?filter="+url.QueryEscape(`agent_id = "agent-he"`), "")["followups"].([]any)
	if len(due) != 1 || due[0].(map[string]any)["reason"] != "case_resolved" {
		t.Fatalf("follow-ups of agent-he = %v", due)
	}
	manual := api.mustDo("POST", "/v1/followups", `{"customerId":"`+id+`","agentId":"agent-he","dueTime":"2030-01-01T01:00:00Z","channel":"CHANNEL_PHONE"}`)
	if code, _ := api.do("POST", "/v1/followups", `{"customerId":"`+id+`"}`); code != http.StatusBadRequest {
		t.Errorf("follow-up without due time: status %d, want 400", code)
	}
	done := api.mustDo("POST", "/v1/followups/"+manual["id"].(string)+":complete", `{"summary":"客户确认收到发票"}`)
	if done["status"] != "FOLLOWUP_STATUS_DONE" {
		t.Errorf("completed follow-up = %v", done)
	}
	calls, _ := api.mustDo("GET", "/v1/customers/"+id+"/interactions?filter="+url.QueryEscape("kind = CALL"), "")["interactions"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["summary"] != "客户确认收到发票" {
		t.Errorf("the follow-up call on the timeline = %v", calls)
	}
}
