package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const testSecret = "a-test-secret-of-at-least-32-bytes!!"

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

// TestVerify: HS256 tokens signed with the secret and ES256 tokens signed
// with a key of the JWKS file are accepted when unexpired, from the issuer
// and with a subject; everything else is refused.
func TestVerify(t *testing.T) {
	t.Parallel()
	signing, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Secret: testSecret, JWKSFile: jwksFile(t, signing, "k1"), Issuer: "https://sso.example.com"}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(sub string, exp time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "iss": "https://sso.example.com", "exp": time.Now().Add(exp).Unix(),
			"roles": []string{"agent"}, "teams": []string{"north"}}
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
	badRole := claims("alice", time.Hour)
	badRole["roles"] = []string{"root"}
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice", time.Hour)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := Issue(cfg, Identity{Subject: "carol", Roles: []Role{Manager}, Teams: []string{"south"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, token, want string // want is the subject, "" for a refusal
	}{
		{"HS256", sign(jwt.SigningMethodHS256, claims("alice", time.Hour), "", []byte(testSecret)), "alice"},
		{"issued here", issued, "carol"},
		{"HS256, other secret", sign(jwt.SigningMethodHS256, claims("alice", time.Hour), "", []byte(testSecret+"x")), ""},
		{"expired", sign(jwt.SigningMethodHS256, claims("alice", -time.Hour), "", []byte(testSecret)), ""},
		{"no expiry", sign(jwt.SigningMethodHS256, noExp, "", []byte(testSecret)), ""},
		{"other issuer", sign(jwt.SigningMethodHS256, otherIssuer, "", []byte(testSecret)), ""},
		{"unknown role", sign(jwt.SigningMethodHS256, badRole, "", []byte(testSecret)), ""},
		{"alg none", unsigned, ""},
		{"ES256 from the JWKS", sign(jwt.SigningMethodES256, claims("bob", time.Hour), "k1", signing), "bob"},
		{"ES256, unknown key", sign(jwt.SigningMethodES256, claims("bob", time.Hour), "k1", stranger), ""},
		{"no subject", sign(jwt.SigningMethodHS256, claims("", time.Hour), "", []byte(testSecret)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted as %+v, want refused", id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tc.want || id.Actor != tc.want || len(id.Roles) != 1 || len(id.Teams) != 1 {
				t.Errorf("identity %+v, want subject and actor %s with one role and one team", id, tc.want)
			}
		})
	}
	if _, err := NewVerifier(Config{Secret: "short"}); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, err := NewVerifier(Config{}); err == nil {
		t.Error("no secret was accepted")
	}
}

