// Package process is what every guanxi command does around its service: the
// logger, OpenTelemetry, signal handling with a graceful stop, and the final
// flush, so that each main is only "load config, run".
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

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/lifecycle"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

// ShutdownPrefix prefixes the shutdown settings every service process
// reads (see Shutdown).
const ShutdownPrefix = "GUANXI_SHUTDOWN_"

// Shutdown is how a process stops on SIGTERM (or SIGINT), read from
// GUANXI_SHUTDOWN_* by every service and the gateway. A stop has two
// steps: first the process reports itself not ready (gRPC health
// NOT_SERVING, the gateway's /readyz 503) and goes on serving for Drain,
// so that load balancers and clients move to other replicas; then it stops
// taking new work and finishes or hands back what it holds (in-flight RPCs
// and HTTP requests, messages, job runs), within Timeout. A second signal
// cuts the drain short.
type Shutdown struct {
	// Drain is how long the process keeps serving after SIGTERM while
	// reporting itself not ready, so that load balancers stop sending to
	// it before it stops listening: a few health-check periods of the load
	// balancer in front (0: stop at once).
	Drain time.Duration `env:"DRAIN" envDefault:"5s"`
	// Timeout bounds the stop after the drain: in-flight RPCs and requests
	// are finished, consumers' messages handled or handed back, job runs
	// ended, NATS and the database closed. A process that has not stopped
	// by then exits 1, saying so (0: no bound).
	Timeout time.Duration `env:"TIMEOUT" envDefault:"30s"`
}

// Run loads the configuration, builds a JSON logger on stdout at
// GUANXI_LOG_LEVEL (default info), sets up OpenTelemetry (exporting only
// when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint, see
// telemetry.Config; metrics for Prometheus when the configuration names a
// metrics address, see telemetry.Metrics), tunes the garbage collector
// (TuneGC), and runs run until SIGINT or SIGTERM, then stops it gracefully
// as Shutdown says. The caller's main exits 1 when Run returns an error.
func Run[C any](name string, load func() (C, error), run func(context.Context, C, *slog.Logger) error) error {
	TuneGC()
	level, err := logging.ParseLevel(os.Getenv("GUANXI_LOG_LEVEL"))
	if err != nil {
		return fmt.Errorf("GUANXI_LOG_LEVEL: %w", err)
	}
	stop, err := config.Load[Shutdown](ShutdownPrefix)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger := logging.New(os.Stdout, name, level)

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	// Servers read the start of the drain from the context
	// (lifecycle.Stopping); ctx itself ends with the drain.
	ctx, stopping := lifecycle.WithStopping(context.Background())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Metrics are read only where the process serves them (its
	// configuration embeds telemetry.Metrics with an address).
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: name, Prometheus: telemetry.ServesMetrics(cfg)})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, logger) }()

	var runErr error
	select {
	case runErr = <-done:
	case sig := <-signals:
		runErr = stopGracefully(sig, signals, stopping, cancel, done, stop, logger)
	}
	if runErr != nil {
		logger.Error("stopped", slog.Any("error", runErr))
	}
	// The run context is done by now; flush telemetry on a fresh one.
	flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelFlush()
	return errors.Join(runErr, shutdown(flushCtx))
}

// stopGracefully is the stop after sig: not ready and serving for the
// drain (a second signal ends it early), then ctx canceled and run given
// Timeout to return.
func stopGracefully(sig os.Signal, signals <-chan os.Signal, stopping func(), cancel context.CancelFunc,
	done <-chan error, stop Shutdown, logger *slog.Logger) error {
	begun := time.Now()
	logger.Info("stopping: not ready, draining", slog.String("signal", sig.String()), slog.Duration("drain", stop.Drain))
	stopping()
	if stop.Drain > 0 {
		drain := time.NewTimer(stop.Drain)
		select {
		case <-drain.C:
		case <-signals:
			logger.Info("second signal: drain cut short")
		case err := <-done:
			drain.Stop()
			cancel()
			return err
		}
		drain.Stop()
	}
	cancel()
	if stop.Timeout <= 0 {
		return <-done
	}
	deadline := time.NewTimer(stop.Timeout)
	defer deadline.Stop()
	select {
	case err := <-done:
		if err == nil {
			logger.Info("stopped gracefully", slog.Duration("took", time.Since(begun)))
		}
		return err
	case <-deadline.C:
		return fmt.Errorf("did not stop within %s of the drain's end (GUANXI_SHUTDOWN_TIMEOUT)", stop.Timeout)
	}
}
