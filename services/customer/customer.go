// Package customer is the customer service: the one customer record the
// whole company shares, served over gRPC, with every change published to
// the rest of guanxi as events on the CUSTOMER stream.
package customer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
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
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	return config.Load[Config]("GUANXI_CUSTOMER_")
}

// Run runs the service until ctx is done or a component fails. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (err error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "starting customer service", slog.Any("config", slog.GroupValue(config.Attrs(cfg)...)))

	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("run customer: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return fmt.Errorf("run customer: %w", err)
	}

	nc, js, err := events.Connect(cfg.NATSURL, "guanxi-customer", logger)
	if err != nil {
		return fmt.Errorf("run customer: %w", err)
	}
	defer func() {
		if derr := nc.Drain(); derr != nil {
			err = errors.Join(err, fmt.Errorf("drain nats: %w", derr))
		}
	}()
	if err := events.EnsureStream(ctx, js, customerv1.Stream, customerv1.StreamSubjects); err != nil {
		return fmt.Errorf("run customer: %w", err)
	}

	lis := cfg.Listener
	if lis == nil {
		lis, err = net.Listen("tcp", cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("run customer: listen: %w", err)
		}
	}

	outbox := events.NewOutbox(db, js, logger)
	customers := app.New(sqlstore.New(db, eventsadapter.NewPublisher(outbox)))
	srv := grpcserver.New(logger)
	customerv1.RegisterCustomerServiceServer(srv, grpcport.NewServer(customers))

	// Serve stops gracefully when gctx is done; the relay stops with it, and
	// the deferred drain and close then run in reverse order of start.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return outbox.Run(gctx) })
	g.Go(func() error { return srv.Serve(gctx, lis) })
	logger.InfoContext(ctx, "customer service serving", slog.String("addr", lis.Addr().String()))
	if err := g.Wait(); err != nil {
		return fmt.Errorf("run customer: %w", err)
	}
	logger.InfoContext(ctx, "customer service stopped")
	return nil
}
