package grpcclient_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/guanxi-crm/guanxi/platform/grpcclient"
)

// flaky fails with UNAVAILABLE until it has been called failFirst times and
// records whether each call carried a deadline.
type flaky struct {
	calls       atomic.Int32
	failFirst   int32
	sawDeadline atomic.Bool
	code        codes.Code
}

func (f *flaky) desc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "guanxi.test.Flaky",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Call",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				if err := dec(new(emptypb.Empty)); err != nil {
					return nil, err
				}
				if _, ok := ctx.Deadline(); ok {
					f.sawDeadline.Store(true)
				}
				if f.calls.Add(1) <= f.failFirst {
					return nil, status.Error(f.code, "try again")
				}
				return &emptypb.Empty{}, nil
			},
		}},
	}
}

func serve(t *testing.T, f *flaky) string {
	t.Helper()
	srv := grpc.NewServer()
	srv.RegisterService(f.desc(), struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestDialRetriesUnavailableWithDefaultDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      codes.Code
		failFirst int32
		wantCode  codes.Code
		wantCalls int32
	}{
		{"unavailable is retried", codes.Unavailable, 2, codes.OK, 3},
		{"retries are bounded", codes.Unavailable, 10, codes.Unavailable, 4},
		{"other codes are not retried", codes.Internal, 1, codes.Internal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{failFirst: tt.failFirst, code: tt.code}
			conn, err := grpcclient.Dial(serve(t, f))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			err = conn.Invoke(context.Background(), "/guanxi.test.Flaky/Call", &emptypb.Empty{}, &emptypb.Empty{})
			if status.Code(err) != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tt.wantCode)
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if !f.sawDeadline.Load() {
				t.Error("call without deadline did not get the default one")
			}
		})
	}
}

func TestDialKeepsCallerDeadline(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	conn, err := grpcclient.Dial(serve(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := conn.Invoke(ctx, "/guanxi.test.Flaky/Call", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// TestDialBalancesOverReplicas: a target resolving to two replicas gets
// calls on both (pick_first sent them all to the first).
func TestDialBalancesOverReplicas(t *testing.T) {
	t.Parallel()
	a, b := &flaky{}, &flaky{}
	balancer := manual.NewBuilderWithScheme("replicas")
	balancer.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: serve(t, a)}, {Addr: serve(t, b)}}})
	conn, err := grpcclient.Dial(balancer.Scheme()+":///svc", grpc.WithResolvers(balancer))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Round robin picks among the replicas connected so far: the first
	// calls may all go to the one that connected first, so calls go on
	// until both have had some, within a deadline (pick_first never
	// would).
	deadline := time.Now().Add(10 * time.Second)
	for a.calls.Load() == 0 || b.calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("calls per replica: %d and %d, want both used", a.calls.Load(), b.calls.Load())
		}
		if err := conn.Invoke(context.Background(), "/guanxi.test.Flaky/Call", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
}
