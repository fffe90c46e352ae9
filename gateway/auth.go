package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/guanxi-crm/guanxi/platform/auth"
)

// subjectKey is the request context key of the verified caller's subject.
type subjectKey struct{}

// subjectOf returns the subject authenticate verified for r, "" when none.
func subjectOf(r *http.Request) string {
	s, _ := r.Context().Value(subjectKey{}).(string)
	return s
}

// authenticate refuses requests without a valid bearer token with 401, so
// that nobody reaches a service (or spends its rate limit) unverified. The
// token itself goes on to the services, which verify it again and
// authorize the call by its roles: the edge is not the only guard.
func authenticate(next http.Handler, v *auth.Verifier, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := auth.BearerToken(r.Header.Get("Authorization"))
		id, err := v.Verify(token)
		if !ok || err != nil {
			if ok {
				// The reason goes to the log, not the caller: it would
				// help forge a token. The token itself is never logged.
				logger.InfoContext(r.Context(), "request refused: bad bearer token", slog.String("reason", err.Error()))
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="guanxi"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "a valid bearer token is required"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, id.Subject)))
	})
}
