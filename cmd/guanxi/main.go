// Command guanxi is the one CLI of guanxi. `guanxi dev` runs the whole suite
// in one process with nothing to install; `guanxi customers` imports and
// exports customers, `guanxi keys` manages API keys, both finding the
// running suite through its data directory.
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
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/bench"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/chaos"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/configdoc"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/eventscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/keyscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/version"
)

const usage = `guanxi: an open-source CRM as gRPC microservices.

Usage:
  guanxi dev [flags]                     run the whole suite in one process (embedded NATS, SQLite)
  guanxi customers import [flags] FILE   import customers from a CSV or NDJSON file
  guanxi customers export [flags]        export customers as NDJSON or CSV
  guanxi keys create|list|revoke         manage API keys (admins)
  guanxi events tail|dlq                 watch events as JSON; list and replay dead letters (operators)
  guanxi version                         print the release this binary was built from
  guanxi help                            show this help

Run "guanxi <command> -h" for a command's flags. The client commands find the
running guanxi dev through its data directory (-data, default .guanxi).
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

// run runs the command of args. Asking for help (-h anywhere a flag set
// reads it) is not a failure: the usage was printed and the exit status is 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := runCommand(ctx, args, stdout, stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	case "events":
		return eventscli.Run(ctx, args[1:], stdout, stderr)
	case "bench":
		// Not in the usage: `make bench` runs it.
		return bench.Run(ctx, args[1:], stdout, stderr)
	case "chaos":
		// Not in the usage: `make chaos` runs it.
		return chaos.Run(ctx, args[1:], stdout, stderr)
	case "nats-node":
		// Not in the usage: a NATS node of `guanxi chaos`, one per process.
		return deploy.RunNATSNode(ctx, args[1:], stderr)
	case "config-doc":
		// Not in the usage: `make config-doc` runs it in the source tree.
		return runConfigDoc(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return nil
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
	fs.IntVar(&cfg.GRPCPort, "grpc-port", cfg.GRPCPort, "first of six gRPC ports: customer, then interaction, loyalty, segmentation, notification and access")
	fs.IntVar(&cfg.NATSPort, "nats-port", cfg.NATSPort, "embedded NATS client port")
	fs.IntVar(&cfg.MetricsPort, "metrics-port", cfg.MetricsPort, "port serving the whole process's Prometheus metrics at /metrics (-1 for none)")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (SQLite files, JetStream store, log, admin key; endpoints.json tells the CLI the ports)")
	logFile := fs.String("log", "", `log file (default <data>/guanxi.log; "-" for stderr)`)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: guanxi dev [flags]

Runs the whole suite in one process: an embedded NATS JetStream server, six
gRPC services (customer, interaction, loyalty, segmentation, notification,
access), each with its own SQLite file in the data directory, and the REST
edge. Services also read their GUANXI_<SERVICE>_* variables (see
docs/configuration.md); addresses, databases and NATS come from these flags.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("dev: unexpected argument %q", fs.Arg(0))
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

	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "guanxi", Prometheus: cfg.MetricsPort >= 0})
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

// runConfigDoc writes the configuration reference, generated from the
// configuration structs and their comments in the source tree.
func runConfigDoc(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi config-doc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write to this file (default stdout), e.g. docs/configuration.md")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: guanxi config-doc [-o FILE]\n\nWrites the configuration reference from the configuration structs; run it in the source tree.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := configdoc.FindRoot(".")
	if err != nil {
		return err
	}
	doc, err := configdoc.Generate(root)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(doc)
		return err
	}
	return os.WriteFile(*out, doc, 0o644)
}

// versionLine is the release, and for a build without one the commit Go
// recorded, so a bug report names what was run.
func versionLine() string {
	v := version.Version
	if info, ok := debug.ReadBuildInfo(); ok && v == version.Dev {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "+dirty"
				}
			}
		}
		if rev != "" {
			v += " (" + rev[:min(len(rev), 12)] + modified + ")"
		}
	}
	return fmt.Sprintf("guanxi %s %s/%s %s", v, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func printBanner(w io.Writer, e suite.Endpoints, dataDir, logPath string) {
	fmt.Fprintf(w, "guanxi dev is running. Data in %s, log in %s.\n", dataDir, logPath)
	fmt.Fprintf(w, "  REST edge   %s  (OpenAPI %s/openapi.json, %s/readyz)\n", e.HTTP, e.HTTP, e.HTTP)
	for _, s := range e.Services {
		fmt.Fprintf(w, "  gRPC %-13s %s\n", s.Name, s.Addr)
	}
	if e.Metrics != "" {
		fmt.Fprintf(w, "  metrics     %s  (Prometheus, every service of the process)\n", e.Metrics)
	}
	fmt.Fprintf(w, "  NATS        %s  (credentials required: an integration's NKey seed is %s, inbox prefix %s)\n",
		e.NATS, e.NATSSeedFile, e.NATSInboxPrefix)
	fmt.Fprintf(w, "Every call needs a credential. The bootstrap admin's API key, kept in %s:\n  %s\n", e.AdminKeyFile, e.AdminKey)
	fmt.Fprintf(w, "  curl -H \"Authorization: ApiKey $(cat %s)\" %s/v1/customers\n", e.AdminKeyFile, e.HTTP)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
