package grpcserver

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/logging"
)

// quietMethods are logged at debug level only: load balancers and the
// REST edge's readiness probe check health every few seconds.
var quietMethods = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// unaryLog writes one line per call when it ends: the full method, the
// status code, how long it took and the verified subject (the logger adds
// the trace id). Never the request or its metadata, which may carry
// personal data or credentials.
func (s *Server) unaryLog(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ctx = logging.WithRequestNote(ctx)
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, err, time.Since(start))
	return resp, err
}

func (s *Server) streamLog(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx := logging.WithRequestNote(ss.Context())
	err := handler(srv, &notedStream{ServerStream: ss, ctx: ctx})
	s.logCall(ctx, info.FullMethod, err, time.Since(start))
	return err
}

type notedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *notedStream) Context() context.Context { return s.ctx }

func (s *Server) logCall(ctx context.Context, method string, err error, took time.Duration) {
	code := status.Code(err)
	level := callLevel(code)
	for _, prefix := range quietMethods {
		if strings.HasPrefix(method, prefix) && code == codes.OK {
			level = slog.LevelDebug
		}
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
	}
	if subject := logging.NotedSubject(ctx); subject != "" {
		attrs = append(attrs, slog.String("subject", subject))
	}
	s.logger.LogAttrs(ctx, level, "grpc call", attrs...)
}

// callLevel is info for calls that went as the caller asked or failed by
// the caller's own doing, warn for calls cut short or refused for want of
// capacity, error for the server's faults.
func callLevel(code codes.Code) slog.Level {
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		return slog.LevelError
	case codes.DeadlineExceeded, codes.Unavailable, codes.ResourceExhausted:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
