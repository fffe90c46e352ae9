// Package gateway is guanxi's REST edge: grpc-gateway routes for every public
// RPC, the merged OpenAPI document, and liveness and readiness probes.
package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

//go:embed openapi/guanxi.swagger.json
var openAPI []byte

// Config is the gateway's configuration, read from GUANXI_GATEWAY_* variables.
type Config struct {
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// Metrics is METRICS_ADDR: where the gateway serves Prometheus metrics
	// (REST requests by route template, gRPC calls to the services, Go
	// runtime), an admin address apart from HTTPAddr (see
	// telemetry.Metrics); empty for none.
	telemetry.Metrics
	CustomerAddr     string `env:"CUSTOMER_ADDR" envDefault:"127.0.0.1:7101"`
	InteractionAddr  string `env:"INTERACTION_ADDR" envDefault:"127.0.0.1:7102"`
	LoyaltyAddr      string `env:"LOYALTY_ADDR" envDefault:"127.0.0.1:7103"`
	SegmentationAddr string `env:"SEGMENTATION_ADDR" envDefault:"127.0.0.1:7104"`
	NotificationAddr string `env:"NOTIFICATION_ADDR" envDefault:"127.0.0.1:7105"`
	AccessAddr       string `env:"ACCESS_ADDR" envDefault:"127.0.0.1:7106"`
	// MaxBodyBytes caps request bodies so one client cannot exhaust memory;
	// a larger body is answered 413. The default (DefaultMaxBodyBytes,
	// 8 MiB) fits the largest ingest batch.
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"8388608"`
	// CallTimeout is how long a REST request may wait for the service it
	// calls; past it the answer is 504 and the edge logs the RPC and how
	// long it ran. Long work (refits, recomputes, schedule runs) returns an
	// operation at once and is polled, so it needs no long deadline.
	CallTimeout time.Duration `env:"CALL_TIMEOUT" envDefault:"30s"`
	// CallTimeouts overrides CallTimeout per RPC, comma-separated
	// "package.Service/Method:duration" pairs, e.g.
	// "guanxi.interaction.v1.InteractionService/BatchIngestEvents:2m".
	CallTimeouts map[string]time.Duration `env:"CALL_TIMEOUTS"`
	// RateLimit is how many requests a second each caller may make through
	// the REST edge, RateBurst how many at once (default: one second's
	// worth); beyond it a request gets 429 with Retry-After. 0 leaves
	// callers unlimited.
	RateLimit float64 `env:"RATE_LIMIT" envDefault:"0"`
	RateBurst int     `env:"RATE_BURST" envDefault:"0"`
	// RedisURL, when set, keeps the rate limits in Redis, so that every
	// gateway replica counts a caller's requests together: redis://host:port/db
	// for one Redis, or redis+cluster://host:port?addr=host2:port2&addr=...
	// for a Redis Cluster. Without it each replica counts its own (a
	// caller gets up to N times the rate through N replicas).
	RedisURL string `env:"REDIS_URL"`
	// CORSOrigins are the web origins browsers may call the REST edge from
	// ("https://crm.example.com", or "*" for any), comma-separated; none
	// by default.
	CORSOrigins []string `env:"CORS_ORIGINS"`
	// Listener, when set, is served instead of listening on HTTPAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth): every REST request needs
	// a bearer token it verifies.
	Auth auth.Config `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	cfg, err := config.Load[Config]("GUANXI_GATEWAY_")
	if err != nil {
		return cfg, err
	}
	cfg.Auth, err = auth.LoadConfig()
	return cfg, err
}

// ShutdownTimeout bounds how long the edge waits, once its context is
// done, for the requests in flight to finish.
const ShutdownTimeout = 10 * time.Second

// Run serves the REST edge until ctx is done. When ctx comes from
// process.Run, /readyz fails from the start of the process's drain on
// while requests are still served (see process.Shutdown).
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	logger.Info("starting gateway", config.Attr(cfg))

	verifier, err := auth.NewVerifier(cfg.Auth)
	if err != nil {
		return err
	}
	backends, err := dialBackends(cfg)
	if err != nil {
		return err
	}
	defer backends.close()

	lim, closeLimiter, err := newLimiter(cfg, logger)
	if err != nil {
		return err
	}
	defer closeLimiter()
	handler, err := newHandler(ctx, cfg, backends, guards{verifier: verifier, limiter: lim}, logger)
	if err != nil {
		return err
	}

	lis := cfg.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	// The REST edge listens with TLS when the deployment has a
	// certificate, without asking callers for one.
	tlsFiles, err := tlsconfig.Process()
	if err != nil {
		return err
	}
	tlsCfg, err := tlsFiles.Server(false)
	if err != nil {
		return err
	}
	srv := &http.Server{
		TLSConfig:         tlsCfg,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("gateway listening", slog.String("addr", lis.Addr().String()))
	drainWhenStopping(ctx, srv, logger)
	if cfg.MetricsAddr != "" {
		metricsLis, err := telemetry.ListenMetrics(ctx, cfg.MetricsAddr)
		if err != nil {
			_ = lis.Close()
			return err
		}
		metricsCtx, stopMetrics := context.WithCancel(ctx)
		metricsDone := make(chan error, 1)
		go func() { metricsDone <- telemetry.ServeMetrics(metricsCtx, metricsLis) }()
		defer func() {
			stopMetrics()
			if err := <-metricsDone; err != nil {
				logger.Warn("metrics server", slog.Any("error", err))
			}
		}()
		logger.Info("gateway metrics serving", slog.String("addr", metricsLis.Addr().String()))
	}

	served := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			served <- srv.ServeTLS(lis, "", "")
			return
		}
		served <- srv.Serve(lis)
	}()
	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	// In-flight requests finish (within ShutdownTimeout); the listener
	// closes at once, so what comes next goes to another edge.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown http: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// backend is one service the gateway forwards to.
