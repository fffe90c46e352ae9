// Command loyalty runs the loyalty service on its own, configured by
// GUANXI_LOYALTY_* environment variables.
package main

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

	"github.com/guanxi-crm/guanxi/services/loyalty"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loyalty:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := loyalty.LoadConfig()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if s := os.Getenv("GUANXI_LOG_LEVEL"); s != "" {
		if level, err = logging.ParseLevel(s); err != nil {
			return err
		}
	}
	logger := logging.New(os.Stdout, "loyalty", level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "loyalty",
		OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		Insecure:     os.Getenv("OTEL_EXPORTER_OTLP_INSECURE") == "true",
	})
	if err != nil {
		return err
	}
	runErr := loyalty.Run(ctx, cfg, logger)
	// The signal context is done by now; flush telemetry on a fresh one.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return errors.Join(runErr, shutdown(flushCtx))
}
