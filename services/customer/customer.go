// Package customer is the customer service: the one customer record the
// whole company shares, served over gRPC, with every change published to
// the rest of guanxi as events on the CUSTOMER stream.
package customer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/readcache"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	eventsadapter "github.com/guanxi-crm/guanxi/services/customer/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/hotpath"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
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
	// CustomerCacheTTL bounds how stale a GetCustomer may be: customers
	// are cached this long at most (0: not cached). A change shows at once
	// on the replica that made it, and on the others when its event
	// arrives (a few milliseconds), or in Redis when the writer drops the
	// key; the TTL covers what those miss (a lost message, a read racing
	// the change).
	CustomerCacheTTL time.Duration `env:"CUSTOMER_CACHE_TTL" envDefault:"2s"`
	// RedisURL, when set, keeps the customer cache in Redis, shared by the
	// replicas (redis://host:port/db, or redis+cluster://host:port?addr=...
	// for a Redis Cluster); without it each replica caches in process. A
	// Redis failure reads the database.
	RedisURL string `env:"REDIS_URL" secret:"true"`
	// RedisPrefix starts the name of every Redis key of the service, so
	// deployments can share one Redis.
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:"guanxi:customer:"`
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
	return func(ctx context.Context, h *servicehost.Host) error {
		// PostgreSQL stores import batches side by side on two connections;
		// SQLite has one writer, so a second would only wait for it.
		writers := 1
		if h.DB.Dialect == sqldb.Postgres {
			writers = 2
		}
		cache, err := customerCache(cfg, h)
		if err != nil {
			return err
		}
		store := hotpath.New(sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()), cache)
		customers := app.New(store, app.WithImportWriters(writers), app.WithCountLimit(cfg.ListCountLimit))
		customerv1.RegisterCustomerServiceServer(h.Server, grpcport.NewServer(customers))
		return nil
	}
}

// customerCache is the cache of GetCustomer's reads: in Redis when RedisURL
// is set, else in process, following the service's own events so that a
// change made by another replica shows before the TTL ends.
func customerCache(cfg Config, h *servicehost.Host) (*readcache.Cache[domain.Customer], error) {
	if cfg.CustomerCacheTTL <= 0 {
		return nil, nil
	}
	opts := readcache.Options[domain.Customer]{TTL: cfg.CustomerCacheTTL, Logger: h.Logger,
		Encode: hotpath.EncodeCustomer, Decode: hotpath.DecodeCustomer}
	if cfg.RedisURL != "" {
		rdb, err := redisclient.Open(cfg.RedisURL, h.Logger)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		h.OnClose(rdb.Close)
		opts.Redis, opts.Prefix = rdb, cfg.RedisPrefix+"customer:"
	}
	c := readcache.New(opts)
	err := h.Follow(customerv1.StreamSubjects, func(subject string, data []byte) {
		c.Invalidate(context.Background(), eventsadapter.ChangedCustomers(subject, data)...)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
