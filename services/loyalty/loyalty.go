// Package loyalty is the loyalty service: members' points, credited the
// moment a purchase is recorded, and their tiers. Run starts it; cmd/loyalty
// and `guanxi dev` call Run.
package loyalty

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/readcache"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	metricsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/metrics"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	eventsport "github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/events"
	grpcport "github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// Config is the service's configuration, read from GUANXI_LOYALTY_* variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7103"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/loyalty.db"`
	// Metrics is METRICS_ADDR: where the service serves Prometheus
	// metrics, an admin address (see telemetry.Metrics); empty for none.
	telemetry.Metrics
	// Broker is NATS_URL and the NATS_* auth (see servicehost.Broker).
	servicehost.Broker
	// CustomerService is the customer service, asked for the team scope.
	servicehost.CustomerService
	// Jobs is JOB_LEASE: how the replicas share the background jobs (see
	// servicehost.Jobs).
	servicehost.Jobs
	// DefaultProgramID is the program of calls that name none. When no
	// program with this id exists, the service creates it at start from
	// the settings below; after that the program is changed through the
	// API (UpdateProgram), not here.
	DefaultProgramID string `env:"DEFAULT_PROGRAM_ID" envDefault:"01900000-0000-7000-8000-000000000001"`
	// PointsPerUnit is the points a CNY purchase earns per whole yuan in
	// the default program.
	PointsPerUnit int64 `env:"POINTS_PER_UNIT" envDefault:"1"`
	// VIPThreshold is the points over the rolling 12 months from which a
	// member of the default program is VIP.
	VIPThreshold int64 `env:"VIP_THRESHOLD" envDefault:"10000"`
	// Workers is how many interaction events are handled at once when the
	// consumer handles each in its own transaction (CONSUMER_BATCH=1;
	// batches are handled one at a time). A handler spends most of its time
	// waiting for its group's commit (see app.Points.CreditPurchase), so
	// there are many more than cores: the more wait, the larger the groups.
	// At 1,000 purchases/s on two cores 16 fell behind whenever a commit was
	// slow.
	Workers int `env:"WORKERS" envDefault:"64"`
	// AccountCacheTTL bounds how stale a GetLoyaltyAccount may be: accounts
	// are cached this long at most (0: not cached). A change shows at once
	// on the replica that made it, and on the others when its event
	// arrives (a few milliseconds), or in Redis when the writer drops the
	// key; the TTL covers what those miss (a change that publishes no
	// event, such as a redemption, seen from another replica's own cache;
	// a lost message; a read racing the change).
	AccountCacheTTL time.Duration `env:"ACCOUNT_CACHE_TTL" envDefault:"2s"`
	// RedisURL, when set, keeps the account cache in Redis, shared by the
	// replicas (redis://host:port/db, or redis+cluster://host:port?addr=...
	// for a Redis Cluster); without it each replica caches in process. A
	// Redis failure reads the database.
	RedisURL string `env:"REDIS_URL" secret:"true"`
	// RedisPrefix starts the name of every Redis key of the service, so
	// deployments can share one Redis.
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:"guanxi:loyalty:"`
	// JobInterval is how often expiry, expiring notices and the tier review
	// run; every replica runs them, safely.
	JobInterval time.Duration `env:"JOB_INTERVAL" envDefault:"1h"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth).
	Auth auth.Config `env:"-"`
	// Now, when set, is the service's clock (tests).
	Now func() time.Time `env:"-"`
}

// DefaultProgram is the program a deployment starts with.
func (c Config) DefaultProgram() domain.Program {
	return domain.Program{
		ID: c.DefaultProgramID, Name: "Default", TimeZone: domain.DefaultTimeZone, AutoEnroll: true,
		BaseRates: []domain.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: c.PointsPerUnit}}, CurrencyCode: "CNY",
		Tiers: []domain.TierDef{
			{Code: "normal", Name: "Normal"},
			{Code: "vip", Name: "VIP", QualifyPoints: c.VIPThreshold},
		},
		TierWindowMonths: 12, TierGraceDays: 30, ExpiryKind: domain.ExpiryNever, ExpiryNoticeDays: 30,
	}
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return servicehost.LoadConfig("GUANXI_LOYALTY_", func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations, NATS with the LOYALTY stream, the gRPC server with
// its policy and the customer scope; build adds the rest.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "loyalty", Migrations: migrations.FS, Policy: grpcport.Policy, CustomerReader: customerv1.Reader, Validate: cfg.validate,
		Stream: loyaltyv1.Stream, StreamSubjects: []string{loyaltyv1.StreamSubjects},
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
		Broker: cfg.Broker, CustomerAddr: cfg.CustomerAddr, Jobs: cfg.Jobs,
	}, logger, build(cfg))
}

