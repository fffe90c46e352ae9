package gateway

import (
	"net/http"
	"slices"
	"strings"
)

// corsRequestHeaders are the request headers a browser may send across
// origins: those the REST edge reads.
var corsRequestHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Guanxi-Reason"}

// allowCORS lets web apps served from origins call the REST edge from a
// browser (an origin is "https://crm.example.com"; "*" allows any). A
// preflight from an origin not listed is refused with 403; other requests
// from one are served without CORS headers, so the browser keeps their
// answer from the page. With no origins, nothing changes.
func allowCORS(next http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := anyOrigin || slices.Contains(origins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		switch {
		case preflight && !allowed:
			writeJSON(w, http.StatusForbidden, map[string]any{"code": 7, "message": "origin " + origin + " may not call this API"})
		case preflight:
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", strings.Join(corsRequestHeaders, ", "))
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		default:
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", "Retry-After")
			}
			next.ServeHTTP(w, r)
		}
	})
}
