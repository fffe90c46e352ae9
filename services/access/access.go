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
	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
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
	cfg, err := config.Load[Config]("GUANXI_ACCESS_")
	if err != nil {
		return cfg, err
	}
	cfg.Auth, err = auth.LoadConfig()
	return cfg, err
}

// Run runs the service until ctx is done or a component fails. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.TokenTTL <= 0 {
		return fmt.Errorf("run access: token TTL %s is not positive", cfg.TokenTTL)
	}
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:        "access",
		Config:      cfg,
		DatabaseURL: cfg.DatabaseURL,
		Migrations:  migrations.FS,
		GRPCAddr:    cfg.GRPCAddr,
		Listener:    cfg.Listener,
		Auth:        cfg.Auth,
		Policy:      grpcport.Policy,
	}, logger)
	if err != nil {
		return fmt.Errorf("run access: %w", err)
	}
	a := app.New(sqlstore.New(h.DB), cfg.Auth, cfg.TokenTTL)
	accessv1.RegisterAccessServiceServer(h.Server, grpcport.NewServer(a))
	return h.Run(ctx)
}
