package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/guanxi-crm/guanxi/platform/lifecycle"
)

// notReadyWhenStopping answers /readyz with 503 once the process begins to
// stop (lifecycle.Stopping(ctx)), so a load balancer takes this edge out
// during the drain while it still serves what reaches it; until then it
// is ready.
func notReadyWhenStopping(ctx context.Context, ready http.Handler) http.Handler {
	stopping := lifecycle.Stopping(ctx)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stopping:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "stopping": true})
		default:
			ready.ServeHTTP(w, r)
		}
	})
}

// drainWhenStopping closes each kept-alive connection after its next
// answer once the process begins to stop, so clients holding one open
// reconnect (through the load balancer, to another edge) during the drain
// instead of finding it closed afterwards.
func drainWhenStopping(ctx context.Context, srv *http.Server, logger *slog.Logger) {
	stopping := lifecycle.Stopping(ctx)
	if stopping == nil {
		return
	}
	go func() {
		select {
		case <-stopping:
			srv.SetKeepAlivesEnabled(false)
			logger.Info("gateway draining: /readyz 503, connections closed after their answers")
		case <-ctx.Done():
		}
	}()
}
