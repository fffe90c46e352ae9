// Package segmentation is the segmentation service: it keeps a read model of
// customers and their purchases from the customer and interaction events,
// and says what each customer is worth (ABC class by trailing spend).
package segmentation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	segevents "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
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
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return config.Load[Config](EnvPrefix)
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
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "segmentation",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		Stream:         segmentationv1.Stream,
		StreamSubjects: []string{segmentationv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
	}, logger)
	if err != nil {
		return fmt.Errorf("run segmentation: %w", err)
	}
	svc, err := app.New(sqlstore.New(h.DB, h.Outbox), policy, time.Now)
	if err != nil {
		return errors.Join(fmt.Errorf("run segmentation: %w", err), h.Close())
	}
	handlers := segevents.NewHandlers(svc)
	segmentationv1.RegisterSegmentationServiceServer(h.Server, grpcport.NewServer(svc))
	h.Consume(segevents.CustomersConsumer(), handlers.Customers)
	h.Consume(segevents.PurchasesConsumer(), handlers.PurchaseRecorded)
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("run segmentation: %w", err)
	}
	return nil
}
