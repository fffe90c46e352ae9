// Package segmentation is the segmentation service: it keeps a read model of
// customers, their purchases and returns from the customer and interaction
// events, and says what each customer is worth (ABC class by trailing
// spend, RFM scores and segments, BG/NBD and Gamma-Gamma predictions and
// CLV), keeps rule segments up to date, and forecasts demand per category.
package segmentation

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"
	// The zone database in the binary: images without /usr/share/zoneinfo
	// still know every IANA zone.
	_ "time/tzdata"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	eventsport "github.com/guanxi-crm/guanxi/services/segmentation/internal/ports/events"
	grpcport "github.com/guanxi-crm/guanxi/services/segmentation/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

// EnvPrefix prefixes every configuration variable.
const EnvPrefix = "GUANXI_SEGMENTATION_"

// Config is the service's configuration, read from GUANXI_SEGMENTATION_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7104"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/segmentation.db"`
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
	// Currency is the reporting currency: ABC ranks spend in it, and spend
	// is reported in it. Purchases in other currencies are stored and
	// counted as transactions (purchase_count, purchase_days, the purchase
	// model) but their amounts are not converted: spend, the average
	// order value and the spend model use the reporting currency's
	// purchases and days only, so a customer paying in two currencies is
	// never averaged over days whose spend was left out. We chose this over
	// converting at stated rates because rates move daily and this service
	// has no source for them: a fixed rate would silently distort spend.
	Currency string `env:"CURRENCY" envDefault:"CNY"`
	// TimeZone is the company's time zone, an IANA name: purchases are
	// bucketed into its calendar days (purchases of one day are one
	// transaction for the models) and months (demand), so a purchase at
	// 23:30 in Shanghai counts on that day, not on the next one in UTC.
	// Changing it re-buckets the stored purchases at start.
	TimeZone string `env:"TIME_ZONE" envDefault:"Asia/Shanghai"`
	// ClassACutoff: class A while the customers ranked above hold less than
	// this share of trailing revenue.
	ClassACutoff float64 `env:"ABC_A_CUTOFF" envDefault:"0.7"`
	// ClassBCutoff: class B while they hold less than this share.
	ClassBCutoff float64 `env:"ABC_B_CUTOFF" envDefault:"0.9"`
	// Window is the trailing period whose spend is ranked (12 months).
	Window time.Duration `env:"ABC_WINDOW" envDefault:"8760h"`
	// HorizonWeeks is the horizon of expected purchases.
	HorizonWeeks int `env:"PREDICTION_HORIZON_WEEKS" envDefault:"52"`
	// CLVMonths is the horizon of DERT and customer lifetime value
	// (CLV = DERT x expected order value x margin), 1 to 1200.
	CLVMonths int `env:"CLV_MONTHS" envDefault:"36"`
	// AnnualDiscount discounts future purchases in DERT and CLV
	// (continuously: a purchase a year away counts 1/(1+rate)).
	AnnualDiscount float64 `env:"CLV_ANNUAL_DISCOUNT" envDefault:"0.1"`
	// Margin is the share of revenue that is profit, for CLV.
	Margin float64 `env:"CLV_MARGIN" envDefault:"1"`
	// ValueModel is the repeat-purchase model a refit fits: auto (the one
	// that best predicts a holdout of the deployment's own data), bgnbd or
	// mbgnbd.
	ValueModel string `env:"VALUE_MODEL" envDefault:"auto"`
	// RecomputeEvery is how often every value and segment is recomputed
	// (time moves customers between classes without any event); 0 turns
	// the schedule off.
	RecomputeEvery time.Duration `env:"RECOMPUTE_EVERY" envDefault:"1h"`
	// FirstRankEvery is how often, until a recompute has ranked some
	// revenue (a fresh install), the service checks for purchases and then
	// recomputes at once: until then every event ranks its customer
	// against all customers, whose cost grows with them; after it, events
	// classify against the recompute's class boundaries. 0 turns the check
	// off.
	FirstRankEvery time.Duration `env:"FIRST_RANK_EVERY" envDefault:"10s"`
	// RefitEvery is how often the models are refitted on all history; 0
	// turns the schedule off.
	RefitEvery time.Duration `env:"REFIT_EVERY" envDefault:"24h"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth).
	Auth auth.Config `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return servicehost.LoadConfig(EnvPrefix, func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations, NATS with the SEGMENTATION stream, the gRPC server
// with its policy and the customer scope; build adds the rest.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "segmentation", Migrations: migrations.FS, Policy: grpcport.Policy, CustomerReader: customerv1.Reader, Validate: cfg.validate,
		Stream: segmentationv1.Stream, StreamSubjects: []string{segmentationv1.StreamSubjects},
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
		Broker: cfg.Broker, CustomerAddr: cfg.CustomerAddr, Jobs: cfg.Jobs,
	}, logger, build(cfg))
}

