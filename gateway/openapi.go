package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/version"
)

// publicRoute is a REST route that needs no credential: its request proves
// itself (the signed unsubscribe link) or is the credential (an API key
// traded for a token).
type publicRoute struct{ method, path string }

// publicRoutes are served without authentication, and the OpenAPI document
// says so.
var publicRoutes = []publicRoute{
	{http.MethodPost, "/v1/unsubscribe"},
	{http.MethodPost, "/v1/apiKeys:exchange"},
}

// openAPIDocument is the generated OpenAPI document completed with what
// protoc-gen-openapiv2 cannot know from merged protos: the API's own
// title, the release version, and how callers authenticate (a bearer token
// or an API key in Authorization, as authenticate accepts). It is built at
// start, so the committed generated file stays what `make proto` makes.
func openAPIDocument(generated []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("read openapi document: %w", err)
	}
	doc["info"] = map[string]any{
		"title":       "guanxi REST API",
		"version":     version.Version,
		"description": "The REST edge of guanxi, the open-source CRM. Every route needs `Authorization: Bearer <token>` or `Authorization: ApiKey <key>` unless it says otherwise.",
	}
	// Swagger 2.0 has no bearer type: both schemes are API keys in the
	// Authorization header, told apart by their prefix.
	doc["securityDefinitions"] = map[string]any{
		"Bearer": map[string]any{
			"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "A token from POST /v1/apiKeys:exchange or the deployment's issuer, sent as `Bearer <token>`.",
		},
		"ApiKey": map[string]any{
			"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "An API key sent as `ApiKey <key>`; the edge trades it for a token.",
		},
	}
	doc["security"] = []any{
		map[string]any{"Bearer": []any{}},
		map[string]any{"ApiKey": []any{}},
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range publicRoutes {
		item, _ := paths[p.path].(map[string]any)
		op, _ := item[strings.ToLower(p.method)].(map[string]any)
		if op == nil {
			return nil, fmt.Errorf("openapi document: public route %s %s is not in it", p.method, p.path)
		}
		op["security"] = []any{} // no credential needed
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write openapi document: %w", err)
	}
	return out, nil
}

// serveOpenAPI serves doc as /openapi.json.
func serveOpenAPI(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}
}
