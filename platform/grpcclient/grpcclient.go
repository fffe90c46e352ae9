// Package grpcclient dials other guanxi services with the project's client
// defaults: tracing, retries on UNAVAILABLE and a default deadline.
package grpcclient

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// DefaultTimeout bounds calls whose context has no deadline, so a hung
// dependency cannot hold a request forever; DialWith sets others.
const DefaultTimeout = 5 * time.Second

// serviceConfig retries only UNAVAILABLE: the call never reached a handler
// (or the server was going away), so retrying cannot apply a write twice.
// Calls are balanced round robin over every address the target resolves
// to: a DNS name of N replicas (a headless Kubernetes service, several A
// records) spreads calls over all of them, and a replica that stops or
// dies is left out until it answers again, where pick_first kept one
// connection to one replica.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// Deadlines are the deadlines a connection gives calls whose context has
// none; a deadline the caller set is kept.
type Deadlines struct {
	// Default bounds every call; zero means DefaultTimeout.
	Default time.Duration
	// Methods overrides Default by full method name
	// ("/guanxi.segmentation.v1.SegmentationService/RefitModel").
	Methods map[string]time.Duration
}

// For returns the deadline of calls to method.
func (d Deadlines) For(method string) time.Duration {
	if t, ok := d.Methods[method]; ok && t > 0 {
		return t
	}
	if d.Default > 0 {
		return d.Default
	}
	return DefaultTimeout
}

// Dial creates a client connection to target (connecting lazily) whose
// calls get DefaultTimeout unless their context has a deadline. Transport
// is plaintext unless the process's TLS files (see tlsconfig) or opts
// supply credentials; opts are applied after the defaults and so override
// them.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return DialWith(target, Deadlines{}, opts...)
}

// DialWith is Dial with the deadlines of d.
func DialWith(target string, d Deadlines, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	secure, err := tlsconfig.ProcessDialOptions()
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	all := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithChainUnaryInterceptor(d.unary),
	}, secure...) // secure is shared: never append to it
	all = append(all, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

func (d Deadlines) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.For(method))
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
