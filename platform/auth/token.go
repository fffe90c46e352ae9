package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Claims are the claims of a guanxi token: the registered ones and the
// caller's roles, teams and permissions.
type Claims struct {
	jwt.RegisteredClaims
	Roles       []Role   `json:"roles,omitempty"`
	Teams       []string `json:"teams,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// Verifier checks bearer tokens against a Config.
type Verifier struct {
	parser *jwt.Parser
	opts   []jwt.ParserOption
	key    jwt.Keyfunc
	leeway time.Duration

	// verified remembers the tokens Verify accepted, until they end: a
	// caller presents the same token on every call, and parsing and
	// checking it (JSON and HMAC) was a third of a cached read's CPU.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

// verifiedToken is an accepted token's identity and when it stops being
// accepted.
type verifiedToken struct {
	id    Identity
	until time.Time
}

// Bounds of the verified tokens kept: how many, and for how long at most
// (a token valid for a day is checked again every few minutes all the
// same).
const (
	maxVerified      = 10000
	verifiedLifetime = 5 * time.Minute
)

// NewVerifier returns the verifier of cfg, which must Validate.
func NewVerifier(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secret := []byte(cfg.Secret)
	methods := []string{jwt.SigningMethodHS256.Alg()}
	var jwks keyfunc.Keyfunc
	if cfg.JWKSFile != "" {
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("GUANXI_AUTH_JWKS_FILE: %w", err)
		}
		if jwks, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw)); err != nil {
			return nil, fmt.Errorf("GUANXI_AUTH_JWKS_FILE %s: %w", cfg.JWKSFile, err)
		}
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.clockSkew())}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	key := func(t *jwt.Token) (any, error) {
		// WithValidMethods has already refused algorithms not configured,
		// so an HS256 token never meets a public key or the reverse.
		if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
			return secret, nil
		}
		return jwks.Keyfunc(t)
	}
	return &Verifier{parser: jwt.NewParser(opts...), opts: opts, key: key, leeway: cfg.clockSkew(),
		verified: map[string]verifiedToken{}}, nil
}

// Verify checks token and returns the identity it carries. The error says
// why a token is refused, for the log only: telling the caller would help
// forge one.
func (v *Verifier) Verify(token string) (Identity, error) {
	now := time.Now()
	v.mu.Lock()
	t, ok := v.verified[token]
	v.mu.Unlock()
	if ok && now.Before(t.until) {
		return t.id, nil
	}
	var claims Claims
	id, err := v.verifyClaims(v.parser, token, &claims)
	if err != nil {
		return id, err
	}
	// Accepted now, a token stays good until it expires (the leeway
	// added, as the parser allows): its signature, issuer and audience do
	// not change, and a token not valid before some time is already past it.
	until := now.Add(verifiedLifetime)
	if claims.ExpiresAt != nil {
		until = minTime(until, claims.ExpiresAt.Add(v.leeway))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= maxVerified {
		for k, t := range v.verified {
			if !now.Before(t.until) {
				delete(v.verified, k)
			}
		}
		if len(v.verified) >= maxVerified {
			clear(v.verified)
		}
	}
	// Shared by the calls that present the token: an append to a slice of
	// one copy must not write into another's.
	id.Roles, id.Teams, id.Permissions = slices.Clip(id.Roles), slices.Clip(id.Teams), slices.Clip(id.Permissions)
	v.verified[token] = verifiedToken{id: id, until: until}
	return id, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// VerifyAt is Verify as of at instead of now: the time a request was made
// that is handled later, such as a message a broker stored at at. A token
// valid then stays good for it; one ended then is refused, however early
// the handler.
func (v *Verifier) VerifyAt(token string, at time.Time) (Identity, error) {
	return v.verify(jwt.NewParser(append(slices.Clip(v.opts), jwt.WithTimeFunc(func() time.Time { return at }))...), token)
}

func (v *Verifier) verify(parser *jwt.Parser, token string) (Identity, error) {
	var claims Claims
	return v.verifyClaims(parser, token, &claims)
}

func (v *Verifier) verifyClaims(parser *jwt.Parser, token string, claims *Claims) (Identity, error) {
	if _, err := parser.ParseWithClaims(token, claims, v.key); err != nil {
		return Identity{}, err
	}
	if claims.Subject == "" {
		return Identity{}, errors.New("the token names no subject")
	}
	for _, r := range claims.Roles {
		if !slices.Contains(Roles, r) {
			return Identity{}, fmt.Errorf("the token names an unknown role %q", r)
		}
	}
	return Identity{Subject: claims.Subject, Roles: claims.Roles, Teams: claims.Teams,
		Permissions: claims.Permissions, Actor: claims.Subject}, nil
}

// BearerToken returns the token of an Authorization value ("Bearer x"); the
// scheme is case-insensitive (RFC 9110).
func BearerToken(authorization string) (string, bool) {
	scheme, token, _ := strings.Cut(authorization, " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// Issue signs a token for id, valid for ttl, with cfg's secret, issuer and
// audience: the tokens services present to each other, the bootstrap admin
// token of guanxi dev, and tests' callers.
func Issue(cfg Config, id Identity, ttl time.Duration) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	now := time.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: id.Subject, Issuer: cfg.Issuer,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Roles: id.Roles, Teams: id.Teams, Permissions: id.Permissions,
	}
	if cfg.Audience != "" {
		claims.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(cfg.Secret))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// Token is gRPC per-call credentials presenting a fixed bearer token: a
// person's or an integration's, for the CLI and tests.
type Token string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t Token) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. Tokens
// also go over plaintext, on one machine; deployments across machines
// configure TLS (platform/tlsconfig).
func (Token) RequireTransportSecurity() bool { return false }

// serviceTokenTTL is how long a service's own token lives; it is renewed
// a minute before it ends.
const serviceTokenTTL = 15 * time.Minute

// ServiceCredentials are the per-call credentials of service name calling
// another service: a Service token it signs itself and renews.
type ServiceCredentials struct {
	cfg  Config
	name string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewServiceCredentials returns the credentials of service name; cfg must
// Validate.
func NewServiceCredentials(cfg Config, name string) (*ServiceCredentials, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &ServiceCredentials{cfg: cfg, name: name}, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials. Besides the
// service's token it names, in ActorMetadata, the person the call is made
// for: the verified caller of the request being served (ctx is the call's
// context, which carries the identity the Guard verified), so that the
// service called audits that person and not this service. A call made for
// nobody (a consumer, a scheduled job) names no one, and the service
// called records this service itself. A call that already names an actor
// in its outgoing metadata keeps it.
func (c *ServiceCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	token, err := c.current()
	if err != nil {
		return nil, err
	}
	md := map[string]string{"authorization": "Bearer " + token}
	if actor := ForwardedActor(ctx); actor != "" {
		md[ActorMetadata] = actor
	}
	return md, nil
}

// current returns the service's token, signing a new one when it is about
// to end.
func (c *ServiceCredentials) current() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.token == "" || now.After(c.renewAt) {
		token, err := Issue(c.cfg, Identity{Subject: ServiceSubject(c.name), Roles: []Role{Service}}, serviceTokenTTL)
		if err != nil {
			return "", err
		}
		c.token, c.renewAt = token, now.Add(serviceTokenTTL-time.Minute)
	}
	return c.token, nil
}

// ServiceSubject is the subject of service name's own token
// ("svc:interaction"), the name audit logs give its calls.
func ServiceSubject(name string) string { return "svc:" + name }

// ForwardedActor returns the person a call made with ctx acts for, to name
// in ActorMetadata: the verified caller of the request ctx serves (for a
// service caller, the person it named), and "" when ctx serves no one or
// its outgoing metadata already names an actor.
func ForwardedActor(ctx context.Context) string {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(ActorMetadata)) > 0 {
		return ""
	}
	id, ok := FromContext(ctx)
	if !ok {
		return ""
	}
	return id.Actor
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (*ServiceCredentials) RequireTransportSecurity() bool { return false }

// ServiceDialOption is the dial option with which service name signs its
// calls to other services and names the person each call is made for (see
// ServiceCredentials.GetRequestMetadata), so every service forwards its
// callers in one place; cfg must Validate.
func ServiceDialOption(cfg Config, name string) (grpc.DialOption, error) {
	creds, err := NewServiceCredentials(cfg, name)
	if err != nil {
		return nil, err
	}
	return grpc.WithPerRPCCredentials(creds), nil
}
