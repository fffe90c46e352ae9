// Package notification is the notification service: it writes to
// customers when it matters to them (a welcome, a birthday, a holiday, a
// member day, a new tier, expiring points, a resolved case with its
// satisfaction survey, a win-back offer, campaigns to a segment) and to
// agents (follow-ups due), on a channel the customer consented to, at a
// decent hour in their time zone and within frequency caps. It keeps every
// message with its delivery attempts, retries transient failures with
// backoff, dead-letters permanent ones, and publishes
// notification.message.* events. It follows the customer service's
// profile, consent, merge and erasure events. Run is its whole lifecycle,
// used by cmd/notification and by `guanxi dev`.
package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/calendar"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/caps"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/clients"
	eventsadapter "github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	metricsadapter "github.com/guanxi-crm/guanxi/services/notification/internal/adapters/metrics"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	eventsport "github.com/guanxi-crm/guanxi/services/notification/internal/ports/events"
	grpcport "github.com/guanxi-crm/guanxi/services/notification/internal/ports/grpc"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// EnvPrefix prefixes every configuration variable of the service.
const EnvPrefix = "GUANXI_NOTIFICATION_"

// Sender delivers a message on its channel; see domain.Sender.
type Sender = domain.Sender

// Delivery is what a Sender is asked to deliver.
type Delivery = domain.Delivery

// Receipt is a channel's answer to an accepted delivery.
type Receipt = domain.Receipt

// MemberSource streams a segment's members for campaigns.
type MemberSource = domain.MemberSource

// Permanent marks a channel's error as not worth retrying.
func Permanent(err error) error { return domain.Permanent(err) }

