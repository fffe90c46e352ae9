// Package suite runs the whole of guanxi in one process, as `guanxi dev`
// does: an embedded NATS JetStream server, the five services, each with its
// own SQLite file, and the REST gateway.
package suite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/devendpoints"
	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	"github.com/guanxi-crm/guanxi/services/access"
	"github.com/guanxi-crm/guanxi/services/customer"
	"github.com/guanxi-crm/guanxi/services/interaction"
	"github.com/guanxi-crm/guanxi/services/loyalty"
	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/segmentation"
)

// Config says where the suite listens and keeps its data. A port of 0 picks
// a free one (tests).
type Config struct {
	Host     string
	HTTPPort int
	// GRPCPort is the customer service's port; interaction, loyalty,
	// segmentation, notification and access take the next five (unless it
	// is 0).
	GRPCPort int
	NATSPort int
	// MetricsPort serves the Prometheus metrics of the whole process (every
	// service and the gateway, told apart by their labels) at /metrics;
	// negative serves none. The services' own GUANXI_<NAME>_METRICS_ADDR
	// are ignored here: one process, one metrics endpoint. What is served
	// is what telemetry.Setup installed with Prometheus.
	MetricsPort int
	DataDir     string
}

// DefaultConfig is the layout of DESIGN.md section 8.
func DefaultConfig() Config {
	return Config{Host: "127.0.0.1", HTTPPort: 8080, GRPCPort: 7101, NATSPort: 4333, MetricsPort: 9090, DataDir: ".guanxi"}
}

// Endpoints are the addresses the running suite answers on, and how to
// call them.
type Endpoints struct {
	HTTP string // base URL of the REST edge
	// Metrics is the URL of the Prometheus metrics, "" without them.
	Metrics  string
	NATS     string // client URL of the embedded NATS server
	Services []Service
	// AdminKey is the bootstrap admin's API key, made at the first start
	// and kept in AdminKeyFile. AdminToken is an admin's bearer token for
	// this run, and Auth the suite's token setup, with which more tokens
	// can be issued (auth.Issue).
	AdminKey     string
	AdminKeyFile string
	AdminToken   string
	Auth         auth.Config
	// NATSSeedFile is the NKey seed of IntegrationNATSUser, the NATS
	// credential of call-center integrations, and NATSInboxPrefix the
	// inbox prefix they connect with to get replies.
	NATSSeedFile    string
	NATSInboxPrefix string
	// OpsNATSSeedFile is the NKey seed of OpsNATSUser, what `guanxi events`
	// connects with.
	OpsNATSSeedFile string
}

// Service is one gRPC service and its address.
type Service struct {
	Name string
	Addr string
}

// serviceNames in port order.
var serviceNames = []string{"customer", "interaction", "loyalty", "segmentation", "notification", "access"}

