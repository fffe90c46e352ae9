package suite_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/gateway"
)

// TestLargestIngestBatchFitsTheBodyCap: a batch of 10,000 call-center
// events, the most one batch may carry, each a full event (phone, caller
// name, a summary, call details, times), fits the REST edge's default body
// cap and is recorded whole; one byte of body past the cap is 413.
func TestLargestIngestBatchFitsTheBodyCap(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"批量客户","phone":"+8613900001111"}`)["id"].(string)

	const events = 10_000
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"source":"genesys-sh","externalId":"call-2025-03-01-%06d","phone":"+8613900001111","callerName":"批量客户",`+
			`"interaction":{"customerId":"%s","kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_CALL_CENTER",`+
			`"occurTime":"%s","summary":"客户来电咨询会员积分到账时间，已说明积分在消费后实时入账，并提醒下月会员日双倍积分。",`+
			`"details":{"call_duration_s":"%d","queue":"member-service","recording_id":"rec-20250301-%06d"}}}`,
			i, id, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 60+i%600, i)
	}
	b.WriteString(`]}`)
	body := b.String()
	t.Logf("a batch of %d events is %d bytes (%.0f a event); the cap is %d", events, len(body), float64(len(body))/events, gateway.DefaultMaxBodyBytes)
	if len(body) > gateway.DefaultMaxBodyBytes {
		t.Fatalf("the largest batch (%d bytes) does not fit the body cap (%d bytes)", len(body), gateway.DefaultMaxBodyBytes)
	}
	code, out := api.do("POST", "/v1/interactions:batchIngest", body)
	if code != http.StatusOK || out["createdCount"] != float64(events) {
		t.Fatalf("batch of %d events: status %d, created %v", events, code, out["createdCount"])
	}

	over := `{"events":[],"pad":"` + strings.Repeat("x", gateway.DefaultMaxBodyBytes) + `"}`
	if code, raw := api.raw("POST", "/v1/interactions:batchIngest", over); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the cap: status %d (%.200s), want 413", code, raw)
	}
}
