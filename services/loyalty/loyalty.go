// Package loyalty is the loyalty service: members' points, credited the
// moment a purchase is recorded, and their tiers. Run starts it; cmd/loyalty
// and `guanxi dev` call Run.
package loyalty

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	grpcport "github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// eventSource is the Ce-Source of every event the service publishes.
const eventSource = "guanxi/loyalty"

// Config is the service's configuration, read from GUANXI_LOYALTY_* variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7103"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/loyalty.db"`
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// PointsPerUnit is the points a purchase earns per whole currency unit.
	PointsPerUnit int64 `env:"POINTS_PER_UNIT" envDefault:"1"`
	// VIPThreshold is the lifetime points from which a member is TIER_VIP.
	VIPThreshold int64 `env:"VIP_THRESHOLD" envDefault:"10000"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests and guanxi dev).
	Listener net.Listener `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return config.Load[Config]("GUANXI_LOYALTY_")
}

// Run runs the service until ctx is done or a part of it fails: it migrates
// the database, publishes through the outbox relay, consumes customer and
// purchase events, and serves gRPC. It returns nil on a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "loyalty",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		Stream:         loyaltyv1.Stream,
		StreamSubjects: []string{loyaltyv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
	}, logger)
	if err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	svc, err := app.New(sqlstore.New(h.DB, h.Outbox, eventSource), app.Rules{
		PointsPerUnit: cfg.PointsPerUnit,
		VIPThreshold:  cfg.VIPThreshold,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("run loyalty: %w", err), h.Close())
	}
	handlers := events.NewHandlers(svc)
	loyaltyv1.RegisterLoyaltyServiceServer(h.Server, grpcport.New(svc))
	h.Consume(events.CustomersConsumer(), handlers.Customers)
	h.Consume(events.PurchasesConsumer(), handlers.PurchaseRecorded)
	if err := h.Run(ctx); err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	return nil
}