// Run starts the suite and blocks until ctx is done or a part fails. ready,
// when not nil, is called once every service answers its health check.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, ready func(Endpoints)) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	// Each part reads its own GUANXI_<NAME>_* variables first, so the
	// suite can be tuned like the separate services (VIP threshold, ABC
	// cut-offs, ...); addresses, databases and NATS are then set below.
	customerCfg, err := customer.LoadConfig()
	if err != nil {
		return err
	}
	interactionCfg, err := interaction.LoadConfig()
	if err != nil {
		return err
	}
	loyaltyCfg, err := loyalty.LoadConfig()
	if err != nil {
		return err
	}
	segmentationCfg, err := segmentation.LoadConfig()
	if err != nil {
		return err
	}
	notificationCfg, err := notification.LoadConfig()
	if err != nil {
		return err
	}
	accessCfg, err := access.LoadConfig()
	if err != nil {
		return err
	}
	gatewayCfg, err := gateway.LoadConfig()
	if err != nil {
		return err
	}
	authCfg, err := setupAuth(gatewayCfg.Auth, dataDir)
	if err != nil {
		return err
	}
	adminToken, err := auth.Issue(authCfg, auth.Identity{Subject: "admin", Roles: []auth.Role{auth.Admin}}, adminTokenTTL)
	if err != nil {
		return err
	}
	customerCfg.Auth, interactionCfg.Auth, loyaltyCfg.Auth = authCfg, authCfg, authCfg
	if notificationCfg.UnsubscribeSecret == "" || interactionCfg.SurveySecret == "" {
		// Links in messages are signed with a key kept in the data dir
		// (like the token secret), so they outlive the run that sent them;
		// tokens of different links never verify for one another.
		linkSecret, err := keptSecret(filepath.Join(dataDir, linkSecretFile), "link secret")
		if err != nil {
			return err
		}
		if notificationCfg.UnsubscribeSecret == "" {
			notificationCfg.UnsubscribeSecret = linkSecret
		}
		if interactionCfg.SurveySecret == "" {
			interactionCfg.SurveySecret = linkSecret
		}
	}
	segmentationCfg.Auth, notificationCfg.Auth, gatewayCfg.Auth = authCfg, authCfg, authCfg
	accessCfg.Auth = authCfg

	// Bind every port before starting anything, so a port in use fails fast
	// with a clear message instead of half a suite.
	listeners, err := listenAll(cfg)
	if err != nil {
		return err
	}
	addr := func(name string) string { return listeners[name].Addr().String() }

	natsPort := cfg.NATSPort
	if natsPort == 0 {
		natsPort = -1 // nats-server's "any free port"
	}
	natsUsers, err := setupNATS(dataDir)
	if err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return fmt.Errorf("nats users: %w", err)
	}
	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(dataDir, "nats"), Host: natsHost(cfg.Host), Port: natsPort,
		Users: natsUsers.users}, logger.With(slog.String("component", "nats")))
	if err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return fmt.Errorf("start embedded nats: %w", err)
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	natsURL := ns.ClientURL()
	db := func(name string) string { return "sqlite://" + filepath.Join(dataDir, name+".db") }

	customerCfg.GRPCAddr, customerCfg.Listener = addr("customer"), listeners["customer"]
	customerCfg.DatabaseURL, customerCfg.NATSURL = db("customer"), natsURL
	customerCfg.NATS = natsUsers.auth["customer"]

	interactionCfg.GRPCAddr, interactionCfg.Listener = addr("interaction"), listeners["interaction"]
	interactionCfg.DatabaseURL, interactionCfg.NATSURL = db("interaction"), natsURL
	interactionCfg.NATS = natsUsers.auth["interaction"]
	interactionCfg.CustomerAddr = addr("customer")

	loyaltyCfg.GRPCAddr, loyaltyCfg.Listener = addr("loyalty"), listeners["loyalty"]
	loyaltyCfg.DatabaseURL, loyaltyCfg.NATSURL = db("loyalty"), natsURL
	loyaltyCfg.NATS = natsUsers.auth["loyalty"]
	loyaltyCfg.CustomerAddr = addr("customer")

	segmentationCfg.GRPCAddr, segmentationCfg.Listener = addr("segmentation"), listeners["segmentation"]
	segmentationCfg.DatabaseURL, segmentationCfg.NATSURL = db("segmentation"), natsURL
	segmentationCfg.NATS = natsUsers.auth["segmentation"]
	segmentationCfg.CustomerAddr = addr("customer")

	notificationCfg.GRPCAddr, notificationCfg.Listener = addr("notification"), listeners["notification"]
	notificationCfg.DatabaseURL, notificationCfg.NATSURL = db("notification"), natsURL
	notificationCfg.NATS = natsUsers.auth["notification"]
	notificationCfg.CustomerAddr, notificationCfg.SegmentationAddr = addr("customer"), addr("segmentation")
	notificationCfg.PublicURL = "http://" + addr("http")
	interactionCfg.PublicURL = notificationCfg.PublicURL

	gatewayCfg.HTTPAddr, gatewayCfg.Listener = addr("http"), listeners["http"]
	gatewayCfg.CustomerAddr, gatewayCfg.InteractionAddr = addr("customer"), addr("interaction")
	gatewayCfg.LoyaltyAddr, gatewayCfg.SegmentationAddr = addr("loyalty"), addr("segmentation")
	gatewayCfg.NotificationAddr, gatewayCfg.AccessAddr = addr("notification"), addr("access")

	accessCfg.GRPCAddr, accessCfg.Listener = addr("access"), listeners["access"]
	accessCfg.DatabaseURL = db("access")

	// The process serves its metrics once, below, not per service.
	customerCfg.MetricsAddr, interactionCfg.MetricsAddr, loyaltyCfg.MetricsAddr = "", "", ""
	segmentationCfg.MetricsAddr, notificationCfg.MetricsAddr, accessCfg.MetricsAddr = "", "", ""
	gatewayCfg.MetricsAddr = ""

	g, ctx := errgroup.WithContext(ctx)
	start := func(name string, run func(context.Context, *slog.Logger) error) {
		g.Go(func() error {
			if err := run(ctx, logger.With(slog.String("service", name))); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	start("customer", func(ctx context.Context, l *slog.Logger) error { return customer.Run(ctx, customerCfg, l) })
	start("interaction", func(ctx context.Context, l *slog.Logger) error { return interaction.Run(ctx, interactionCfg, l) })
	start("loyalty", func(ctx context.Context, l *slog.Logger) error { return loyalty.Run(ctx, loyaltyCfg, l) })
	start("segmentation", func(ctx context.Context, l *slog.Logger) error { return segmentation.Run(ctx, segmentationCfg, l) })
	start("notification", func(ctx context.Context, l *slog.Logger) error { return notification.Run(ctx, notificationCfg, l) })
	start("access", func(ctx context.Context, l *slog.Logger) error { return access.Run(ctx, accessCfg, l) })
	start("gateway", func(ctx context.Context, l *slog.Logger) error { return gateway.Run(ctx, gatewayCfg, l) })
	if lis, ok := listeners["metrics"]; ok {
		start("metrics", func(ctx context.Context, _ *slog.Logger) error { return telemetry.ServeMetrics(ctx, lis) })
	}

	scheme := "http://"
	if tlsFiles, _ := tlsconfig.Process(); tlsFiles.CertFile != "" { // a bad setup fails the gateway
		scheme = "https://"
	}
	endpoints := Endpoints{HTTP: scheme + addr("http"), NATS: natsURL,
		NATSSeedFile: natsUsers.integrationSeed, NATSInboxPrefix: natsembed.InboxPrefix(IntegrationNATSUser),
		OpsNATSSeedFile: natsUsers.opsSeed,
		Metrics:         metricsURL(listeners),
		AdminKeyFile:    filepath.Join(dataDir, AdminKeyFile), AdminToken: adminToken, Auth: authCfg}
	for _, name := range serviceNames {
		endpoints.Services = append(endpoints.Services, Service{Name: name, Addr: addr(name)})
	}
	g.Go(func() error {
		if err := waitServing(ctx, endpoints.Services); err != nil {
			if ctx.Err() != nil {
				return nil // shutting down before ready is not a failure of its own
			}
			return err
		}
		key, err := bootstrapKey(ctx, addr("access"), adminToken, endpoints.AdminKeyFile)
		if err != nil {
			return err
		}
		endpoints.AdminKey = key
		// The CLI finds this run's ports here; the file goes when the run
		// ends (below), so it names a running suite.
		if err := devendpoints.Write(dataDir, endpoints.file()); err != nil {
			return err
		}
		if ready != nil {
			ready(endpoints)
		}
		return nil
	})
	defer devendpoints.Remove(dataDir, os.Getpid())
	return g.Wait()
}

// file is what the CLI needs of e to find the suite.
func (e Endpoints) file() devendpoints.File {
	f := devendpoints.File{HTTP: e.HTTP, NATS: e.NATS, NATSOpsSeed: e.OpsNATSSeedFile, Services: map[string]string{}, PID: os.Getpid()}
	for _, s := range e.Services {
		f.Services[s.Name] = s.Addr
	}
	return f
}

// listenAll binds the six gRPC ports (consecutive from cfg.GRPCPort), the
// REST port and the metrics port (unless negative), keyed by service name,
// "http" and "metrics".
func listenAll(cfg Config) (map[string]net.Listener, error) {
	listeners := make(map[string]net.Listener, len(serviceNames)+1)
	bind := func(key, what string, port int) error {
		addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return fmt.Errorf("%s cannot listen on %s (is another guanxi running? change the port with a flag): %w", what, addr, err)
		}
		listeners[key] = l
		return nil
	}
	for i, name := range serviceNames {
		port := 0
		if cfg.GRPCPort != 0 {
			port = cfg.GRPCPort + i
		}
		if err := bind(name, name+" service", port); err != nil {
			return nil, err
		}
	}
	if err := bind("http", "REST edge", cfg.HTTPPort); err != nil {
		return nil, err
	}
	if cfg.MetricsPort >= 0 {
		if err := bind("metrics", "metrics", cfg.MetricsPort); err != nil {
			return nil, err
		}
	}
	return listeners, nil
}

// metricsURL is where the suite's metrics are served, "" for nowhere.
func metricsURL(listeners map[string]net.Listener) string {
	if lis, ok := listeners["metrics"]; ok {
		return "http://" + lis.Addr().String() + "/metrics"
	}
	return ""
}

// waitServing blocks until every service's health check answers SERVING.
func waitServing(ctx context.Context, services []Service) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, s := range services {
		conn, err := grpcclient.Dial(s.Addr)
		if err != nil {
			return fmt.Errorf("dial %s: %w", s.Name, err)
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		_ = conn.Close()
		if err != nil {
			return fmt.Errorf("%s is not ready: %w", s.Name, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return errors.New(s.Name + " is not serving: " + resp.GetStatus().String())
		}
	}
	return nil
}

// AdminKeyFile is the file in the data dir holding the bootstrap admin's
// API key.
const AdminKeyFile = "admin.key"

// adminTokenTTL is how long the run's admin token lives: the run's length,
// for anything that does not take a key.
const adminTokenTTL = 30 * 24 * time.Hour

// bootstrapKey returns the admin key kept in path, and at the first start
// (no file yet) makes it at the access service with token and writes it
// there, readable by the owner only.
func bootstrapKey(ctx context.Context, accessAddr, token, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the admin key: %w", err)
	}
	conn, err := grpcclient.Dial(accessAddr, grpc.WithPerRPCCredentials(auth.Token(token)))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	resp, err := accessv1.NewAccessServiceClient(conn).CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
		Name: "bootstrap admin of guanxi dev", Subject: "admin", Roles: []string{string(auth.Admin)},
	}})
	if err != nil {
		return "", fmt.Errorf("make the bootstrap admin key: %w", err)
	}
	if err := os.WriteFile(path, []byte(resp.GetKey()+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the admin key: %w", err)
	}
	return resp.GetKey(), nil
}

