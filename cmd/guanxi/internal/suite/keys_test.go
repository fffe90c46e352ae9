package suite_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
)

// TestBootstrapAdminKey: guanxi dev makes an admin API key at its first
// start, keeps it in its data dir for the owner only and keeps it across
// restarts; with it an admin makes narrower keys through REST, which work
// through REST and for the CLI, each within its role.
func TestBootstrapAdminKey(t *testing.T) {
	dir := t.TempDir()
	e, stop := startSuite(t, dir)
	key := e.AdminKey
	info, err := os.Stat(filepath.Join(dir, "admin.key"))
	if err != nil || info.Mode().Perm() != 0o600 || !strings.HasPrefix(key, "gxk_") {
		t.Fatalf("admin key %q, file %v %v: want a key in a file only its owner reads", key, info, err)
	}
	withKey := func(k string) client { return client{t: t, base: e.HTTP, scheme: "ApiKey", token: k} }
	admin := withKey(key)
	id := admin.mustDo("POST", "/v1/customers", `{"displayName":"钥匙客户","ownerId":"agent-ma","teamId":"north"}`)["id"].(string)
	made := admin.mustDo("POST", "/v1/apiKeys", `{"name":"ma's script","subject":"agent-ma","roles":["agent"],"teams":["north"]}`)
	agentKey, _ := made["key"].(string)
	agent := withKey(agentKey)
	if got := agent.mustDo("GET", "/v1/customers/"+id, ""); got["displayName"] != "钥匙客户" {
		t.Errorf("the agent's key reads %v", got)
	}
	if code, _ := agent.do("POST", "/v1/apiKeys", `{"name":"x","subject":"agent-ma","roles":["admin"]}`); code != http.StatusForbidden {
		t.Errorf("an agent's key making an admin key: %d, want 403", code)
	}
	if code, _ := withKey("gxk_0000_nope").do("GET", "/v1/customers", ""); code != http.StatusUnauthorized {
		t.Errorf("an unknown key: %d, want 401", code)
	}
	if keys, _ := admin.mustDo("GET", "/v1/apiKeys", "")["apiKeys"].([]any); len(keys) != 2 || strings.Contains(admin.mustRaw("GET", "/v1/apiKeys"), agentKey) {
		t.Errorf("listed keys %v: want the bootstrap key and the agent's, without secrets", keys)
	}

	out := filepath.Join(t.TempDir(), "mine.ndjson")
	var stderr bytes.Buffer
	err = customerscli.Run(context.Background(), []string{"export", "-addr", serviceAddr(t, e, "customer"),
		"-access-addr", serviceAddr(t, e, "access"), "-key", agentKey, "-o", out}, &bytes.Buffer{}, &stderr)
	if err == nil {
		t.Errorf("an agent without the export permission exported: %s", stderr.String())
	}
	if err := customerscli.Run(context.Background(), []string{"export", "-addr", serviceAddr(t, e, "customer"),
		"-access-addr", serviceAddr(t, e, "access"), "-key", key, "-o", out}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("export with the admin key: %v (%s)", err, stderr.String())
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), id) {
		t.Errorf("the export lacks the customer: %s", b)
	}
	stop()

	e, stop = startSuite(t, dir)
	defer stop()
	if e.AdminKey != key {
		t.Fatalf("after a restart the admin key is %q, want the first one kept", e.AdminKey)
	}
	withKey = func(k string) client { return client{t: t, base: e.HTTP, scheme: "ApiKey", token: k} }
	withKey(key).mustDo("GET", "/v1/customers/"+id, "")
}
