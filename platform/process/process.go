// Package process is what every guanxi command does around its service: the
// logger, OpenTelemetry, signal handling and the final flush, so that each
// main is only "load config, run".
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

// Run loads the configuration, builds a JSON logger on stdout at
// GUANXI_LOG_LEVEL (default info), sets up OpenTelemetry (exporting only
// when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint; see
// telemetry.Config), tunes the garbage collector (TuneGC), and runs run until
// SIGINT or SIGTERM. The caller's main exits 1 when Run returns an error.
func Run[C any](name string, load func() (C, error), run func(context.Context, C, *slog.Logger) error) error {
	TuneGC()
	level, err := logging.ParseLevel(os.Getenv("GUANXI_LOG_LEVEL"))
	if err != nil {
		return fmt.Errorf("GUANXI_LOG_LEVEL: %w", err)
	}
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger := logging.New(os.Stdout, name, level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: name})
	if err != nil {
		return err
	}
	runErr := run(ctx, cfg, logger)
	if runErr != nil {
		logger.Error("stopped", slog.Any("error", runErr))
	}
	// The signal context is done by now; flush telemetry on a fresh one.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return errors.Join(runErr, shutdown(flushCtx))
}
