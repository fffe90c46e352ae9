package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// TestReadinessReportsNATS: /readyz stays 200 while the services serve
// with their NATS down (they keep writes in their outboxes), and reports
// each one's NATS under "dependencies"; a service without a NATS entry is
// left out of them.
func TestReadinessReportsNATS(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	withNATS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(logger)
	srv.Health.SetServingStatus("nats", healthpb.HealthCheckResponse_NOT_SERVING)
	testkit.Background(t, func(ctx context.Context) error { return srv.Serve(ctx, withNATS) })
	without, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain := grpcserver.New(logger)
	testkit.Background(t, func(ctx context.Context) error { return plain.Serve(ctx, without) })

	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, b := withNATS.Addr().String(), without.Addr().String()
	cfg := gateway.Config{CustomerAddr: a, InteractionAddr: a, LoyaltyAddr: a, SegmentationAddr: a, NotificationAddr: a,
		AccessAddr: b, Listener: httpLis, Auth: testAuth}
	testkit.Background(t, func(ctx context.Context) error { return gateway.Run(ctx, cfg, logger) })
	url := "http://" + httpLis.Addr().String() + "/readyz"

	type readyz struct {
		Ready        bool                         `json:"ready"`
		Services     map[string]string            `json:"services"`
		Dependencies map[string]map[string]string `json:"dependencies"`
	}
	get := func() (int, readyz) {
		var r readyz
		code, body := request(t, http.MethodGet, url, "", nil)
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("readyz body %q: %v", body, err)
		}
		return code, r
	}
	code, r := get()
	if code != http.StatusOK || !r.Ready {
		t.Fatalf("readyz with NATS down = %d %+v, want 200 ready", code, r)
	}
	if got := r.Dependencies["loyalty"]["nats"]; got != "NOT_SERVING" {
		t.Errorf("loyalty's nats = %q, want NOT_SERVING (%+v)", got, r)
	}
	if _, ok := r.Dependencies["access"]; ok {
		t.Errorf("access, without NATS, has dependencies %+v", r.Dependencies["access"])
	}
	srv.Health.SetServingStatus("nats", healthpb.HealthCheckResponse_SERVING)
	if code, r = get(); code != http.StatusOK || r.Dependencies["customer"]["nats"] != "SERVING" {
		t.Errorf("readyz with NATS up = %d %+v, want customer's nats SERVING", code, r)
	}
}
