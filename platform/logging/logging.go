// Package logging builds the project's slog loggers: JSON lines carrying the
// service name and, when a record is logged with a traced context, the
// OpenTelemetry trace and span ids so logs and traces can be joined.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// New returns a JSON logger writing to w at the given level, tagging every
// record with service and with trace_id/span_id from the record's context.
func New(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(TraceHandler{Handler: h}).With(slog.String("service", service))
}

// ParseLevel parses "debug", "info", "warn"/"warning" or "error" (any case),
// and slog's offset forms such as "info+2"; empty means info.
func ParseLevel(s string) (slog.Level, error) {
	if strings.TrimSpace(s) == "" {
		return slog.LevelInfo, nil
	}
	if strings.EqualFold(strings.TrimSpace(s), "warning") {
		return slog.LevelWarn, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("parse log level %q: %w", s, err)
	}
	return l, nil
}

// TraceHandler wraps a slog.Handler and adds trace_id and span_id attributes
// taken from the span in each record's context.
type TraceHandler struct {
	slog.Handler
}

// Handle adds the trace attributes, if any, and passes the record on.
func (h TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return TraceHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h TraceHandler) WithGroup(name string) slog.Handler {
	return TraceHandler{Handler: h.Handler.WithGroup(name)}
}
