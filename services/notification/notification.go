// Package notification is the notification service: it writes to customers
// (a welcome message for every new customer, for now) through a channel
// their consent allows, keeps every message and its outcome, and publishes
// notification.message.* events. It follows the customer service's consent
// changes, merges (re-keying messages and consents) and erasures (removing
// the personal data of messages, and never sending queued ones). Run is its whole lifecycle, used by cmd/notification and by
// `guanxi dev`.
package notification

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
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
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	templates, err := domain.NewTemplates()
	if err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "notification",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		Stream:         notificationv1.Stream,
		StreamSubjects: []string{notificationv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
	}, logger)
	if err != nil {
		return fmt.Errorf("run notification: %w", err)
	}

	store := sqlstore.New(h.DB, events.NewPublisher(h.Outbox))
	sender := cfg.Sender
	if sender == nil {
		sender = channels.NewSink(h.DB, h.Logger)
	}
	dispatcher := app.NewDispatcher(store, sender, h.Logger, cfg.DispatchInterval)
	svc := app.NewService(store, templates, dispatcher)
	notificationv1.RegisterNotificationServiceServer(h.Server, grpcport.NewServer(svc))
	h.Go("dispatch", dispatcher.Run)
	h.Consume(events.CustomersConsumer(), events.CustomersHandler(svc))
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	return nil
}
