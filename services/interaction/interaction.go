// Package interaction is the interaction service: every contact with a
// customer, on every channel, in one timeline, with purchases published to
// the rest of guanxi as events.
package interaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/clients"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	grpcport "github.com/guanxi-crm/guanxi/services/interaction/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/interaction/migrations"
)

// Config is the service's configuration, read from GUANXI_INTERACTION_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7102"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/interaction.db"`
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// CustomerAddr is the customer service's gRPC address, asked whether a
	// customer exists before an interaction is recorded for it.
	CustomerAddr string `env:"CUSTOMER_ADDR" envDefault:"127.0.0.1:7101"`
	// CustomerTimeout bounds one customer check, retries included.
	CustomerTimeout time.Duration `env:"CUSTOMER_TIMEOUT" envDefault:"3s"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	return config.Load[Config]("GUANXI_INTERACTION_")
}

// Run runs the service until ctx is done or a component fails. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (err error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "starting interaction service", slog.Any("config", slog.GroupValue(config.Attrs(cfg)...)))

	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("run interaction: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return fmt.Errorf("run interaction: %w", err)
	}

	nc, js, err := events.Connect(cfg.NATSURL, "guanxi-interaction", logger)
	if err != nil {
		return fmt.Errorf("run interaction: %w", err)
	}
	defer func() {
		if derr := nc.Drain(); derr != nil {
			err = errors.Join(err, fmt.Errorf("drain nats: %w", derr))
		}
	}()
	if err := events.EnsureStream(ctx, js, interactionv1.Stream, interactionv1.StreamSubjects); err != nil {
		return fmt.Errorf("run interaction: %w", err)
	}

	conn, err := grpcclient.Dial(cfg.CustomerAddr)
	if err != nil {
		return fmt.Errorf("run interaction: customer service: %w", err)
	}
	defer func() { err = errors.Join(err, conn.Close()) }()

	lis := cfg.Listener
	if lis == nil {
		lis, err = net.Listen("tcp", cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("run interaction: listen: %w", err)
		}
	}

	outbox := events.NewOutbox(db, js, logger)
	svc := app.New(sqlstore.New(db, outbox), clients.NewCustomers(conn, cfg.CustomerTimeout), nil)
	srv := grpcserver.New(logger)
	interactionv1.RegisterInteractionServiceServer(srv, grpcport.NewServer(svc))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return outbox.Run(gctx) })
	g.Go(func() error { return srv.Serve(gctx, lis) })
	logger.InfoContext(ctx, "interaction service serving", slog.String("addr", lis.Addr().String()))
	if err := g.Wait(); err != nil {
		return fmt.Errorf("run interaction: %w", err)
	}
	logger.InfoContext(ctx, "interaction service stopped")
	return nil
}
