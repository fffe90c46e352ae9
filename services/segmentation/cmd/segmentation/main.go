// Command segmentation runs the segmentation service alone, configured by
// GUANXI_SEGMENTATION_* environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"

	"github.com/guanxi-crm/guanxi/services/segmentation"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "segmentation:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := segmentation.LoadConfig()
	if err != nil {
		return err
	}
	level, err := logging.ParseLevel(envOr("GUANXI_LOG_LEVEL", "info"))
	if err != nil {
		return err
	}
	logger := logging.New(os.Stdout, "segmentation", level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "segmentation",
		OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := shutdown(context.Background()); err != nil {
			logger.Warn("telemetry shutdown", "error", err)
		}
	}()

	if err := segmentation.Run(ctx, cfg, logger); err != nil {
		logger.Error("segmentation failed", "error", err)
		return err
	}
	return nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
