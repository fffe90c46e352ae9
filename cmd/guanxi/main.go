// Command guanxi is the one CLI of guanxi. `guanxi dev` runs the whole suite
// in one process with nothing to install; `guanxi customers` imports and
// exports customers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/bench"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/keyscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
)

const usage = `guanxi: an open-source CRM as gRPC microservices.

Usage:
  guanxi dev [flags]                     run the whole suite in one process (embedded NATS, SQLite)
  guanxi customers import [flags] FILE   import customers from a CSV or NDJSON file
  guanxi customers export [flags]        export customers as NDJSON or CSV
  guanxi keys create|list|revoke         manage API keys (admins)
  guanxi help                            show this help

Run "guanxi <command> -h" for a command's flags.
`

func main() {
	// The suite, the bench and the import client all run services or
	// stream many rows in this process.
	process.TuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "guanxi:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "customers":
		return customerscli.Run(ctx, args[1:], stdout, stderr)
	case "keys":
		return keyscli.Run(ctx, args[1:], stdout, stderr)
	case "bench":
		// Not in the usage: `make bench` runs it.
		return bench.Run(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := suite.DefaultConfig()
	fs := flag.NewFlagSet("guanxi dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Host, "host", cfg.Host, "address every server listens on")
	fs.IntVar(&cfg.HTTPPort, "http-port", cfg.HTTPPort, "REST edge port")
	fs.IntVar(&cfg.GRPCPort, "grpc-port", cfg.GRPCPort, "first gRPC port: customer, then interaction, loyalty, segmentation, notification")
	fs.IntVar(&cfg.NATSPort, "nats-port", cfg.NATSPort, "embedded NATS client port")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (SQLite files, JetStream store, log)")
	logFile := fs.String("log", "", `log file (default <data>/guanxi.log; "-" for stderr)`)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	level, err := logging.ParseLevel(*logLevel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logPath := *logFile
	if logPath == "" {
		logPath = filepath.Join(cfg.DataDir, "guanxi.log")
	}
	logOut := stderr
	if logPath != "-" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	logger := logging.New(logOut, "guanxi-dev", level)

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "guanxi"})
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()

	err = suite.Run(ctx, cfg, logger, func(e suite.Endpoints) {
		printBanner(stdout, e, cfg.DataDir, logPath)
	})
	if err != nil {
		logger.Error("suite stopped", slog.Any("error", err))
		return err
	}
	fmt.Fprintln(stdout, "guanxi dev stopped cleanly.")
	return nil
}

func printBanner(w io.Writer, e suite.Endpoints, dataDir, logPath string) {
	fmt.Fprintf(w, "guanxi dev is running. Data in %s, log in %s.\n", dataDir, logPath)
	fmt.Fprintf(w, "  REST edge   %s  (OpenAPI %s/openapi.json, %s/readyz)\n", e.HTTP, e.HTTP, e.HTTP)
	for _, s := range e.Services {
		fmt.Fprintf(w, "  gRPC %-13s %s\n", s.Name, s.Addr)
	}
	fmt.Fprintf(w, "  NATS        %s\n", e.NATS)
	fmt.Fprintf(w, "Every call needs a credential. The bootstrap admin's API key, kept in %s:\n  %s\n", e.AdminKeyFile, e.AdminKey)
	fmt.Fprintf(w, "  curl -H \"Authorization: ApiKey $(cat %s)\" %s/v1/customers\n", e.AdminKeyFile, e.HTTP)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
