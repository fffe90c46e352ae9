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
// dependency cannot hold a request forever.
const DefaultTimeout = 5 * time.Second

// serviceConfig retries only UNAVAILABLE: the call never reached a handler
// (or the server was going away), so retrying cannot apply a write twice.
const serviceConfig = `{
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

// Dial creates a client connection to target (connecting lazily). Transport
// is plaintext unless the process's TLS files (see tlsconfig) or opts
// supply credentials; opts are applied after the defaults and so override
// them.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	secure, err := tlsconfig.ProcessDialOptions()
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	all := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithChainUnaryInterceptor(defaultTimeout),
	}, secure...) // secure is shared: never append to it
	all = append(all, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

func defaultTimeout(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
