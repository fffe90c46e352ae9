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
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/keyscli"
)

// TestBootstrapAdminKey: guanxi dev makes an admin API key at its first
// start, keeps it in its data dir for the owner only and keeps it across
// restarts; with it an admin makes narrower keys through REST and with
// `guanxi keys`, which work through REST and for the CLI, each within its
// role, until revoked.
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

	// The same through the CLI: make a key, see it listed, revoke it.
	keysCLI := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		args = append(args[:1:1], append([]string{"-access-addr", serviceAddr(t, e, "access"), "-key", key}, args[1:]...)...)
		err := keyscli.Run(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	made2, err := keysCLI("create", "-name", "report robot", "-subject", "bot-1", "-roles", "analyst", "-permissions", "export")
	if err != nil || !strings.HasPrefix(made2, "gxk_") {
		t.Fatalf("keys create: %v %s", err, made2)
	}
	botKey := strings.TrimSpace(strings.SplitN(made2, "\n", 2)[0])
	botID := strings.Split(botKey, "_")[1]
	if listed, err := keysCLI("list"); err != nil || !strings.Contains(listed, botID) || !strings.Contains(listed, "report robot") || strings.Contains(listed, botKey) {
		t.Errorf("keys list: %v\n%s", err, listed)
	}
	if err := customerscli.Run(context.Background(), []string{"export", "-addr", serviceAddr(t, e, "customer"),
		"-access-addr", serviceAddr(t, e, "access"), "-key", botKey, "-o", out}, &bytes.Buffer{}, &stderr); err != nil {
		t.Errorf("export with the analyst's key holding the export permission: %v", err)
	}
	if revoked, err := keysCLI("revoke", botID); err != nil || !strings.Contains(revoked, "revoked") {
		t.Errorf("keys revoke: %v %s", err, revoked)
	}
	if listed, _ := keysCLI("list"); strings.Contains(listed, botID) {
		t.Errorf("a revoked key is listed without -all:\n%s", listed)
	}
	if listed, _ := keysCLI("list", "-all"); !strings.Contains(listed, botID) {
		t.Errorf("keys list -all lacks the revoked key:\n%s", listed)
	}
	if err := customerscli.Run(context.Background(), []string{"export", "-addr", serviceAddr(t, e, "customer"),
		"-access-addr", serviceAddr(t, e, "access"), "-key", botKey, "-o", out}, &bytes.Buffer{}, &stderr); err == nil {
		t.Error("export with a revoked key succeeded")
	}
	if _, err := keysCLI("create", "-name", "x", "-subject", "y", "-roles", "root"); err == nil {
		t.Error("keys create with an unknown role succeeded")
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
