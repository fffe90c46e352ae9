package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/guanxi-crm/guanxi/platform/logging"
)

// routeKey is the request context key of the request's *routeNote.
type routeKey struct{}

// routeNote is the route grpc-gateway matched, learned inside its mux.
type routeNote struct {
	mu      sync.Mutex
	pattern string // "/v1/customers/{customer_id}"
	rpc     string // "/guanxi.customer.v1.CustomerService/GetCustomer"
}

// noteRoute is a grpc-gateway metadata annotator that adds nothing to the
// call's metadata: it is the one hook that runs with the matched route in
// its context, and it hands the route to the request's log line.
func noteRoute(ctx context.Context, r *http.Request) metadata.MD {
	if n, ok := r.Context().Value(routeKey{}).(*routeNote); ok {
		pattern, _ := runtime.HTTPPathPattern(ctx)
		rpc, _ := runtime.RPCMethod(ctx)
		n.mu.Lock()
		n.pattern, n.rpc = pattern, rpc
		n.mu.Unlock()
	}
	return nil
}

// logRequests writes one line per request when it ends: the HTTP method,
// the route's template (never the path itself, nor the query string,
// which may carry names or emails), the RPC it went to, the status, how
// long it took and the verified subject; the logger adds the trace id.
// Probes are logged at debug level. It names the request's span the same
// way: method and route template. A request cut off by its deadline
// (504) is a warning naming the RPC and the time it ran.
func logRequests(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := &routeNote{}
		ctx := logging.WithRequestNote(context.WithValue(r.Context(), routeKey{}, route))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		inner := r.WithContext(ctx)
		next.ServeHTTP(rec, inner)
		took := time.Since(start)

		route.mu.Lock()
		pattern, rpc := route.pattern, route.rpc
		route.mu.Unlock()
		if pattern == "" {
			pattern = inner.Pattern // the edge's own routes: "GET /healthz", "/" for none
		}
		// The span is named by the route's template too, never by the path:
		// ids in span names give every trace backend unbounded cardinality.
		span := trace.SpanFromContext(ctx)
		span.SetName(r.Method + " " + strings.TrimPrefix(pattern, r.Method+" "))
		span.SetAttributes(attribute.String("http.route", pattern))
		// The request metrics (otelhttp's http.server.request.duration)
		// carry the same template, without the method, which is an
		// attribute of its own.
		if labeler, ok := otelhttp.LabelerFromContext(r.Context()); ok {
			labeler.Add(attribute.String("http.route", strings.TrimPrefix(pattern, r.Method+" ")))
		}
		level, msg := slog.LevelInfo, "http request"
		switch {
		case rec.status == http.StatusGatewayTimeout:
			level, msg = slog.LevelWarn, "http request timed out"
		case rec.status >= 500:
			level = slog.LevelError
		case inner.Pattern == "GET /healthz" || inner.Pattern == "GET /readyz":
			level = slog.LevelDebug
		}
		if !logger.Enabled(ctx, level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("http_method", r.Method),
			slog.String("route", pattern),
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
		}
		if rpc != "" {
			attrs = append(attrs, slog.String("rpc", rpc))
		}
		if subject := logging.NotedSubject(ctx); subject != "" {
			attrs = append(attrs, slog.String("subject", subject))
		}
		logger.LogAttrs(ctx, level, msg, attrs...)
	})
}

// statusRecorder remembers the status a handler answered with. It keeps
// flushing possible, for streamed answers (the export).
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.status, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(b)
}

// Flush passes a flush on, as grpc-gateway streams server-streaming RPCs.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