// TestGuard: the guard refuses calls without a valid token as
// Unauthenticated and calls its policy does not allow as PermissionDenied,
// and honours the actor metadata only from services.
func TestGuard(t *testing.T) {
	t.Parallel()
	cfg := Config{Secret: testSecret}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const (
		read   = "/x.v1.S/Read"
		export = "/x.v1.S/Export"
		public = "/x.v1.S/Unsubscribe"
		newRPC = "/x.v1.S/New"
	)
	g := NewGuard(v, Policy{
		read:   Allow(Agent, Analyst),
		export: Allow(Manager, Analyst).Needing(PermissionExport),
		public: Public(),
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	token := func(id Identity) string {
		s, err := Issue(cfg, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	agent := token(Identity{Subject: "a1", Roles: []Role{Agent}})
	service := token(Identity{Subject: "svc:x", Roles: []Role{Service}})

	for _, tc := range []struct {
		name, method string
		md           []string
		want         codes.Code
		wantActor    string
	}{
		{"no token", read, nil, codes.Unauthenticated, ""},
		{"basic auth", read, []string{"authorization", "Basic YTpi"}, codes.Unauthenticated, ""},
		{"two tokens", read, []string{"authorization", agent, "authorization", agent}, codes.Unauthenticated, ""},
		{"bad token", read, []string{"authorization", "Bearer x.y.z"}, codes.Unauthenticated, ""},
		{"allowed role", read, []string{"authorization", agent, ActorMetadata, "mallory"}, codes.OK, "a1"},
		{"other role", read, []string{"authorization", token(Identity{Subject: "m", Roles: []Role{Manager}})}, codes.PermissionDenied, ""},
		{"no role", read, []string{"authorization", token(Identity{Subject: "n"})}, codes.PermissionDenied, ""},
		{"admin", read, []string{"authorization", token(Identity{Subject: "root", Roles: []Role{Admin}})}, codes.OK, "root"},
		{"service for a person", read, []string{"authorization", service, ActorMetadata, "am-li"}, codes.OK, "am-li"},
		{"service for nobody", read, []string{"authorization", service}, codes.OK, ""},
		{"export without the permission", export, []string{"authorization", token(Identity{Subject: "m", Roles: []Role{Manager}})}, codes.PermissionDenied, ""},
		{"export with it", export, []string{"authorization", token(Identity{Subject: "m", Roles: []Role{Manager}, Permissions: []string{PermissionExport}})}, codes.OK, "m"},
		{"export, permission without the role", export, []string{"authorization", token(Identity{Subject: "a", Roles: []Role{Agent}, Permissions: []string{PermissionExport}})}, codes.PermissionDenied, ""},
		{"public", public, nil, codes.OK, ""},
		{"method without a rule", newRPC, []string{"authorization", agent}, codes.PermissionDenied, ""},
		{"health", "/grpc.health.v1.Health/Check", nil, codes.OK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(tc.md...))
			ctx, err := g.authorize(ctx, tc.method, time.Time{})
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
			if err != nil {
				return
			}
			id, _ := FromContext(ctx)
			if id.Actor != tc.wantActor {
				t.Errorf("actor %q, want %q", id.Actor, tc.wantActor)
			}
			if wantVia := map[bool]string{true: "svc:x"}[id.Has(Service)]; id.Via != wantVia {
				t.Errorf("via %q, want %q", id.Via, wantVia)
			}
		})
	}
}

// TestClockSkewIsConfigurable: a token 10 s past exp is refused with the
// default leeway and accepted where GUANXI_AUTH_CLOCK_SKEW allows 30 s; a
// negative or huge leeway does not validate.
func TestClockSkewIsConfigurable(t *testing.T) {
	cfg := Config{Secret: strings.Repeat("s", MinSecretBytes)}
	token, err := Issue(cfg, Identity{Subject: "u-1"}, -10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		skew time.Duration
		ok   bool
	}{{0, false}, {5 * time.Second, false}, {30 * time.Second, true}} {
		cfg.ClockSkew = tc.skew
		v, err := NewVerifier(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(token); (err == nil) != tc.ok {
			t.Errorf("skew %s: verify = %v, want accepted = %v", tc.skew, err, tc.ok)
		}
	}
	for _, bad := range []time.Duration{-time.Second, time.Hour} {
		cfg.ClockSkew = bad
		if err := cfg.Validate(); err == nil {
			t.Errorf("skew %s validates", bad)
		}
	}
}

// TestVerifyAt: a token is judged as of the time given, the time a stored
// request (a message) was made: ended since, it is still good for that
// request; ended then, it is refused; and Verify still judges by now.
func TestVerifyAt(t *testing.T) {
	t.Parallel()
	cfg := Config{Secret: strings.Repeat("s", MinSecretBytes)}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token, err := Issue(cfg, Identity{Subject: "hotline", Roles: []Role{Integration}}, -time.Minute) // ended a minute ago
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(token); err == nil {
		t.Error("Verify accepts a token that ended a minute ago")
	}
	if id, err := v.VerifyAt(token, time.Now().Add(-2*time.Minute)); err != nil || id.Subject != "hotline" {
		t.Errorf("VerifyAt while it was valid = %+v, %v", id, err)
	}
	if _, err := v.VerifyAt(token, time.Now()); err == nil {
		t.Error("VerifyAt after it ended accepts it")
	}
}

// TestServiceCredentialsForwardTheActor: a service's call names the person
// the request it serves is for, names no one for a request of nobody, and
// keeps an actor its outgoing metadata already names.
func TestServiceCredentialsForwardTheActor(t *testing.T) {
	creds, err := NewServiceCredentials(Config{Secret: strings.Repeat("s", MinSecretBytes)}, "interaction")
	if err != nil {
		t.Fatal(err)
	}
	person := NewContext(context.Background(), Identity{Subject: "am-li", Actor: "am-li"})
	relayed := NewContext(context.Background(), Identity{Subject: "svc:gw", Roles: []Role{Service}, Actor: "agent-7", Via: "svc:gw"})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"a person's request", person, "am-li"},
		{"a service's request for a person", relayed, "agent-7"},
		{"a request of nobody", context.Background(), ""},
		{"an actor named already", metadata.AppendToOutgoingContext(person, ActorMetadata, "someone"), ""},
	} {
		md, err := creds.GetRequestMetadata(tc.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if md[ActorMetadata] != tc.want || md["authorization"] == "" {
			t.Errorf("%s: metadata %v, want actor %q and a token", tc.name, md, tc.want)
		}
	}
}
