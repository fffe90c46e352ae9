// Package natsembed runs a NATS server with JetStream inside the process,
// for `guanxi dev` and for tests, so neither needs a NATS install.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server keeps its data and listens.
type Config struct {
	// Dir holds the JetStream file store.
	Dir string
	// Host defaults to 127.0.0.1, so the dev broker is not reachable from
	// the network by accident.
	Host string
	// Port is the client port; -1 (or 0) picks a free one. nats-server
	// itself reads 0 as 4222, the standard port, which may belong to
	// another server on the machine, so 0 never means that here.
	Port int
}

// Start starts the server and waits until it accepts clients. The caller
// stops it with Shutdown (and WaitForShutdown); srv.ClientURL() gives the
// URL clients connect to.
func Start(cfg Config, logger *slog.Logger) (*server.Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("start nats: Dir is required for the JetStream store")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "guanxi-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		// The host process owns signal handling and shutdown order.
		NoSigs: true,
		NoLog:  logger == nil,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if logger != nil {
		srv.SetLoggerV2(slogAdapter{logger.With(slog.String("component", "nats-server"))}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("start nats: server not ready for connections after 10s")
	}
	return srv, nil
}

// slogAdapter sends nats-server's printf-style log lines to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
