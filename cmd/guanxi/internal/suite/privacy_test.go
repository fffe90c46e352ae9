package suite_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// TestLogsCarryNoPersonalData runs a customer's whole life through the
// suite with every service logging at debug level: creation, a refused
// duplicate, an update, a search by name, purchases and calls matched by
// phone, an import with a bad row, the welcome message, erasure, calls
// with an API key and a forged token. No recognizable name, email, phone,
// address, key or token may reach the logs.
func TestLogsCarryNoPersonalData(t *testing.T) {
	logs := &testinfra.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, stop := startSuiteLogging(t, t.TempDir(), logger)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	api := adminClient(t, e)

	const (
		name, email, phone = "司徒雪霁", "xueji.situ.canary@example.org", "+8613987650123"
		newPhone, street   = "+8613987650456", "梧桐巷 77 号"
		importName         = "上官云岫"
		importEmail        = "yunxiu.canary@example.net"
		callerName         = "慕容星澜"
	)
	secrets := []string{name, "雪霁", email, "xueji.situ", phone, "13987650123", newPhone, "13987650456",
		street, "梧桐巷", importName, "云岫", importEmail, callerName, "星澜", "13987650789",
		// Credentials are as secret: the API key's secret and the tokens.
		e.AdminKey[strings.LastIndex(e.AdminKey, "_"):], api.token, e.AdminToken}

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"`+name+`","email":"`+email+`","phone":"`+phone+`",`+
		`"addresses":[{"city":"苏州市","lines":["`+street+`"]}]}`)["id"].(string)
	if code, _ := api.do("POST", "/v1/customers", `{"displayName":"`+name+`","email":"`+email+`"}`); code != http.StatusConflict {
		t.Errorf("duplicate email: status %d, want 409", code)
	}
	api.mustDo("PATCH", "/v1/customers/"+id+"?updateMask=phone", `{"phone":"`+newPhone+`"}`)
	api.mustDo("GET", "/v1/customers?query="+"雪霁", "")
	client{t: t, base: e.HTTP, scheme: "ApiKey", token: e.AdminKey}.mustDo("GET", "/v1/customers/"+id, "")
	if code, _ := (client{t: t, base: e.HTTP, token: api.token + "x"}).do("GET", "/v1/customers/"+id, ""); code != http.StatusUnauthorized {
		t.Errorf("a forged token: status %d, want 401", code)
	}
	api.mustDo("GET", "/v1/customers?filter=email%3D%22"+email+"%22", "")
	api.mustDo("POST", "/v1/interactions", purchaseBody(id, "POS-P1", "12800"))
	api.mustDo("POST", "/v1/interactions:batchIngest", `{"events":[`+
		`{"source":"hotline","externalId":"p-1","phone":"`+newPhone+`","interaction":{"kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_CALL_CENTER"}},`+
		`{"source":"hotline","externalId":"p-2","phone":"+86 139 8765 0789","callerName":"`+callerName+`","interaction":{"kind":"INTERACTION_KIND_INQUIRY","channel":"CHANNEL_CALL_CENTER"}},`+
		`{"source":"hotline","externalId":"p-3","phone":"`+email+`","interaction":{"kind":"INTERACTION_KIND_CALL"}}]}`)

	conn := adminConn(t, e, "customer")
	csv := "external_id,display_name,email,phone\n" +
		"imp-1," + importName + "," + importEmail + ",\n" +
		"imp-2," + importName + "," + importEmail + ",\n" + // the email is taken by imp-1
		"imp-3," + importName + ",not-an-email " + importEmail + ",\n"
	res, err := customerscli.Import(context.Background(),
		customerv1.NewCustomerServiceClient(conn), strings.NewReader(csv), int64(len(csv)),
		customerscli.ImportOptions{Format: customerv1.ImportFormat_IMPORT_FORMAT_CSV})
	if err != nil || res.Response.GetCreatedCount() != 1 || res.Response.GetFailedCount() != 2 {
		t.Fatalf("import = %v, %v; want 1 created and 2 failed", res, err)
	}

	testinfra.Eventually(t, 10*time.Second, "the welcome message sent", func() bool {
		_, msgs := api.do("GET", "/v1/customers/"+id+"/messages", "")
		items, _ := msgs["messages"].([]any)
		return len(items) == 1
	})
	api.mustDo("POST", "/v1/customers/"+id+":erase", `{"reason":"PIPL erasure request #7"}`)
	stop()
	stopped = true

	out := logs.String()
	for _, svc := range []string{"customer", "interaction", "loyalty", "segmentation", "notification", "access", "gateway"} {
		if !strings.Contains(out, "service="+svc) {
			t.Fatalf("no log line of the %s service in %d bytes of logs: the scan would prove nothing", svc, len(out))
		}
	}
	t.Logf("scanned %d lines of logs (%d request lines)", strings.Count(out, "\n"), strings.Count(out, "msg=\"http request\"")+strings.Count(out, "msg=\"grpc call\""))
	for _, secret := range secrets {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("logs contain %q: %s", secret, line)
				break
			}
		}
	}
}
