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
	"github.com/guanxi-crm/guanxi/platform/config"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/redisclient"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/calendar"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/caps"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/clients"
	eventsadapter "github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
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
	NATSURL     string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// NATS is how the service authenticates to NATS: credentials (an NKey
	// seed or a .creds file), TLS and inbox prefix, read from
	// GUANXI_NOTIFICATION_NATS_* (see events.NATSAuth).
	NATS platformevents.NATSAuth `envPrefix:"NATS_"`
	// RedisURL, when set, keeps the frequency caps in Redis (shared by
	// replicas); without it they are counted in the database.
	RedisURL string `env:"REDIS_URL" secret:"true"`
	// RedisPrefix starts the name of every Redis key the caps use, so
	// deployments can share one Redis.
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:"guanxi:notification:"`
	// CustomerAddr is the customer service, told of unsubscribe opt-outs.
	CustomerAddr string `env:"CUSTOMER_ADDR" envDefault:"127.0.0.1:7101"`
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
	cfg, err := config.Load[Config](EnvPrefix)
	if err != nil {
		return cfg, err
	}
	cfg.Auth, err = auth.LoadConfig()
	return cfg, err
}

// Run runs the service until ctx is done (returning nil) or a part of it
// fails (returning the error).
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if err := run(ctx, cfg, logger); err != nil {
		return fmt.Errorf("run notification: %w", err)
	}
	return nil
}

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	quiet, err := domain.ParseQuietHours(cfg.QuietHours)
	if err != nil {
		return err
	}
	cal, err := calendar.Load(cfg.CalendarDir)
	if err != nil {
		return err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	h, err := servicehost.Start(ctx, servicehost.Options{
		Name:           "notification",
		Config:         cfg,
		DatabaseURL:    cfg.DatabaseURL,
		Migrations:     migrations.FS,
		NATSURL:        cfg.NATSURL,
		NATS:           cfg.NATS,
		Stream:         notificationv1.Stream,
		StreamSubjects: []string{notificationv1.StreamSubjects},
		GRPCAddr:       cfg.GRPCAddr,
		Listener:       cfg.Listener,
		Auth:           cfg.Auth,
		Policy:         grpcport.Policy,
		CustomerReader: customerv1.Reader,
		CustomerAddr:   cfg.CustomerAddr,
	}, logger)
	if err != nil {
		return err
	}
	closers := []func() error{}
	fail := func(err error) error {
		for _, c := range closers {
			err = errors.Join(err, c())
		}
		return errors.Join(err, h.Close())
	}

	store := sqlstore.New(h.DB, h.Outbox, eventsadapter.NewEncoder())
	sender := cfg.Sender
	if sender == nil {
		var closeChannels func() error
		sender, closeChannels, err = buildChannels(cfg, channels.NewSink(h.DB, h.Logger), now)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, closeChannels)
	}
	var capper domain.Capper = caps.NewSQL(h.DB)
	if cfg.RedisURL != "" {
		// Fails fast while Redis is down: a dispatch waits for it no longer
		// than one failed dial.
		rdb, err := redisclient.Open(cfg.RedisURL, logger)
		if err != nil {
			return fail(fmt.Errorf("redis url: %w", err))
		}
		closers = append(closers, rdb.Close)
		capper = caps.NewRedis(rdb, cfg.RedisPrefix)
	}
	signed, err := auth.ServiceDialOption(cfg.Auth, "notification")
	if err != nil {
		return fail(err)
	}
	var consentWriter domain.ConsentWriter = unconfigured{"customer"}
	if cfg.CustomerAddr != "" {
		conn, err := grpcclient.Dial(cfg.CustomerAddr, signed)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, conn.Close)
		consentWriter = clients.NewConsents(conn)
	}
	members := cfg.Members
	if members == nil {
		members = unconfigured{"segmentation"}
		if cfg.SegmentationAddr != "" {
			conn, err := grpcclient.Dial(cfg.SegmentationAddr, signed)
			if err != nil {
				return fail(err)
			}
			closers = append(closers, conn.Close)
			members = clients.NewSegments(conn)
		}
	}

	workers := cfg.DispatchWorkers
	if h.DB.Dialect == sqldb.SQLite {
		// SQLite writes one transaction at a time and has few
		// connections: more workers would only queue for them.
		workers = 1
	}
	dispatcher := app.NewDispatcher(store, sender, h.Logger, app.DispatcherOptions{
		Interval:   cfg.DispatchInterval,
		Now:        now,
		Retry:      domain.RetryPolicy{MaxAttempts: cfg.MaxAttempts, BaseDelay: cfg.RetryBaseDelay, MaxDelay: cfg.RetryMaxDelay},
		QuietHours: quiet,
		Capper:     capper,
		CapPerDay:  cfg.CapPerDay,
		Workers:    workers,
	})
	syncer := app.NewConsentSyncer(store, consentWriter, h.Logger, 0)
	opts := app.Options{Waker: dispatcher, Now: now, Calendar: cal, QuietHours: quiet, MorningHour: cfg.MorningHour, PublicURL: cfg.PublicURL,
		ConsentSyncWaker: syncer}
	if cfg.UnsubscribeSecret != "" {
		if opts.Signer, err = domain.NewUnsubscribeSigner([]byte(cfg.UnsubscribeSecret)); err != nil {
			return fail(err)
		}
	}
	svc := app.NewService(store, opts)
	runner := app.NewCampaignRunner(svc, members, h.Logger, cfg.CampaignInterval)
	svc.SetCampaignWaker(runner)

	notificationv1.RegisterNotificationServiceServer(h.Server, grpcport.NewServer(svc).WithOperations(h.Operations))
	h.Go("dispatch", dispatcher.Run)
	h.Go("schedules", app.NewScheduler(svc, cfg.ScanInterval, h.Logger).Run)
	h.Go("campaigns", runner.Run)
	h.Go("consent-sync", syncer.Run)
	h.Consume(eventsport.CustomersConsumer(), eventsport.CustomersHandler(svc.Customers))
	h.Consume(eventsport.InteractionsConsumer(), eventsport.InteractionsHandler(svc.Triggers))
	h.Consume(eventsport.LoyaltyConsumer(), eventsport.LoyaltyHandler(svc.Triggers))
	h.Consume(eventsport.SegmentationConsumer(), eventsport.SegmentationHandler(svc.Triggers))
	err = h.Run(ctx)
	for _, c := range closers {
		err = errors.Join(err, c())
	}
	return err
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