type backend struct {
	name string
	conn *grpc.ClientConn
}

type backendSet []backend

func dialBackends(cfg Config) (backendSet, error) {
	targets := []struct{ name, addr string }{
		{"customer", cfg.CustomerAddr},
		{"interaction", cfg.InteractionAddr},
		{"loyalty", cfg.LoyaltyAddr},
		{"segmentation", cfg.SegmentationAddr},
		{"notification", cfg.NotificationAddr},
		{"access", cfg.AccessAddr},
	}
	var set backendSet
	for _, t := range targets {
		conn, err := grpcclient.DialWith(t.addr, cfg.deadlines())
		if err != nil {
			set.close()
			return nil, fmt.Errorf("dial %s at %s: %w", t.name, t.addr, err)
		}
		set = append(set, backend{name: t.name, conn: conn})
	}
	return set, nil
}

// deadlines are the deadlines of the edge's calls: CallTimeout, and
// CallTimeouts by full method name (the leading slash is optional).
func (c Config) deadlines() grpcclient.Deadlines {
	d := grpcclient.Deadlines{Default: c.CallTimeout, Methods: map[string]time.Duration{}}
	for method, timeout := range c.CallTimeouts {
		d.Methods["/"+strings.TrimPrefix(strings.TrimSpace(method), "/")] = timeout
	}
	return d
}

func (s backendSet) conn(name string) *grpc.ClientConn {
	for _, b := range s {
		if b.name == name {
			return b.conn
		}
	}
	return nil
}

func (s backendSet) close() {
	for _, b := range s {
		_ = b.conn.Close()
	}
}

// guards are what stands before the REST routes; a nil limiter is off.
type guards struct {
	verifier *auth.Verifier
	limiter  limiter
}

// newHandler builds the HTTP handler: REST routes, OpenAPI and probes.
func newHandler(ctx context.Context, cfg Config, backends backendSet, g guards, logger *slog.Logger) (http.Handler, error) {
	rest := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			// Zero values are shown (a new member has "pointsBalance": "0").
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			// Unknown fields are refused, so a typo is a 400, not silently lost data.
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithErrorHandler(errorHandler(logger)),
		runtime.WithMetadata(noteRoute),
	)
	registrations := []struct {
		name     string
		register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	}{
		{"customer", customerv1.RegisterCustomerServiceHandler},
		{"interaction", interactionv1.RegisterInteractionServiceHandler},
		{"loyalty", loyaltyv1.RegisterLoyaltyServiceHandler},
		{"segmentation", segmentationv1.RegisterSegmentationServiceHandler},
		{"notification", notificationv1.RegisterNotificationServiceHandler},
		{"access", accessv1.RegisterAccessServiceHandler},
	}
	for _, r := range registrations {
		if err := r.register(ctx, rest, backends.conn(r.name)); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", r.name, err)
		}
	}
	if err := registerExport(rest, backends.conn("customer"), logger); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	// Authentication goes first, so that the rate limit counts against the
	// verified caller.
	var api http.Handler = limitBody(rest, cfg.MaxBodyBytes)
	if g.limiter != nil {
		api = limitRate(api, g.limiter, logger)
	}
	keys := newKeyExchange(accessv1.NewAccessServiceClient(backends.conn("access")))
	mux.Handle("/v1/", authenticate(api, g.verifier, keys, logger))
	// The unsubscribe link a customer follows carries no token: the
	// notification service checks the link's own signature. Trading an
	// API key for a token needs only the key.
	for _, p := range publicRoutes {
		mux.Handle(p.method+" "+p.path, api)
	}
	// The pages behind the links in customers' messages (unsubscribe,
	// survey answer): no token, each link's signature is its credential.
	registerLinkPages(mux, backends, logger)
	doc, err := openAPIDocument(openAPI)
	if err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /openapi.json", serveOpenAPI(doc))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /readyz", notReadyWhenStopping(ctx, readiness(backends)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 5, "message": "no route for " + r.Method + " " + r.URL.Path})
	})
	return otelhttp.NewHandler(logRequests(allowCORS(mux, cfg.CORSOrigins), logger), "gateway", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return r.Method // until logRequests names it by its route
	}),
		// The server's own address in the request metrics, not the Host
		// header, which any client sets to anything (unbounded series).
		otelhttp.WithServerName(cfg.HTTPAddr)), nil
}

// incomingHeader forwards the headers services read, besides grpc-gateway's
// defaults (which pass Authorization on): Idempotency-Key becomes the
// request id of Create calls (AIP-155); X-Guanxi-Reason says why, for the
// audit log. Who calls is the verified token's, never a header's.
func incomingHeader(key string) (string, bool) {
	switch k := http.CanonicalHeaderKey(key); k {
	case "Idempotency-Key", "X-Guanxi-Reason":
		return strings.ToLower(k), true
	}
	return runtime.DefaultHeaderMatcher(key)
}
