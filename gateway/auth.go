package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/logging"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
)

// subjectKey is the request context key of the verified caller's subject.
type subjectKey struct{}

// subjectOf returns the subject authenticate verified for r, "" when none.
func subjectOf(r *http.Request) string {
	s, _ := r.Context().Value(subjectKey{}).(string)
	return s
}

// errRefused is a credential the edge does not accept; why goes to the log.
var errRefused = errors.New("refused")

// authenticate refuses requests without a valid credential with 401, so
// that nobody reaches a service (or spends its rate limit) unverified. A
// bearer token goes on to the services, which verify it again and
// authorize the call by its roles: the edge is not the only guard. An API
// key ("Authorization: ApiKey <key>") is traded for a token first, and the
// token goes on in its place.
func authenticate(next http.Handler, v *auth.Verifier, keys *keyExchange, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, credential, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		credential = strings.TrimSpace(credential)
		var (
			id  auth.Identity
			err error
		)
		switch {
		case credential == "":
			err = errRefused
		case strings.EqualFold(scheme, "Bearer"): // schemes are case-insensitive (RFC 9110)
			id, err = v.Verify(credential)
		case strings.EqualFold(scheme, "ApiKey"):
			var token string
			if token, err = keys.token(r.Context(), credential); err == nil {
				r.Header.Set("Authorization", "Bearer "+token)
				id, err = v.Verify(token)
			}
		default:
			err = errRefused
		}
		if err != nil {
			if status.Code(err) == codes.Unavailable {
				writeJSON(w, http.StatusServiceUnavailable, map[string]any{"code": 14, "message": "the access service is unavailable"})
				return
			}
			if !errors.Is(err, errRefused) {
				// The token or key itself is never logged.
				logger.InfoContext(r.Context(), "request refused: bad credential", slog.String("reason", err.Error()))
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="guanxi"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "a valid bearer token or API key is required"})
			return
		}
		logging.NoteSubject(r.Context(), id.Subject) // for the request's log line
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, id.Subject)))
	})
}

// keyExchange trades API keys for tokens at the access service and keeps
// each token until shortly before it ends, so that a busy integration
// costs the access service one call per token lifetime. Keys are held by
// their hash only.
type keyExchange struct {
	client accessv1.AccessServiceClient

	mu     sync.Mutex
	tokens map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	token string
	until time.Time
}

// maxCachedTokens bounds the cache; past it, ended tokens are dropped.
const maxCachedTokens = 10000

// renewBefore is how long before its end a cached token is traded anew.
const renewBefore = 30 * time.Second

func newKeyExchange(client accessv1.AccessServiceClient) *keyExchange {
	return &keyExchange{client: client, tokens: map[[sha256.Size]byte]cachedToken{}}
}

func (k *keyExchange) token(ctx context.Context, key string) (string, error) {
	sum := sha256.Sum256([]byte(key))
	now := time.Now()
	k.mu.Lock()
	c, ok := k.tokens[sum]
	k.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.token, nil
	}
	resp, err := k.client.ExchangeApiKey(ctx, &accessv1.ExchangeApiKeyRequest{Key: key})
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.tokens) >= maxCachedTokens {
		for h, c := range k.tokens {
			if !now.Before(c.until) {
				delete(k.tokens, h)
			}
		}
	}
	if len(k.tokens) < maxCachedTokens {
		k.tokens[sum] = cachedToken{token: resp.GetToken(), until: resp.GetExpireTime().AsTime().Add(-renewBefore)}
	}
	return resp.GetToken(), nil
}
