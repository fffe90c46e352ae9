package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
)

// TestGatewayBearerTokens: a REST request needs a valid bearer token (the
// kinds of token accepted are platform/auth's TestVerify), which reaches
// the service; probes stay open.
func TestGatewayBearerTokens(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	alice, err := auth.Issue(testAuth, auth.Identity{Subject: "alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := auth.Issue(testAuth, auth.Identity{Subject: "alice"}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, auth, wantOwner string
		want                  int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic YWxpY2U6cHc=", "", http.StatusUnauthorized},
		{"garbage", "Bearer x.y.z", "", http.StatusUnauthorized},
		{"expired", "Bearer " + expired, "", http.StatusUnauthorized},
		{"valid", "Bearer " + alice, "alice", http.StatusOK},
		{"valid, scheme in lower case", "bearer " + alice, "alice", http.StatusOK},
		{"API key", "ApiKey gxk_good_key", "keyholder", http.StatusOK},
		{"API key again, from the cache", "ApiKey gxk_good_key", "keyholder", http.StatusOK},
		{"unknown API key", "ApiKey gxk_bad_key", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}, "Authorization": {tc.auth}}
			resp, body := send(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, h)
			var out map[string]any
			_ = json.Unmarshal([]byte(body), &out)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, out, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if tc.want == http.StatusOK && out["ownerId"] != tc.wantOwner {
				t.Errorf("the service saw caller %q, want %q (the token's subject)", out["ownerId"], tc.wantOwner)
			}
		})
	}
	if n := keyTrades.Load(); n != 1 {
		t.Errorf("the key was traded %d times, want once (then cached)", n)
	}
	if code, _ := request(t, "GET", base+"/healthz", "", http.Header{"Authorization": {""}}); code != http.StatusOK {
		t.Errorf("healthz without a token: %d, want 200 (probes stay open)", code)
	}
}
