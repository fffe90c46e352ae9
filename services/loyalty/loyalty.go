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
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/guanxi-crm/guanxi/platform/config"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	grpcport "github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// eventSource is the Ce-Source of every event the service publishes.
const eventSource = "guanxi/loyalty"

// drainTimeout bounds how long shutdown waits for NATS to flush.
const drainTimeout = 10 * time.Second

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
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (err error) {
	logger.Info("starting loyalty service", slog.Any("config", config.Attrs(cfg)))

	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}

	nc, js, err := platformevents.Connect(cfg.NATSURL, "loyalty", logger)
	if err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	defer drain(nc, logger)
	if err := platformevents.EnsureStream(ctx, js, loyaltyv1.Stream, loyaltyv1.StreamSubjects); err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}

	outbox := platformevents.NewOutbox(db, js, logger)
	svc, err := app.New(sqlstore.New(db, outbox, eventSource), app.Rules{
		PointsPerUnit: cfg.PointsPerUnit,
		VIPThreshold:  cfg.VIPThreshold,
	})
	if err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	handlers := events.NewHandlers(svc)

	lis := cfg.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			return fmt.Errorf("run loyalty: %w", err)
		}
	}
	srv := grpcserver.New(logger)
	loyaltyv1.RegisterLoyaltyServiceServer(srv, grpcport.New(svc))
	logger.Info("serving grpc", slog.String("addr", lis.Addr().String()))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return outbox.Run(gctx) })
	g.Go(func() error { return stopped(gctx, events.ConsumeCustomers(gctx, js, handlers, logger)) })
	g.Go(func() error { return stopped(gctx, events.ConsumePurchases(gctx, js, handlers, logger)) })
	g.Go(func() error { return srv.Serve(gctx, lis) })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("run loyalty: %w", err)
	}
	logger.Info("loyalty service stopped")
	return nil
}

// stopped treats a consumer that failed only because the service was
// stopping (cancelled while still setting up) as a clean stop.
func stopped(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// drain flushes pending publishes and acks before closing the connection,
// and closes it outright if that takes too long.
func drain(nc *nats.Conn, logger *slog.Logger) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		logger.Warn("nats drain failed", slog.Any("error", err))
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(drainTimeout):
		logger.Warn("nats drain timed out, closing")
		nc.Close()
	}
}