// secretFile keeps the token secret of a suite run without GUANXI_AUTH_SECRET,
// so that tokens survive a restart.
const secretFile = "auth.secret"

// setupAuth is the suite's token setup: cfg (from GUANXI_AUTH_*) when it
// names a secret, else the secret kept in the data dir, made at first
// start. Deleting the file revokes every token issued with it.
func setupAuth(cfg auth.Config, dataDir string) (auth.Config, error) {
	if cfg.Secret != "" {
		return cfg, cfg.Validate()
	}
	secret, err := keptSecret(filepath.Join(dataDir, secretFile), "token secret")
	if err != nil {
		return cfg, err
	}
	cfg.Secret = secret
	return cfg, cfg.Validate()
}

// linkSecretFile keeps the key that signs the links in customers'
// messages (unsubscribe, survey) of a suite run without
// GUANXI_NOTIFICATION_UNSUBSCRIBE_SECRET or GUANXI_INTERACTION_SURVEY_SECRET,
// so links sent before a restart keep working after it.
const linkSecretFile = "links.secret"

// keptSecret reads the secret kept at path, making it at first use.
func keptSecret(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		b = []byte(randomSecret())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", fmt.Errorf("write the %s: %w", what, err)
		}
	case err != nil:
		return "", fmt.Errorf("read the %s: %w", what, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// randomSecret is a fresh random key, for secrets a dev run may make up.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
