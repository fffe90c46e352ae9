// Package notification is the notification service: it writes to customers
// (a welcome message for every new customer, for now) through a channel,
// keeps every message and its outcome, and publishes notification.message.*
// events. Run is its whole lifecycle, used by cmd/notification and by
// `guanxi dev`.
package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/guanxi-crm/guanxi/platform/config"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	grpcport "github.com/guanxi-crm/guanxi/services/notification/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// EnvPrefix prefixes every configuration variable of the service.
const EnvPrefix = "GUANXI_NOTIFICATION_"

// drainTimeout bounds how long shutdown waits for NATS to flush.
const drainTimeout = 5 * time.Second

// Sender delivers a message on its channel; an error is the channel's
// refusal and becomes the message's failure reason.
type Sender = domain.Sender

// Delivery is what a Sender is asked to deliver.
type Delivery = domain.Delivery

// Config is the service's configuration, read from GUANXI_NOTIFICATION_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7105"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/notification.db"`
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// DispatchInterval is how often queued messages that no commit woke the
	// dispatcher for (left behind by a crash) are looked for.
	DispatchInterval time.Duration `env:"DISPATCH_INTERVAL" envDefault:"5s"`

	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Sender, when set, delivers messages instead of the default sink,
	// which stores deliveries in the database without sending them.
	Sender Sender `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return config.Load[Config](EnvPrefix)
}

// Run runs the service until ctx is done (returning nil) or a part of it
// fails (returning the error).
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (err error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "starting notification service", configAttrs(cfg)...)

	templates, err := domain.NewTemplates()
	if err != nil {
		return fmt.Errorf("run notification: %w", err)
	}

	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return fmt.Errorf("run notification: %w", err)
	}

	nc, js, err := platformevents.Connect(cfg.NATSURL, "guanxi-notification", logger)
	if err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	defer drain(nc, logger)
	if err := platformevents.EnsureStream(ctx, js, notificationv1.Stream, notificationv1.StreamSubjects); err != nil {
		return fmt.Errorf("run notification: %w", err)
	}

	outbox := platformevents.NewOutbox(db, js, logger)
	store := sqlstore.New(db, events.NewPublisher(outbox))
	sender := cfg.Sender
	if sender == nil {
		sender = channels.NewSink(db, logger)
	}
	dispatcher := app.NewDispatcher(store, sender, logger, cfg.DispatchInterval)
	svc := app.NewService(store, templates, dispatcher)

	lis := cfg.Listener
	if lis == nil {
		var lc net.ListenConfig
		if lis, err = lc.Listen(ctx, "tcp", cfg.GRPCAddr); err != nil {
			return fmt.Errorf("run notification: listen: %w", err)
		}
	}
	srv := grpcserver.New(logger)
	notificationv1.RegisterNotificationServiceServer(srv, grpcport.NewServer(svc))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return outbox.Run(gctx) })
	g.Go(func() error { return dispatcher.Run(gctx) })
	g.Go(func() error {
		err := platformevents.Consume(gctx, js, events.CustomersConsumer(), events.CustomerCreatedHandler(svc), logger)
		if err != nil && gctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Stopped while still setting up the consumer: a shutdown, not
			// a failure.
			return nil
		}
		return err
	})
	g.Go(func() error { return srv.Serve(gctx, lis) })
	logger.InfoContext(ctx, "notification service serving", slog.String("addr", lis.Addr().String()))
	if err := g.Wait(); err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	logger.InfoContext(ctx, "notification service stopped")
	return nil
}

// configAttrs is config.Attrs with the in-process fields (a listener, a
// sender) shown by what they are rather than dumped field by field.
func configAttrs(cfg Config) []slog.Attr {
	attrs := config.Attrs(cfg)
	out := attrs[:0]
	for _, a := range attrs {
		if a.Key != "Listener" && a.Key != "Sender" {
			out = append(out, a)
		}
	}
	if cfg.Listener != nil {
		out = append(out, slog.String("Listener", cfg.Listener.Addr().String()))
	}
	sender := "sink"
	if cfg.Sender != nil {
		sender = fmt.Sprintf("%T", cfg.Sender)
	}
	return append(out, slog.String("Sender", sender))
}

// drain flushes what is pending on nc and closes it, waiting a bounded time.
func drain(nc *nats.Conn, logger *slog.Logger) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	select {
	case <-closed:
	case <-timer.C:
		logger.Warn("nats drain timed out, closing")
		nc.Close()
	}
}
