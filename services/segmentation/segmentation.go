// Package segmentation is the segmentation service: it keeps a read model of
// customers, their purchases and returns from the customer and interaction
// events, and says what each customer is worth (ABC class by trailing
// spend, RFM scores and segments, BG/NBD and Gamma-Gamma predictions and
// CLV), keeps rule segments up to date, and forecasts demand per category.
package segmentation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/config"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
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
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// NATS is how the service authenticates to NATS: credentials (an NKey
	// seed or a .creds file), TLS and inbox prefix, read from
	// GUANXI_SEGMENTATION_NATS_* (see events.NATSAuth).
	NATS platformevents.NATSAuth `envPrefix:"NATS_"`
	// CustomerAddr is the customer service, asked whether an agent or a
	// manager may see a customer; without it they are refused here.
	CustomerAddr string `env:"CUSTOMER_ADDR" envDefault:"127.0.0.1:7101"`
	// Currency is the reporting currency: ABC ranks spend in it, and spend
	// is reported in it. Purchases in other currencies are stored (and
	// counted in purchase_count) but not ranked, since adding amounts
	// across currencies would need exchange rates.
	Currency string `env:"CURRENCY" envDefault:"CNY"`
	// ClassACutoff: class A while the customers ranked above hold less than
	// this share of trailing revenue.
	ClassACutoff float64 `env:"ABC_A_CUTOFF" envDefault:"0.7"`
	// ClassBCutoff: class B while they hold less than this share.
	ClassBCutoff float64 `env:"ABC_B_CUTOFF" envDefault:"0.9"`
	// Window is the trailing period whose spend is ranked (12 months).
	Window time.Duration `env:"ABC_WINDOW" envDefault:"8760h"`
	// HorizonWeeks is the horizon of expected purchases.
	HorizonWeeks int `env:"PREDICTION_HORIZON_WEEKS" envDefault:"52"`
	// CLVMonths is the horizon of customer lifetime value.
	CLVMonths int `env:"CLV_MONTHS" envDefault:"36"`
	// AnnualDiscount discounts future revenue in CLV.
	AnnualDiscount float64 `env:"CLV_ANNUAL_DISCOUNT" envDefault:"0.1"`
	// Margin is the share of revenue that is profit, for CLV.
	Margin float64 `env:"CLV_MARGIN" envDefault:"1"`
	// RecomputeEvery is how often every value and segment is recomputed
	// (time moves customers between classes without any event); 0 turns
	// the schedule off.
	RecomputeEvery time.Duration `env:"RECOMPUTE_EVERY" envDefault:"1h"`
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
	cfg, err := config.Load[Config](EnvPrefix)
	if err != nil {
		return cfg, err
	}
	cfg.Auth, err = auth.LoadConfig()
	return cfg, err
}

// policy validates the ranking settings: 0 < A < B <= 1, a currency code,
// a positive window.
func (c Config) policy() (domain.Policy, error) {
	p := domain.Policy{
		Currency: c.Currency,
		Window:   c.Window,
		Cutoffs:  domain.Cutoffs{A: c.ClassACutoff, B: c.ClassBCutoff},
	}
	if err := p.Validate(); err != nil {
		return domain.Policy{}, fmt.Errorf("config: %w", err)
	}
	return p, nil
}

// Run serves the segmentation service until ctx is done or a part fails,
// then shuts down in reverse order of start. It returns nil on a clean
// shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	// Bad ranking settings fail before anything is opened.
	policy, err := cfg.policy()
	if err != nil {
		return fmt.Errorf("run segmentation: %w", err)
	}
	// Zero horizons and margin (a Config built in code) take the defaults.
	prediction := domain.DefaultPredictionPolicy(policy.Currency)
	prediction.AnnualDiscount = cfg.AnnualDiscount
	if cfg.HorizonWeeks != 0 {
		prediction.HorizonWeeks = cfg.HorizonWeeks
	}
	if cfg.CLVMonths != 0 {
		prediction.CLVMonths = cfg.CLVMonths
	}
	if cfg.Margin != 0 {
		prediction.Margin = cfg.Margin
	}
	if err := prediction.Validate(); err != nil {
		return fmt.Errorf("run segmentation: config: %w", err)
	}
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "segmentation",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		NATS:           cfg.NATS,
		Stream:         segmentationv1.Stream,
		StreamSubjects: []string{segmentationv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
		Auth:           cfg.Auth,
		Policy:         grpcport.Policy,
		CustomerReader: customerv1.Reader,
		CustomerAddr:   cfg.CustomerAddr,
	}, logger)
	if err != nil {
		return fmt.Errorf("run segmentation: %w", err)
	}
	store := sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()).WithMinorPerMajor(domain.MinorPerMajor(policy.Currency))
	svc, err := app.New(store, policy, time.Now)
	if err == nil {
		svc = svc.WithLogger(logger)
		svc, err = svc.WithPrediction(prediction)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("run segmentation: %w", err), h.Close())
	}
	handlers := eventsport.NewHandlers(svc)
	segmentationv1.RegisterSegmentationServiceServer(h.Server, grpcport.NewServer(svc, policy.Currency, prediction).WithOperations(h.Operations))
	if cfg.RecomputeEvery > 0 {
		h.Go("recompute", schedule(cfg.RecomputeEvery, logger, "recompute values", func(ctx context.Context) error {
			_, err := svc.RecomputeValues(ctx)
			return err
		}))
	}
	if cfg.RefitEvery > 0 {
		h.Go("refit", schedule(cfg.RefitEvery, logger, "refit model", func(ctx context.Context) error {
			_, err := svc.RefitModel(ctx, time.Time{})
			return err
		}))
	}
	h.Consume(eventsport.CustomersConsumer(), handlers.Customers)
	h.Consume(eventsport.PurchasesConsumer(), handlers.Purchases)
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("run segmentation: %w", err)
	}
	return nil
}

// schedule runs job every interval until ctx is done. A failed run is
// logged and retried at the next tick: a schedule must outlive a bad hour
// (too few customers to fit yet, a database restart).
func schedule(every time.Duration, logger *slog.Logger, what string, job func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := job(ctx); err != nil && ctx.Err() == nil {
					logger.WarnContext(ctx, "scheduled job failed", slog.String("job", what), slog.String("error", err.Error()))
				}
			}
		}
	}
}

// BulkWorkMem is the PostgreSQL work_mem the service gives its
// whole-population aggregate (benchmarks give their yardstick the same).
const BulkWorkMem = sqlstore.BulkWorkMem