// validate refuses ranking and prediction settings the service cannot run
// with, before anything is opened.
func (c Config) validate() error {
	_, _, err := c.policies()
	return err
}

// policies are the ranking settings (0 < A < B <= 1, a currency code, a
// positive window) and the prediction settings, validated. Zero horizons
// and margin (a Config built in code) take the defaults.
func (c Config) policies() (domain.Policy, domain.PredictionPolicy, error) {
	zone, err := timeZone(c.TimeZone)
	if err != nil {
		return domain.Policy{}, domain.PredictionPolicy{}, err
	}
	p := domain.Policy{
		Currency: c.Currency,
		Window:   c.Window,
		Cutoffs:  domain.Cutoffs{A: c.ClassACutoff, B: c.ClassBCutoff},
		Zone:     zone,
	}
	if err := p.Validate(); err != nil {
		return domain.Policy{}, domain.PredictionPolicy{}, fmt.Errorf("config: %w", err)
	}
	prediction := domain.DefaultPredictionPolicy(p.Currency)
	prediction.AnnualDiscount = c.AnnualDiscount
	if c.HorizonWeeks != 0 {
		prediction.HorizonWeeks = c.HorizonWeeks
	}
	if c.CLVMonths != 0 {
		prediction.CLVMonths = c.CLVMonths
	}
	if c.Margin != 0 {
		prediction.Margin = c.Margin
	}
	if c.ValueModel != "" {
		prediction.Model = c.ValueModel
	}
	if err := prediction.Validate(); err != nil {
		return domain.Policy{}, domain.PredictionPolicy{}, fmt.Errorf("config: %w", err)
	}
	return p, prediction, nil
}

// timeZone loads the IANA time zone name; empty (a Config built in code)
// is UTC. "Local" is refused: the days would depend on the machine.
func timeZone(name string) (*time.Location, error) {
	zone, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("config: %sTIME_ZONE %q is not an IANA time zone name such as Asia/Shanghai", EnvPrefix, name)
	}
	return zone, nil
}

// build makes the service on a started host: the store publishing through
// the outbox, the use cases, the gRPC server, the consumers of customer and
// purchase events and the recompute and refit schedules.
func build(cfg Config) servicehost.Build {
	return func(ctx context.Context, h *servicehost.Host) error {
		policy, prediction, err := cfg.policies()
		if err != nil {
			return err
		}
		store := sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()).WithMinorPerMajor(domain.MinorPerMajor(policy.Currency))
		if err := store.UseTimeZone(ctx, policy.Zone); err != nil {
			return err
		}
		svc, err := app.New(store, policy, time.Now)
		if err != nil {
			return err
		}
		if svc, err = svc.WithLogger(h.Logger).WithPrediction(prediction); err != nil {
			return err
		}
		handlers := eventsport.NewHandlers(svc.Facts)
		segmentationv1.RegisterSegmentationServiceServer(h.Server, grpcport.NewServer(svc, policy.Currency, prediction).WithOperations(h.Operations))
		h.Every("recompute values", cfg.RecomputeEvery, func(ctx context.Context) error {
			_, err := svc.Values.RecomputeValues(ctx)
			return err
		})
		h.Every("first ranking", cfg.FirstRankEvery, func(ctx context.Context) error {
			_, err := svc.Values.RecomputeIfUnranked(ctx)
			return err
		})
		h.Every("refit model", cfg.RefitEvery, func(ctx context.Context) error {
			_, err := svc.Values.RefitModel(ctx, time.Time{})
			return err
		})
		h.Consume(handlers.CustomersConsumer(), handlers.Customers)
		h.Consume(handlers.PurchasesConsumer(), handlers.Purchases)
		return nil
	}
}

// BulkWorkMem is the PostgreSQL work_mem the service gives its
// whole-population aggregate (benchmarks give their yardstick the same).
const BulkWorkMem = sqlstore.BulkWorkMem
