// Package customer is the customer service: the one customer record the
// whole company shares, served over gRPC, with every change published to
// the rest of guanxi as events on the CUSTOMER stream.
package customer

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/config"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	eventsadapter "github.com/guanxi-crm/guanxi/services/customer/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	grpcport "github.com/guanxi-crm/guanxi/services/customer/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/customer/migrations"
)

// Config is the service's configuration, read from GUANXI_CUSTOMER_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7101"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/customer.db"`
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// NATS is how the service authenticates to NATS: credentials (an NKey
	// seed or a .creds file), TLS and inbox prefix, read from
	// GUANXI_CUSTOMER_NATS_* (see events.NATSAuth).
	NATS platformevents.NATSAuth `envPrefix:"NATS_"`
	// ListCountLimit is how many matches ListCustomers counts for its
	// total_size before it stops and reports a lower bound (0: 10,000):
	// each count reads up to this many index entries or rows.
	ListCountLimit int `env:"LIST_COUNT_LIMIT" envDefault:"10000"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth).
	Auth auth.Config `env:"-"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	cfg, err := config.Load[Config]("GUANXI_CUSTOMER_")
	if err != nil {
		return cfg, err
	}
	cfg.Auth, err = auth.LoadConfig()
	return cfg, err
}

// Run runs the service until ctx is done or a component fails. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "customer",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		NATS:           cfg.NATS,
		Stream:         customerv1.Stream,
		StreamSubjects: []string{customerv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
		Auth:           cfg.Auth,
		Policy:         grpcport.Policy,
	}, logger)
	if err != nil {
		return fmt.Errorf("run customer: %w", err)
	}
	// PostgreSQL stores import batches side by side on two connections;
	// SQLite has one writer, so a second would only wait for it.
	writers := 1
	if h.DB.Dialect == sqldb.Postgres {
		writers = 2
	}
	customers := app.New(sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()), app.WithImportWriters(writers), app.WithCountLimit(cfg.ListCountLimit))
	customerv1.RegisterCustomerServiceServer(h.Server, grpcport.NewServer(customers))
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("run customer: %w", err)
	}
	return nil
}
