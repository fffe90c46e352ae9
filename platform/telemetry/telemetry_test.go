package telemetry_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

// These tests change OpenTelemetry globals and the environment, so they do
// not run in parallel.

func TestSetupWithoutEndpointOnlyPropagates(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fields := otel.GetTextMapPropagator().Fields()
	want := map[string]bool{"traceparent": false, "baggage": false}
	for _, f := range fields {
		if _, ok := want[f]; ok {
			want[f] = true
		}
	}
	for f, ok := range want {
		if !ok {
			t.Errorf("propagator does not handle %s (fields %v)", f, fields)
		}
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// receiver is an OTLP trace collector on loopback that keeps the names of
// the spans it is sent and the service names they come from.
type receiver struct {
	collectortrace.UnimplementedTraceServiceServer

	mu       sync.Mutex
	spans    map[string]bool
	services map[string]bool
	got      chan struct{}
}

func (r *receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				r.services[a.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans[s.GetName()] = true
			}
		}
	}
	select {
	case r.got <- struct{}{}:
	default:
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// metricsSink accepts the metrics the process exports alongside.
type metricsSink struct {
	collectormetrics.UnimplementedMetricsServiceServer
}

func (metricsSink) Export(context.Context, *collectormetrics.ExportMetricsServiceRequest) (*collectormetrics.ExportMetricsServiceResponse, error) {
	return &collectormetrics.ExportMetricsServiceResponse{}, nil
}

func (r *receiver) has(span string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spans[span]
}

// TestSpansOfARealCallReachTheCollector sets OTEL_EXPORTER_OTLP_ENDPOINT in
// the specification's URL form, as an operator would, makes a real gRPC
// call between a guanxi server and client, and expects both sides' spans at
// an OTLP receiver.
func TestSpansOfARealCallReachTheCollector(t *testing.T) {
	rcv := &receiver{spans: map[string]bool{}, services: map[string]bool{}, got: make(chan struct{}, 1)}
	collector := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(collector, rcv)
	collectormetrics.RegisterMetricsServiceServer(collector, metricsSink{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = collector.Serve(lis) }()
	t.Cleanup(collector.Stop)

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	ctx := context.Background()
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "telemetry-test"})
	if err != nil {
		t.Fatalf("setup with a URL endpoint: %v", err)
	}

	srv := grpcserver.New(nil)
	srvLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvCtx, srvLis) }()
	conn, err := grpcclient.Dial(srvLis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	stop()
	<-served

	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(flushCtx); err != nil {
		t.Fatalf("flush to the collector: %v", err)
	}
	const span = "grpc.health.v1.Health/Check"
	select {
	case <-rcv.got:
	case <-flushCtx.Done():
		t.Fatal("the collector received nothing")
	}
	if !rcv.has(span) {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		t.Fatalf("span %q not received; got %v", span, rcv.spans)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if !rcv.services["telemetry-test"] {
		t.Errorf("service.name telemetry-test not received; got %v", rcv.services)
	}
}