// validate refuses settings the service cannot run with.
func (c Config) validate() error {
	if c.AccountCacheTTL < 0 {
		return fmt.Errorf("account cache TTL (%s) must not be negative", c.AccountCacheTTL)
	}
	if c.Workers < 1 || c.JobInterval <= 0 {
		return fmt.Errorf("workers (%d) and job interval (%s) must be positive", c.Workers, c.JobInterval)
	}
	return nil
}

// build makes the service on a started host: the store publishing through
// the outbox, the use cases with the default program, the gRPC server, the
// consumers of customer and interaction events and the loyalty jobs.
func build(cfg Config) servicehost.Build {
	return func(ctx context.Context, h *servicehost.Host) error {
		counters, err := metricsadapter.New()
		if err != nil {
			return err
		}
		accounts, err := accountCache(cfg, h)
		if err != nil {
			return err
		}
		svc, err := app.New(sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder(), accounts),
			app.Options{DefaultProgramID: cfg.DefaultProgramID, Now: cfg.Now, Metrics: counters})
		if err != nil {
			return err
		}
		if err := svc.Programs.EnsureProgram(ctx, cfg.DefaultProgram()); err != nil {
			return err
		}
		if err := svc.Programs.AnnouncePrograms(ctx); err != nil {
			return err
		}
		handlers := eventsport.NewHandlers(struct {
			*app.Accounts
			*app.Points
			*app.Merges
		}{svc.Accounts, svc.Points, svc.Merges})
		loyaltyv1.RegisterLoyaltyServiceServer(h.Server, grpcport.New(svc))
		h.Consume(handlers.CustomersConsumer(), handlers.Customers)
		interactions := handlers.InteractionsConsumer()
		if cfg.ConsumerBatch == 1 {
			// Without batches, many purchases wait for their group's
			// commit at once; with them, one batch at a time keeps each
			// replica's events in stream order and never has two of its
			// transactions wait on each other's members.
			interactions.Concurrency = cfg.Workers
		}
		h.Consume(interactions, handlers.Interactions)
		h.EveryNow("loyalty jobs", cfg.JobInterval, func(ctx context.Context) error { return svc.Jobs.RunScheduled(ctx, h.Logger) })
		return nil
	}
}

// accountCache is the cache of GetLoyaltyAccount's reads: in Redis when
// RedisURL is set, else in process, following the service's own events so
// that a change made by another replica shows before the TTL ends.
func accountCache(cfg Config, h *servicehost.Host) (*readcache.Cache[sqlstore.MemberSummary], error) {
	if cfg.AccountCacheTTL == 0 {
		return nil, nil
	}
	// The service's clock: an account's sums depend on the time (points
	// pending until then, the tier window), so a value lasts TTL of it.
	opts := readcache.Options[sqlstore.MemberSummary]{TTL: cfg.AccountCacheTTL, Logger: h.Logger, Now: cfg.Now,
		Encode: func(v sqlstore.MemberSummary) ([]byte, error) { return json.Marshal(v) },
		Decode: func(b []byte) (v sqlstore.MemberSummary, err error) { return v, json.Unmarshal(b, &v) }}
	if cfg.RedisURL != "" {
		rdb, err := redisclient.Open(cfg.RedisURL, h.Logger)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		h.OnClose(rdb.Close)
		opts.Redis, opts.Prefix = rdb, cfg.RedisPrefix+"account:"
	}
	c := readcache.New(opts)
	err := h.Follow(loyaltyv1.StreamSubjects, func(subject string, data []byte) {
		if program, customer, ok := eventsadapter.ChangedMember(subject, data); ok {
			c.Invalidate(context.Background(), sqlstore.AccountKey(program, customer))
		}
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