// Config is the service's configuration, read from GUANXI_NOTIFICATION_*
// variables.
type Config struct {
	GRPCAddr    string `env:"GRPC_ADDR" envDefault:"127.0.0.1:7105"`
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.guanxi/notification.db"`
	// Metrics is METRICS_ADDR: where the service serves Prometheus
	// metrics, an admin address (see telemetry.Metrics); empty for none.
	telemetry.Metrics
	// Broker is NATS_URL and the NATS_* auth (see servicehost.Broker).
	servicehost.Broker
	// RedisURL, when set, keeps the frequency caps in Redis (shared by
	// replicas): redis://host:port/db for one Redis, or
	// redis+cluster://host:port?addr=host2:port2&addr=... for a Redis
	// Cluster (rediss:// and rediss+cluster:// with TLS). Without it they
	// are counted in the database, which every replica shares too.
	RedisURL string `env:"REDIS_URL" secret:"true"`
	// RedisPrefix starts the name of every Redis key the caps use, so
	// deployments can share one Redis.
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:"guanxi:notification:"`
	// CustomerService is the customer service, also told of unsubscribe
	// opt-outs.
	servicehost.CustomerService
	// Jobs is JOB_LEASE: how the replicas share the background jobs (see
	// servicehost.Jobs).
	servicehost.Jobs
	// SegmentationAddr is the segmentation service, which streams campaign
	// audiences.
	SegmentationAddr string `env:"SEGMENTATION_ADDR" envDefault:"127.0.0.1:7104"`

	// DispatchInterval is how often queued messages that no commit woke the
	// dispatcher for (come due, or left behind by a crash) are looked for.
	DispatchInterval time.Duration `env:"DISPATCH_INTERVAL" envDefault:"5s"`
	// DispatchWorkers is how many dispatch rounds run at once on
	// PostgreSQL (SQLite takes one).
	DispatchWorkers int `env:"DISPATCH_WORKERS" envDefault:"4"`
	// ScanInterval is how often birthdays, holidays and member days are
	// scanned for.
	ScanInterval time.Duration `env:"SCAN_INTERVAL" envDefault:"10m"`
	// CampaignInterval is how often campaigns due are looked for.
	CampaignInterval time.Duration `env:"CAMPAIGN_INTERVAL" envDefault:"1s"`
	// MorningHour is the local hour greetings go out at.
	MorningHour int `env:"MORNING_HOUR" envDefault:"9"`
	// QuietHours ("HH:MM-HH:MM", local time; empty for none) defer messages.
	QuietHours string `env:"QUIET_HOURS" envDefault:"21:00-08:00"`
	// CapPerDay is how many messages a customer gets on one channel on one
	// local day (0: no cap). Replies to what the customer did (a resolved
	// case, its survey) do not count.
	CapPerDay int `env:"CAP_PER_DAY" envDefault:"2"`
	// CalendarDir holds calendar files replacing the computed holidays of
	// their years (see package calendar).
	CalendarDir string `env:"CALENDAR_DIR"`
	// MaxAttempts, RetryBaseDelay and RetryMaxDelay shape the retries of
	// transient delivery failures: the wait doubles from the base.
	MaxAttempts    int           `env:"MAX_ATTEMPTS" envDefault:"5"`
	RetryBaseDelay time.Duration `env:"RETRY_BASE_DELAY" envDefault:"30s"`
	RetryMaxDelay  time.Duration `env:"RETRY_MAX_DELAY" envDefault:"1h"`

	// PublicURL is where customers reach the REST edge: unsubscribe links
	// are PublicURL/unsubscribe?token=...
	PublicURL string `env:"PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// UnsubscribeSecret signs unsubscribe links; set the same one on every
	// replica. Empty disables the links.
	UnsubscribeSecret string `env:"UNSUBSCRIBE_SECRET" secret:"true"`

	// SMTP: email goes out through SMTPAddr (host:port) when set.
	SMTPAddr     string `env:"SMTP_ADDR"`
	SMTPFrom     string `env:"SMTP_FROM" envDefault:"guanxi <care@guanxi.invalid>"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD" secret:"true"`
	// SMTPSecurity is "starttls" (required), "opportunistic", "implicit"
	// (TLS from the start, port 465) or "none"; empty picks implicit on
	// port 465, starttls with a username, opportunistic otherwise.
	// Passwords go only over TLS.
	SMTPSecurity string `env:"SMTP_SECURITY"`
	// SMTPCAFile, a PEM bundle, replaces the system CAs for checking the
	// server's certificate (a private relay).
	SMTPCAFile string `env:"SMTP_CA_FILE"`
	// SMTPIdleTimeout is how long a connection is kept open for the next
	// email.
	SMTPIdleTimeout time.Duration `env:"SMTP_IDLE_TIMEOUT" envDefault:"30s"`
	// SMS: text messages go out through the provider API at SMSURL when set.
	SMSURL       string `env:"SMS_URL"`
	SMSAccountID string `env:"SMS_ACCOUNT_ID"`
	SMSAPIKey    string `env:"SMS_API_KEY" secret:"true"`
	SMSSender    string `env:"SMS_SENDER"`
	// Webhook: agent notices are POSTed to WebhookURL, signed with
	// WebhookSecret, when set.
	WebhookURL    string `env:"WEBHOOK_URL"`
	WebhookSecret string `env:"WEBHOOK_SECRET" secret:"true"`

	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev).
	Listener net.Listener `env:"-"`
	// Auth is the deployment's token setup, read from GUANXI_AUTH_* as by
	// every process of guanxi (see platform/auth).
	Auth auth.Config `env:"-"`
	// Sender, when set, delivers every message instead of the configured
	// channels and the default sink (which stores deliveries in the
	// database without sending them).
	Sender Sender `env:"-"`
	// Members, when set, streams campaign audiences instead of the
	// segmentation service (tests, benchmarks).
	Members MemberSource `env:"-"`
	// Now, when set, is the service's clock (tests).
	Now func() time.Time `env:"-"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	return servicehost.LoadConfig(EnvPrefix, func(c *Config) *auth.Config { return &c.Auth })
}

// Run runs the service until ctx is done or a part of it fails. It returns
// nil after a clean shutdown. The host starts the database with the
// service's migrations, NATS with the NOTIFICATION stream, the gRPC server
// with its policy and the customer scope; build adds the rest. Quiet hours
// and calendar files it cannot use (see timing) fail it before anything is
// opened.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	return servicehost.Run(ctx, servicehost.Options{
		Name: "notification", Migrations: migrations.FS, Policy: grpcport.Policy, CustomerReader: customerv1.Reader,
		Stream: notificationv1.Stream, StreamSubjects: []string{notificationv1.StreamSubjects},
		Config: cfg, DatabaseURL: cfg.DatabaseURL, GRPCAddr: cfg.GRPCAddr, MetricsAddr: cfg.MetricsAddr, Listener: cfg.Listener, Auth: cfg.Auth,
		Broker: cfg.Broker, CustomerAddr: cfg.CustomerAddr, Jobs: cfg.Jobs,
		Validate: func() error { _, _, err := cfg.timing(); return err },
	}, logger, build(cfg))
}

// timing is when messages may go out: the quiet hours and the calendar of
// holidays (the computed one, with the files of CalendarDir in place of
// their years).
func (c Config) timing() (domain.QuietHours, *calendar.Calendar, error) {
	quiet, err := domain.ParseQuietHours(c.QuietHours)
	if err != nil {
		return domain.QuietHours{}, nil, err
	}
	cal, err := calendar.Load(c.CalendarDir)
	return quiet, cal, err
}

// build makes the service on a started host: the store publishing through
// the outbox, the channels, the caps, the clients of the customer and
// segmentation services, the use cases, the gRPC server, the dispatcher,
// schedules, campaigns and consent sync, and the consumers of customer,
// interaction, loyalty and segmentation events.
func build(cfg Config) servicehost.Build {
	return func(_ context.Context, h *servicehost.Host) error {
		quiet, cal, err := cfg.timing()
		if err != nil {
			return err
		}
		now := cfg.Now
		if now == nil {
			now = time.Now
		}
		store := sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder())
		sender, err := openSender(cfg, h, now)
		if err != nil {
			return err
		}
		capper, err := openCapper(cfg, h)
		if err != nil {
			return err
		}
		consents, members, err := dialPeers(cfg, h)
		if err != nil {
			return err
		}
		counters, err := metricsadapter.New()
		if err != nil {
			return err
		}
		dispatcher := app.NewDispatcher(store, sender, h.Logger, app.DispatcherOptions{
			Metrics:    counters,
			Interval:   cfg.DispatchInterval,
			Now:        now,
			Retry:      domain.RetryPolicy{MaxAttempts: cfg.MaxAttempts, BaseDelay: cfg.RetryBaseDelay, MaxDelay: cfg.RetryMaxDelay},
			QuietHours: quiet,
			Capper:     capper,
			CapPerDay:  cfg.CapPerDay,
			Workers:    dispatchWorkers(cfg, h.DB),
		})
		syncer := app.NewConsentSyncer(store, consents, h.Logger, 0)
		opts := app.Options{Waker: dispatcher, Now: now, Calendar: cal, QuietHours: quiet, MorningHour: cfg.MorningHour, PublicURL: cfg.PublicURL,
			ConsentSyncWaker: syncer, Metrics: counters}
		if cfg.UnsubscribeSecret != "" {
			if opts.Signer, err = domain.NewUnsubscribeSigner([]byte(cfg.UnsubscribeSecret)); err != nil {
				return err
			}
		}
		svc := app.NewService(store, opts)
		runner := app.NewCampaignRunner(svc, members, h.Logger, cfg.CampaignInterval)
		svc.SetCampaignWaker(runner)

		notificationv1.RegisterNotificationServiceServer(h.Server, grpcport.NewServer(svc).WithOperations(h.Operations))
		h.Go("dispatch", dispatcher.Run)
		// The dispatcher and the campaign runner claim each message and
		// campaign with a lease of their own (FOR UPDATE SKIP LOCKED), so
		// they run on every replica; the scan runs once per interval
		// across replicas, and the consent sync on one replica at a time.
		scanInterval := cfg.ScanInterval
		if scanInterval <= 0 {
			scanInterval = 10 * time.Minute
		}
		h.EveryNow("schedules", scanInterval, app.NewScheduler(svc, h.Logger).Scan)
		h.Go("campaigns", runner.Run)
		h.Single("consent-sync", syncer.Run)
		h.Consume(eventsport.CustomersConsumer(svc.Customers), eventsport.CustomersHandler(svc.Customers))
		h.Consume(eventsport.InteractionsConsumer(), eventsport.InteractionsHandler(svc.Triggers))
		h.Consume(eventsport.LoyaltyConsumer(svc.Triggers), eventsport.LoyaltyHandler(svc.Triggers))
		h.Consume(eventsport.SegmentationConsumer(), eventsport.SegmentationHandler(svc.Triggers))
		return nil
	}
}

// openSender is cfg.Sender when set, else the configured channels with the dev
// sink behind them, closed with the host.
func openSender(cfg Config, h *servicehost.Host, now func() time.Time) (domain.Sender, error) {
	if cfg.Sender != nil {
		return cfg.Sender, nil
	}
	s, closeChannels, err := buildChannels(cfg, channels.NewSink(h.DB, h.Logger), now)
	if err != nil {
		return nil, err
	}
	h.OnClose(closeChannels)
	return s, nil
}

// openCapper counts the frequency caps in Redis when RedisURL is set (shared by
// replicas), else in the database.
func openCapper(cfg Config, h *servicehost.Host) (domain.Capper, error) {
	if cfg.RedisURL == "" {
		return caps.NewSQL(h.DB), nil
	}
	// Fails fast while Redis is down: a dispatch waits for it no longer
	// than one failed dial.
	rdb, err := redisclient.Open(cfg.RedisURL, h.Logger)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	h.OnClose(rdb.Close)
	return caps.NewRedis(rdb, cfg.RedisPrefix), nil
}

// dialPeers dials the customer service, told of opt-outs, and the source of
// campaign audiences (cfg.Members, else the segmentation service). A
// service without an address stays unconfigured: its calls fail with the
// reason.
func dialPeers(cfg Config, h *servicehost.Host) (domain.ConsentWriter, domain.MemberSource, error) {
	var consents domain.ConsentWriter = unconfigured{"customer"}
	if cfg.CustomerAddr != "" {
		conn, err := h.Dial(cfg.CustomerAddr)
		if err != nil {
			return nil, nil, err
		}
		consents = clients.NewConsents(conn)
	}
	members := cfg.Members
	if members == nil {
		members = unconfigured{"segmentation"}
		if cfg.SegmentationAddr != "" {
			conn, err := h.Dial(cfg.SegmentationAddr)
			if err != nil {
				return nil, nil, err
			}
			members = clients.NewSegments(conn)
		}
	}
	return consents, members, nil
}

// dispatchWorkers is how many dispatch rounds run at once: SQLite writes
// one transaction at a time and has few connections, so more workers would
// only queue for them.
func dispatchWorkers(cfg Config, db *sqldb.DB) int {
	if db.Dialect == sqldb.SQLite {
		return 1
	}
	return cfg.DispatchWorkers
}

// buildChannels routes each channel to its configured provider, and every
// channel without one to the dev sink.
// The returned close ends the connections channels keep open.
func buildChannels(cfg Config, sink *channels.Sink, now func() time.Time) (domain.Sender, func() error, error) {
	routes := map[domain.Channel]domain.Sender{}
	closeAll := func() error { return nil }
	if cfg.SMTPAddr != "" {
		smtpCfg := channels.SMTPConfig{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			Security: channels.SMTPSecurity(cfg.SMTPSecurity), IdleTimeout: cfg.SMTPIdleTimeout}
		if cfg.SMTPCAFile != "" {
			pool, err := channels.LoadRootCAs(cfg.SMTPCAFile)
			if err != nil {
				return nil, nil, err
			}
			smtpCfg.RootCAs = pool
		}
		s, err := channels.NewSMTP(smtpCfg)
		if err != nil {
			return nil, nil, err
		}
		routes[domain.ChannelEmail] = s
		closeAll = s.Close
	}
	if cfg.SMSURL != "" {
		s, err := channels.NewSMS(channels.SMSConfig{URL: cfg.SMSURL, AccountID: cfg.SMSAccountID, APIKey: cfg.SMSAPIKey, Sender: cfg.SMSSender})
		if err != nil {
			return nil, nil, err
		}
		routes[domain.ChannelSMS] = s
	}
	if cfg.WebhookURL != "" {
		s, err := channels.NewWebhook(channels.WebhookConfig{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Now: now})
		if err != nil {
			return nil, nil, err
		}
		routes[domain.ChannelWebhook] = s
	}
	return channels.NewRouter(routes, sink, 0), closeAll, nil
}

// unconfigured stands in for a service whose address is not configured:
// every call fails, so opt-outs stay pending and campaigns pause with the
// reason.
type unconfigured struct{ service string }

func (u unconfigured) SetConsent(context.Context, string, domain.Channel, domain.ConsentStatus, string) error {
	return errors.New("no " + u.service + " service address configured")
}

func (u unconfigured) StreamMembers(context.Context, string, func([]string) error) error {
	return errors.New("no " + u.service + " service address configured")
}
