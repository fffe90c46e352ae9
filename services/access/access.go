// Package access is the access service: the API keys of integrations and
// scripts, stored as hashes, and the trade of a key for the short-lived
// bearer token every guanxi service verifies.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	"github.com/guanxi-crm/guanxi/services/access/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/access/internal/app"
	grpcport "github.com/guanxi-crm/guanxi/services/access/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/access/migrations"
)

// Config is the service's configuration, read from GUANXI_ACCESS_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7106"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/access.db"`
	// Metrics is METRICS_ADDR: where the service serves Prometheus
	// metrics, an admin address (see telemetry.Metrics); empty for none.
	telemetry.Metrics
	// TokenTTL is how long a token traded for a key lives: a revoked key's
	// tokens work at most this long after the revocation.
	TokenTTL time.Duration `env:"TOKEN_TTL" envDefault:"5m"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth); traded tokens are signed
	// with its secret.
	Auth auth.Config `env:"-"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	return servicehost.LoadConfig("GUANXI_ACCESS_", func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations and the gRPC server with its policy (the service
// publishes and consumes nothing); build adds the rest.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "access", Migrations: migrations.FS, Policy: grpcport.Policy, Validate: cfg.validate,
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
	}, logger, build(cfg))
}

// validate refuses settings the service cannot run with.
func (c Config) validate() error {
	if c.TokenTTL <= 0 {
		return fmt.Errorf("token TTL %s is not positive", c.TokenTTL)
	}
	return nil
}

// build makes the service on a started host: the key store, the use cases
// and the gRPC server.
func build(cfg Config) servicehost.Build {
	return func(_ context.Context, h *servicehost.Host) error {
		a := app.New(sqlstore.New(h.DB), cfg.Auth, cfg.TokenTTL)
		accessv1.RegisterAccessServiceServer(h.Server, grpcport.NewServer(a))
		return nil
	}
}
