package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// authenticator verifies the bearer tokens (JWTs) callers of the REST edge
// present: HS256 with a shared secret, RS256 and ES256 with the public keys
// of a JWKS file. A verified token's subject becomes the caller the
// services see (X-Guanxi-Actor), replacing whatever the request claimed.
type authenticator struct {
	parser *jwt.Parser
	key    jwt.Keyfunc
}

// clockSkew is the leeway given to exp and nbf between the token issuer's
// clock and the gateway's.
const clockSkew = 30 * time.Second

// newAuthenticator returns the authenticator cfg asks for, nil when it
// configures no token key (the edge is then open, as in `guanxi dev`).
func newAuthenticator(cfg Config) (*authenticator, error) {
	var (
		methods []string
		secret  []byte
		jwks    keyfunc.Keyfunc
	)
	if cfg.JWTSecret != "" {
		if len(cfg.JWTSecret) < 32 {
			return nil, errors.New("GUANXI_GATEWAY_JWT_SECRET must be at least 32 bytes")
		}
		secret = []byte(cfg.JWTSecret)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKSFile != "" {
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("GUANXI_GATEWAY_JWKS_FILE: %w", err)
		}
		if jwks, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw)); err != nil {
			return nil, fmt.Errorf("GUANXI_GATEWAY_JWKS_FILE %s: %w", cfg.JWKSFile, err)
		}
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	if len(methods) == 0 {
		return nil, nil
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(clockSkew)}
	if cfg.JWTIssuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.JWTIssuer))
	}
	if cfg.JWTAudience != "" {
		opts = append(opts, jwt.WithAudience(cfg.JWTAudience))
	}
	key := func(t *jwt.Token) (any, error) {
		// WithValidMethods has already refused algorithms not configured,
		// so an HS256 token never meets a public key or the reverse.
		if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
			return secret, nil
		}
		return jwks.Keyfunc(t)
	}
	return &authenticator{parser: jwt.NewParser(opts...), key: key}, nil
}

// subject verifies r's bearer token and returns its subject.
func (a *authenticator) subject(r *http.Request) (string, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" { // the scheme is case-insensitive (RFC 9110)
		return "", errors.New("a bearer token is required")
	}
	var claims jwt.RegisteredClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.key); err != nil {
		return "", err
	}
	if claims.Subject == "" {
		return "", errors.New("the token names no subject")
	}
	return claims.Subject, nil
}

// authenticate refuses requests without a valid bearer token with 401 and
// passes the others on as their token's subject. With no authenticator
// the edge is open.
func authenticate(next http.Handler, a *authenticator, logger *slog.Logger) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := a.subject(r)
		if err != nil {
			// The reason goes to the log, not the caller: it would help
			// forge a token. The token itself is never logged.
			logger.InfoContext(r.Context(), "request refused: bad bearer token", slog.String("reason", err.Error()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="guanxi"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "a valid bearer token is required"})
			return
		}
		r.Header.Set("X-Guanxi-Actor", sub)
		next.ServeHTTP(w, r)
	})
}
