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
func readiness(backends backendSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		statuses := make(map[string]string, len(backends))
		code := http.StatusOK
		for _, b := range backends {
			resp, err := healthpb.NewHealthClient(b.conn).Check(ctx, &healthpb.HealthCheckRequest{})
			switch {
			case err != nil:
				statuses[b.name] = status.Code(err).String()
				code = http.StatusServiceUnavailable
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				statuses[b.name] = resp.GetStatus().String()
				code = http.StatusServiceUnavailable
			default:
				statuses[b.name] = "SERVING"
			}
		}
		writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "services": statuses})
	})
}

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
