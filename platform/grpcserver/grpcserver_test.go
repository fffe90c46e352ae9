package grpcserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/testkit"
)

// testService is a hand-written service description, so the test needs no
// generated code: each method behaves as its name says.
var testService = grpc.ServiceDesc{
	ServiceName: "guanxi.test.Boom",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Panic", Handler: unary(func(context.Context) error { panic("boom") })},
		{MethodName: "Plain", Handler: unary(func(context.Context) error { return errors.New("pq: secret table detail") })},
		{MethodName: "Wrapped", Handler: unary(func(context.Context) error {
			return fmt.Errorf("get customer: %w", status.Error(codes.NotFound, "customer not found"))
		})},
		{MethodName: "Deadline", Handler: unary(func(context.Context) error { return fmt.Errorf("query: %w", context.DeadlineExceeded) })},
		{MethodName: "OK", Handler: unary(func(context.Context) error { return nil })},
		{MethodName: "DependencyDown", Handler: unary(callClosedPort)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "StreamPanic", ServerStreams: true, Handler: func(any, grpc.ServerStream) error { panic("stream boom") }},
		{StreamName: "StreamPlain", ServerStreams: true, Handler: func(any, grpc.ServerStream) error { return errors.New("disk detail") }},
	},
}

// callClosedPort calls a service that is not listening, as a handler does
// whose dependency is down, and returns the client's error wrapped.
func callClosedPort(ctx context.Context) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := lis.Addr().String()
	lis.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return fmt.Errorf("customer service: get customer: %w", err)
}

func unary(fn func(context.Context) error) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(emptypb.Empty)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) {
			if err := fn(ctx); err != nil {
				return nil, err
			}
			return &emptypb.Empty{}, nil
		}
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/guanxi.test.Boom/x"}, h)
	}
}

type fixture struct {
	conn   *grpc.ClientConn
	srv    *grpcserver.Server
	logs   *testkit.Buffer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T) *fixture {
	t.Helper()
	logs := &testkit.Buffer{}
	srv := grpcserver.New(slog.New(slog.NewJSONHandler(logs, nil)))
	srv.RegisterService(&testService, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
	})
	return &fixture{conn: conn, srv: srv, logs: logs, cancel: cancel, done: done}
}

func TestErrorsAndPanics(t *testing.T) {
	t.Parallel()
	f := start(t)
	tests := []struct {
		method   string
		wantCode codes.Code
		wantMsg  string
		wantLog  string
	}{
		{"Panic", codes.Internal, "internal error", "boom"},
		{"Plain", codes.Internal, "internal error", "pq: secret table detail"},
		{"Wrapped", codes.NotFound, "customer not found", ""},
		{"Deadline", codes.DeadlineExceeded, "", ""},
		{"OK", codes.OK, "", ""},
		// The client's status, wrapped, still says Unavailable; its text
		// (the address dialled) goes to the log only.
		{"DependencyDown", codes.Unavailable, "unavailable", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := f.conn.Invoke(ctx, "/guanxi.test.Boom/"+tt.method, &emptypb.Empty{}, &emptypb.Empty{})
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			if tt.wantMsg != "" && !strings.Contains(st.Message(), tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", st.Message(), tt.wantMsg)
			}
			if strings.Contains(st.Message(), "secret") || strings.Contains(st.Message(), "dial") || strings.Contains(st.Message(), "127.0.0.1") {
				t.Errorf("internal detail leaked: %q", st.Message())
			}
			if tt.wantLog != "" && !strings.Contains(f.logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, f.logs.String())
			}
		})
	}
}

func TestStreamErrorsAndPanics(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, method := range []string{"StreamPanic", "StreamPlain"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stream, err := f.conn.NewStream(ctx, &testService.Streams[0], "/guanxi.test.Boom/"+method)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		err = stream.RecvMsg(&emptypb.Empty{})
		cancel()
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Errorf("%s: got %v, want Internal \"internal error\"", method, err)
		}
	}
	if !strings.Contains(f.logs.String(), "stream boom") || !strings.Contains(f.logs.String(), "disk detail") {
		t.Errorf("stream failures not logged:\n%s", f.logs.String())
	}
}

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	resp, err := healthpb.NewHealthClient(f.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, want SERVING", resp.GetStatus())
	}

	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range r.GetListServicesResponse().GetService() {
		got[s.GetName()] = true
	}
	for _, want := range []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "guanxi.test.Boom"} {
		if !got[want] {
			t.Errorf("reflection does not list %s (got %v)", want, got)
		}
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.conn.Invoke(ctx, "/guanxi.test.Boom/OK", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	f.cancel()
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatalf("Serve returned %v, want nil", err)
		}
		f.done <- nil // let Cleanup's receive finish
	case <-ctx.Done():
		t.Fatal("Serve did not return after cancel")
	}
	resp, err := f.srv.Health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after shutdown = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
	}
}

func TestServeReturnsListenerError(t *testing.T) {
	t.Parallel()
	srv := grpcserver.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis.Close()
	if err := srv.Serve(context.Background(), lis); err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
}
