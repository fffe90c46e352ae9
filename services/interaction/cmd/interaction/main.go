// Command interaction runs the guanxi interaction service alone, configured
// by GUANXI_INTERACTION_* environment variables.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/services/interaction"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "interaction:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := interaction.LoadConfig()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if s := os.Getenv("GUANXI_LOG_LEVEL"); s != "" {
		if level, err = logging.ParseLevel(s); err != nil {
			return err
		}
	}
	logger := logging.New(os.Stdout, "interaction", level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "guanxi-interaction",
		OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		Insecure:     os.Getenv("OTEL_EXPORTER_OTLP_INSECURE") == "true",
	})
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			logger.Warn("telemetry shutdown", slog.Any("error", err))
		}
	}()

	return interaction.Run(ctx, cfg, logger)
}
