// Command notification runs the notification service on its own,
// configured by GUANXI_NOTIFICATION_* environment variables.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"

	"github.com/guanxi-crm/guanxi/services/notification"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "notification:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := notification.LoadConfig()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if s := os.Getenv("GUANXI_LOG_LEVEL"); s != "" {
		if level, err = logging.ParseLevel(s); err != nil {
			return err
		}
	}
	logger := logging.New(os.Stdout, "notification", level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:  "notification",
		OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		Insecure:     os.Getenv("OTEL_EXPORTER_OTLP_INSECURE") == "true",
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := shutdown(context.Background()); err != nil {
			logger.Warn("telemetry shutdown failed", slog.Any("error", err))
		}
	}()

	return notification.Run(ctx, cfg, logger)
}
