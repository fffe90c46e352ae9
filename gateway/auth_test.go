package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/guanxi-crm/guanxi/gateway"
)

// jwksFile writes key's public half as a JWK Set with key id kid.
func jwksFile(t *testing.T, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	set, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
		"x": b64(pub[1:33]), "y": b64(pub[33:]),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, set, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGatewayBearerTokens: with token keys configured, a REST request needs
// a valid bearer token, and its subject (not the X-Guanxi-Actor the caller
// sends) is the caller the service sees.
func TestGatewayBearerTokens(t *testing.T) {
	t.Parallel()
	const secret = "a-test-secret-of-at-least-32-bytes!!"
	signing, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base := startGatewayWith(t, func(c *gateway.Config) {
		c.JWTSecret, c.JWKSFile, c.JWTIssuer = secret, jwksFile(t, signing, "k1"), "https://sso.example.com"
	})
	claims := func(sub string, exp time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "iss": "https://sso.example.com", "exp": time.Now().Add(exp).Unix()}
	}
	sign := func(method jwt.SigningMethod, c jwt.MapClaims, kid string, key any) string {
		tok := jwt.NewWithClaims(method, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	noExp := claims("alice", time.Hour)
	delete(noExp, "exp")
	otherIssuer := claims("alice", time.Hour)
	otherIssuer["iss"] = "https://evil.example"
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice", time.Hour)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, auth, wantOwner string
		want                  int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic YWxpY2U6cHc=", "", http.StatusUnauthorized},
		{"HS256", "Bearer " + sign(jwt.SigningMethodHS256, claims("alice", time.Hour), "", []byte(secret)), "alice", http.StatusOK},
		{"HS256, other secret", "Bearer " + sign(jwt.SigningMethodHS256, claims("alice", time.Hour), "", []byte(secret+"x")), "", http.StatusUnauthorized},
		{"expired", "Bearer " + sign(jwt.SigningMethodHS256, claims("alice", -time.Hour), "", []byte(secret)), "", http.StatusUnauthorized},
		{"no expiry", "Bearer " + sign(jwt.SigningMethodHS256, noExp, "", []byte(secret)), "", http.StatusUnauthorized},
		{"other issuer", "Bearer " + sign(jwt.SigningMethodHS256, otherIssuer, "", []byte(secret)), "", http.StatusUnauthorized},
		{"alg none", "Bearer " + unsigned, "", http.StatusUnauthorized},
		{"ES256 from the JWKS", "bearer " + sign(jwt.SigningMethodES256, claims("bob", time.Hour), "k1", signing), "bob", http.StatusOK},
		{"ES256, unknown key", "Bearer " + sign(jwt.SigningMethodES256, claims("bob", time.Hour), "k1", stranger), "", http.StatusUnauthorized},
		{"no subject", "Bearer " + sign(jwt.SigningMethodHS256, claims("", time.Hour), "", []byte(secret)), "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}, "X-Guanxi-Actor": {"mallory"}}
			if tc.auth != "" {
				h.Set("Authorization", tc.auth)
			}
			resp, body := send(t, "POST", base+"/v1/customers", `{"displayName":"a"}`, h)
			var out map[string]any
			_ = json.Unmarshal([]byte(body), &out)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, out, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if tc.want == http.StatusOK {
				if owner := out["ownerId"]; owner != tc.wantOwner {
					t.Errorf("the service saw caller %q, want %q (the token's subject)", owner, tc.wantOwner)
				}
			}
		})
	}
	if code, _ := request(t, "GET", base+"/healthz", "", nil); code != http.StatusOK {
		t.Errorf("healthz without a token: %d, want 200 (probes stay open)", code)
	}
}
