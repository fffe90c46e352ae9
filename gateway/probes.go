package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
)

// readiness answers 200 only when every backend's health service says
// SERVING, so a load balancer sends no traffic to an edge that would fail it.
// It also reports each backend's NATS (its health entry "nats", see
// servicehost.NATSHealthService) under "dependencies": a service whose
// NATS is down still serves reads and writes (its outbox keeps the events,
// its consumers catch up later), so NATS down makes the answer degraded,
// not unready.
func readiness(backends backendSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		statuses := make(map[string]string, len(backends))
		deps := map[string]map[string]string{}
		code := http.StatusOK
		for _, b := range backends {
			client := healthpb.NewHealthClient(b.conn)
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			switch {
			case err != nil:
				statuses[b.name] = status.Code(err).String()
				code = http.StatusServiceUnavailable
				continue
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				statuses[b.name] = resp.GetStatus().String()
				code = http.StatusServiceUnavailable
				continue
			default:
				statuses[b.name] = "SERVING"
			}
			// NotFound: a service without NATS.
			if nats, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: natsHealthService}); err == nil {
				deps[b.name] = map[string]string{"nats": nats.GetStatus().String()}
			} else if status.Code(err) != codes.NotFound {
				deps[b.name] = map[string]string{"nats": status.Code(err).String()}
			}
		}
		body := map[string]any{"ready": code == http.StatusOK, "services": statuses}
		if len(deps) > 0 {
			body["dependencies"] = deps
		}
		writeJSON(w, code, body)
	})
}

// natsHealthService is the health entry under which a service reports its
// NATS connection (servicehost.NATSHealthService; the gateway does not
// depend on servicehost).
const natsHealthService = "nats"

// errorHandler writes gRPC errors as JSON with the matching HTTP status
// (grpc-gateway's mapping: InvalidArgument 400, NotFound 404, ...) and logs
// the ones that are the server's fault.
func errorHandler(logger *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		if max, over := bodyTooLarge(r); over {
			writeBodyTooLarge(w, max)
			return
		}
		switch status.Code(err) {
		case codes.Internal, codes.Unknown, codes.DataLoss:
			logger.ErrorContext(ctx, "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("code", status.Code(err).String()))
		case codes.Unavailable:
			// A service the edge cannot reach fails with the client's
			// transport text ("dial tcp 10.0.3.7:7103: connection
			// refused"): internal addresses are for the log, not the caller.
			logger.WarnContext(ctx, "request failed: service unavailable", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			err = rpcerr.Unavailable()
		}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
