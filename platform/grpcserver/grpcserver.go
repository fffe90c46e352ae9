// Package grpcserver builds the gRPC server every guanxi service runs:
// tracing, a log line per call, panic recovery, an error safety net that
// never leaks internal detail, the refusal of text no store can keep (NUL
// characters), the health service, reflection, and graceful shutdown.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/lifecycle"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
)

// DefaultShutdownTimeout is how long Serve waits for in-flight RPCs after its
// context is done before it cuts them off.
const DefaultShutdownTimeout = 10 * time.Second

// internalMessage is all a client learns about an unexpected failure; the
// detail goes to the log.
const internalMessage = "internal error"

// Server is a grpc.Server with the health service attached.
type Server struct {
	*grpc.Server
	// Health reports SERVING for "" from New until the process begins to
	// stop (lifecycle.Stopping) or Serve shuts down; services may set
	// per-service statuses too.
	Health *health.Server
	// ShutdownTimeout bounds GracefulStop; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	logger *slog.Logger
}

// MaxMessageBytes is the largest message a server takes (gRPC's default is
// 4 MiB): as large as the REST edge's default body cap, so that the
// largest batch the API documents (10,000 ingest events) arrives by gRPC
// as it does by REST.
const MaxMessageBytes = 8 << 20

// streamWorkers is how many calls run on long-lived goroutines at once;
// gRPC starts a goroutine of its own for each call beyond them.
const streamWorkers = 32

// New returns a server with the project's stats handler and interceptors,
// health and reflection registered. opts are appended after the defaults;
// interceptors passed with grpc.ChainUnaryInterceptor run inside ours.
func New(logger *slog.Logger, opts ...grpc.ServerOption) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{Health: health.NewServer(), logger: logger}
	all := append([]grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		// The log line goes outermost, so it records the code the caller
		// gets and the time of the whole call.
		grpc.ChainUnaryInterceptor(s.unaryLog, s.unaryErrors, s.unaryRecover, s.unaryText),
		grpc.ChainStreamInterceptor(s.streamLog, s.streamErrors, s.streamRecover, s.streamText),
		// Calls run on long-lived workers while one is free: a goroutine
		// per call grew its stack again on every call that reached the
		// database, a few percent of a busy service's CPU.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
	}, opts...)
	s.Server = grpc.NewServer(all...)
	healthpb.RegisterHealthServer(s.Server, s.Health)
	reflection.Register(s.Server)
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve accepts connections on lis until ctx is done or serving fails. Once
// the process begins to stop (lifecycle.Stopping(ctx), the drain) it reports
// NOT_SERVING and goes on serving; on ctx done it reports NOT_SERVING,
// stops gracefully (in-flight calls finish, new ones go elsewhere) and,
// after ShutdownTimeout, forcibly. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.Server.Serve(lis) }()

	select {
	case err := <-serveErr:
		if err == nil {
			return nil
		}
		return fmt.Errorf("serve grpc: %w", err)
	case <-ctx.Done():
	case <-lifecycle.Stopping(ctx):
		// Not ready from now on: load balancers and health-checking
		// clients take the replica out while it still answers. Shutdown
		// also holds it there, whatever a service sets later.
		s.Health.Shutdown()
		s.logger.Info("grpc server draining: health NOT_SERVING")
	}

	select {
	case err := <-serveErr:
		if err == nil {
			return nil
		}
		return fmt.Errorf("serve grpc: %w", err)
	case <-ctx.Done():
	}

	// Tell load balancers to go elsewhere before connections drain.
	s.Health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(stopped)
	}()
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.logger.Warn("grpc graceful stop timed out, stopping", slog.Duration("timeout", timeout))
		s.Stop()
		<-stopped
	}
	if err := <-serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve grpc: %w", err)
	}
	return nil
}

func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(ctx, info.FullMethod, r)
		}
	}()
	return handler(ctx, req)
}

func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(ss.Context(), info.FullMethod, r)
		}
	}()
	return handler(srv, ss)
}

func (s *Server) recovered(ctx context.Context, method string, r any) error {
	s.logger.ErrorContext(ctx, "grpc handler panic",
		slog.String("method", method),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())),
	)
	return status.Error(codes.Internal, internalMessage)
}

func (s *Server) unaryErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return resp, s.safeError(ctx, info.FullMethod, err)
	}
	return resp, nil
}

func (s *Server) streamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := handler(srv, ss); err != nil {
		return s.safeError(ss.Context(), info.FullMethod, err)
	}
	return nil
}

// safeError lets status errors through and turns anything else into a
// status, so a forgotten mapping in a service never leaks driver messages
// (SQL, file paths) to clients.
func (s *Server) safeError(ctx context.Context, method string, err error) error {
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.Unavailable {
			// A dependency's Unavailable, passed on, carries the client's
			// transport text ("dial tcp 10.0.3.7:7101: connection
			// refused"): which service is down and where it lives is for
			// the log.
			s.logger.WarnContext(ctx, "grpc call unavailable", slog.String("method", method), slog.Any("error", err))
			return rpcerr.Unavailable()
		}
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, context.Canceled.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	}
	s.logger.ErrorContext(ctx, "grpc handler error", slog.String("method", method), slog.Any("error", err))
	return status.Error(codes.Internal, internalMessage)
}
