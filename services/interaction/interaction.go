// Package interaction is the interaction service: every contact with a
// customer, on every channel, in one timeline, with purchases published to
// the rest of guanxi as events. It follows the customer service's merges
// (re-keying timelines) and erasures (anonymizing them).
package interaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/linksign"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/clients"
	eventsadapter "github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	eventsport "github.com/guanxi-crm/guanxi/services/interaction/internal/ports/events"
	grpcport "github.com/guanxi-crm/guanxi/services/interaction/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/interaction/migrations"
)

// Config is the service's configuration, read from GUANXI_INTERACTION_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7102"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/interaction.db"`
	// Metrics is METRICS_ADDR: where the service serves Prometheus
	// metrics, an admin address (see telemetry.Metrics); empty for none.
	telemetry.Metrics
	// Broker is NATS_URL and the NATS_* auth (see servicehost.Broker).
	servicehost.Broker
	// CustomerService is the customer service, also asked whether a customer
	// exists before an interaction is recorded for it.
	servicehost.CustomerService
	// Jobs is JOB_LEASE: how the replicas share the background jobs (see
	// servicehost.Jobs).
	servicehost.Jobs
	// CustomerTimeout bounds one customer check, retries included.
	CustomerTimeout time.Duration `env:"CUSTOMER_TIMEOUT" envDefault:"3s"`
	// SLACheckInterval is how often cases are checked for missed SLA
	// targets.
	SLACheckInterval time.Duration `env:"SLA_CHECK_INTERVAL" envDefault:"30s"`
	// SurveyBaseURL, when set, points the links of survey invitations at an
	// outside survey tool: the survey id is appended to it.
	SurveyBaseURL string `env:"SURVEY_BASE_URL"`
	// PublicURL is where customers reach the REST edge; without
	// SurveyBaseURL, survey links are PublicURL/survey?token=..., answered
	// on the edge's own page.
	PublicURL string `env:"PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// SurveySecret signs those links; set the same one on every replica.
	// With neither it nor SurveyBaseURL, invitations carry no link.
	SurveySecret string `env:"SURVEY_SECRET" secret:"true"`
	// Clock, when set, is the service's clock (tests); nil means time.Now.
	Clock func() time.Time `env:"-"`
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth).
	Auth auth.Config `env:"-"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	return servicehost.LoadConfig("GUANXI_INTERACTION_", func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations, NATS with the INTERACTION stream, the gRPC server
// with its policy and the customer scope; build adds the rest.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "interaction", Migrations: migrations.FS, Policy: grpcport.Policy, CustomerReader: customerv1.Reader,
		Stream: interactionv1.Stream, StreamSubjects: []string{interactionv1.StreamSubjects},
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
		Broker: cfg.Broker, CustomerAddr: cfg.CustomerAddr, Jobs: cfg.Jobs,
	}, logger, build(cfg))
}

// build makes the service on a started host: the customer directory, the
// store publishing through the outbox, the use cases, the gRPC server, the
// consumers of customer and ingest events and the SLA and follow-up checks.
func build(cfg Config) servicehost.Build {
	return func(_ context.Context, h *servicehost.Host) error {
		conn, err := h.Dial(cfg.CustomerAddr)
		if err != nil {
			return fmt.Errorf("customer service: %w", err)
		}
		customers := clients.NewCustomers(conn, cfg.CustomerTimeout)
		opts := []app.Option{app.WithDirectory(customers), app.WithSurveyBaseURL(cfg.SurveyBaseURL)}
		if cfg.SurveySecret != "" {
			signer, err := linksign.New([]byte(cfg.SurveySecret))
			if err != nil {
				return err
			}
			opts = append(opts, app.WithSurveyLinks(cfg.PublicURL, signer))
		}
		svc := app.New(sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder()), customers, cfg.Clock, opts...)
		interactionv1.RegisterInteractionServiceServer(h.Server, grpcport.NewServer(svc, h.Scope))
		h.Consume(eventsport.CustomersConsumer(), eventsport.CustomersHandler(svc.Merges))
		ingest := eventsport.IngestConsumer{JS: h.JS, NC: h.JS.Conn(), Uc: svc.Ingestion, Logger: h.Logger,
			Authorize: ingestAuthorizer(h.Guard), Streams: h.Streams}
		h.GoWithNATS("ingest", ingest.Run)
		interval := cfg.SLACheckInterval
		if interval <= 0 {
			interval = 30 * time.Second
		}
		h.EveryNow("schedules", interval, svc.RunScheduled)
		return nil
	}
}

// ingestAuthorizer holds an event published on NATS to the rule of the
// BatchIngestEvents RPC, through the gRPC server's own guard: one policy
// decides who may ingest, whichever way the events come.
func ingestAuthorizer(g *auth.Guard) eventsport.Authorizer {
	return func(ctx context.Context, authorization string, published time.Time) error {
		if _, err := g.Authorize(ctx, interactionv1.InteractionService_BatchIngestEvents_FullMethodName, authorization, published); err != nil {
			return errors.New(status.Convert(err).Message())
		}
		return nil
	}
}
