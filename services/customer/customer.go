// Package customer is the customer service: the one customer record the
// whole company shares, served over gRPC, with every change published to
// the rest of guanxi as events on the CUSTOMER stream.
package customer

import (
	"context"
	"log/slog"
	"net"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
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
	// Metrics is METRICS_ADDR: where the service serves Prometheus
	// metrics, an admin address (see telemetry.Metrics); empty for none.
	telemetry.Metrics
	// Broker is NATS_URL and the NATS_* auth (see servicehost.Broker).
	servicehost.Broker
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
	return servicehost.LoadConfig("GUANXI_CUSTOMER_", func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations, NATS with the CUSTOMER stream and the gRPC server
// with its policy (the service holds the customers, so no customer scope is
// installed); build adds the rest.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "customer", Migrations: migrations.FS, Policy: grpcport.Policy,
		Stream: customerv1.Stream, StreamSubjects: []string{customerv1.StreamSubjects},
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
		Broker: cfg.Broker,
	}, logger, build(cfg))
}

// build makes the service on a started host: the store publishing through
// the outbox, the use cases and the gRPC server.
func build(cfg Config) servicehost.Build {
	return func(_ context.Context, h *servicehost.Host) error {
		// PostgreSQL stores import batches side by side on two connections;
		// SQLite has one writer, so a second would only wait for it.
		writers := 1
		if h.DB.Dialect == sqldb.Postgres {
			writers = 2
		}
		customers := app.New(sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()), app.WithImportWriters(writers), app.WithCountLimit(cfg.ListCountLimit))
		customerv1.RegisterCustomerServiceServer(h.Server, grpcport.NewServer(customers))
		return nil
	}
}
