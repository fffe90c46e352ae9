// Command gateway runs guanxi's REST edge in front of the five services.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

func main() {
	level, err := logging.ParseLevel(os.Getenv("GUANXI_LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
	logger := logging.New(os.Stdout, "gateway", level)
	if err := run(logger); err != nil {
		logger.Error("gateway stopped", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := gateway.LoadConfig()
	if err != nil {
		return err
	}
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "gateway",
		OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
	})
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()
	return gateway.Run(ctx, cfg, logger)
}
