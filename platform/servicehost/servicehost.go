// Package servicehost is the lifecycle every guanxi service shares, so that
// a service's wiring only lists what is its own (migrations, stream, policy,
// store, use cases, gRPC server, consumers, jobs). Start opens the database
// and migrates it, connects to NATS, ensures the service's stream and binds
// the gRPC listener; Run serves and relays until the context is done or a
// part fails, then shuts down in reverse order of start, as DESIGN.md
// section 4 asks. The package-level Run does all three around a service's
// build function, which is how every service starts:
//
//	func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
//		return servicehost.Run(ctx, host(cfg), logger, build(cfg))
//	}
package servicehost

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/operations"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/lease"
	"github.com/guanxi-crm/guanxi/platform/telemetry"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// DrainTimeout bounds how long shutdown waits for NATS to flush pending
// publishes and acks; a broker that went away must not hold the process.
const DrainTimeout = 10 * time.Second

// LoadConfig reads a service's configuration C from the environment
// variables that start with prefix (see config.Load), then the
// deployment's token setup from GUANXI_AUTH_* (see auth.LoadConfig), which
// every process of guanxi shares, into the field authOf points at.
func LoadConfig[C any](prefix string, authOf func(*C) *auth.Config) (C, error) {
	cfg, err := config.Load[C](prefix)
	if err != nil {
		return cfg, err
	}
	*authOf(&cfg), err = auth.LoadConfig()
	return cfg, err
}

// Options says what a service needs started for it.
type Options struct {
	// Name is the service's short name ("loyalty"), used in log messages,
	// as the NATS connection name "guanxi-<name>", as the identity its
	// calls to other services are signed with (see Host.Dial) and, by Run,
	// in front of its errors ("run loyalty: ...").
	Name string
	// Config, when not nil, is logged once at start through config.Attr,
	// so secrets stay masked.
	Config any
	// Validate, when set, checks the configuration before anything is
	// opened: a setup that cannot work fails without touching the database
	// or the broker.
	Validate func() error

	DatabaseURL string
	// Migrations are applied before anything else runs.
	Migrations fs.FS

	// Jobs says how the replicas share the background jobs (Every, Single).
	Jobs

	// Broker is the service's broker, as its Config holds it: NATSURL ""
	// for a service that neither publishes nor consumes, which then gets
	// no JS; a NATS auth left empty connects anonymously, as to a local
	// broker without authorization.
	Broker
	// Stream is the service's own JetStream stream, ensured at start and
	// fed by the outbox relay; "" for a service that publishes nothing,
	// which then gets no Outbox.
	Stream         string
	StreamSubjects []string

	// MetricsAddr, when set, is where Run serves the process's Prometheus
	// metrics at /metrics (see telemetry.Metrics): the metrics of the meter
	// provider telemetry.Setup installed, so of every service in the
	// process. Start binds it. `guanxi dev` leaves it empty and serves the
	// whole process's metrics itself.
	MetricsAddr string

	GRPCAddr string
	// Listener, when set, is served instead of listening on GRPCAddr (tests
	// and guanxi dev bind their ports up front). The Host owns it from a
	// successful Start on.
	Listener net.Listener

	// Auth verifies callers' tokens, and Policy says which roles may call
	// which of the service's RPCs: every call without a valid token is
	// refused.
	Auth   auth.Config
	Policy auth.Policy
	// CustomerReader, for a service keeping data by customer, holds agents
	// and managers to their teams' customers (see auth.CustomerScope),
	// reading customers through it at CustomerAddr with the caller's own
	// token. Without CustomerAddr they are refused; without CustomerReader
	// (the customer service itself) nothing is scoped here.
	CustomerReader func(grpc.ClientConnInterface) auth.ReadCustomer
	CustomerAddr   string
}

// Host holds what Start opened. Its fields are for building the service
// between Start and Run; Run releases them all.
type Host struct {
	DB *sqldb.DB
	// JS is nil when Options.NATSURL is "". It exists from Start on, also
	// while NATS is unreachable: what needs NATS runs once it is connected
	// (Consume, GoWithNATS), and the outbox relays once it is.
	JS     jetstream.JetStream
	Outbox *events.Outbox // nil when Options.Stream is ""
	// Streams is how the service's streams are made (Options.Streams), for
	// a part that ensures a stream of its own (events.EnsureStreamWith).
	Streams events.StreamOptions
	Server  *grpcserver.Server
	Logger  *slog.Logger
	// Operations runs the service's long-running operations (AIP-151) in
	// its database; Run stops their work on shutdown.
	Operations *operations.Runner
	// Leases runs the background jobs (Every, EveryNow, Single) once
	// across the service's replicas, through lease rows in its database.
	Leases *lease.Manager
	// Scope is the team scope Start installed, nil without a
	// CustomerReader; handlers that learn a record's customer only by
	// reading it call Scope.Check.
	Scope *auth.CustomerScope
	// Guard is the guard of the gRPC server, for requests that come another
	// way but stand for an RPC (events on NATS): Guard.Authorize applies
	// the same policy to them.
	Guard *auth.Guard

	name string
	auth auth.Config
	nc   *nats.Conn
	// customers is the scope's connection, unsigned: calls on it carry the
	// caller's token.
	customers *grpc.ClientConn
	listener  net.Listener
	// metrics is the listener of MetricsAddr, nil without one;
	// observed are the service's metric callbacks (outbox, pool, jobs),
	// unregistered before the database closes.
	metrics  net.Listener
	observed []metric.Registration
	loops    []loop
	// natsLoops start once NATS is ready (natsReady closed: connected to a
	// recent enough server, the service's stream ensured).
	natsLoops      []loop
	natsReady      chan struct{}
	stream         string
	streamSubjects []string
	// consumers tunes the consumers; pruning is set when the inbox
	// pruning job is added (with the first consumer).
	consumers Consumers
	pruning   bool
	// closers are what the service opened on the host (clients, channels),
	// closed in reverse order of registration by release.
	closers  []func() error
	released bool
}

// Build builds a service on a started host: its store and use cases, its
// gRPC server (registered on Host.Server), its consumers and jobs (Consume,
// Go, Every) and what they need to close (OnClose, Dial). An error from it
// stops the service before it serves.
type Build func(ctx context.Context, h *Host) error

// Run starts a host for opts, builds the service on it and runs it until ctx
// is done or a part fails (see Host.Run). Whatever fails (Validate, Start,
// build, a part while running) is returned as "run <name>: <error>", after
// everything opened has been released. It returns nil after a clean
// shutdown.
func Run(ctx context.Context, opts Options, logger *slog.Logger, build Build) error {
	if err := run(ctx, opts, logger, build); err != nil {
		return fmt.Errorf("run %s: %w", opts.Name, err)
	}
	return nil
}

func run(ctx context.Context, opts Options, logger *slog.Logger, build Build) error {
	if opts.Validate != nil {
		if err := opts.Validate(); err != nil {
			return err
		}
	}
	h, err := Start(ctx, opts, logger)
	if err != nil {
		return err
	}
	if err := build(ctx, h); err != nil {
		return errors.Join(err, h.Close())
	}
	return h.Run(ctx)
}

type loop struct {
	name string
	run  func(ctx context.Context) error
}

// Start opens and migrates the database, connects to NATS, ensures the
// service's stream and binds the gRPC listener, guarded by opts.Auth and
// opts.Policy. NATS unreachable is no failure: the connection and the
// stream are made in the background once it answers (see Run); a NATS
// server older than events.MinServerVersion is. On failure it releases what
// it opened (a Listener passed in opts stays the caller's). A nil logger
// means slog.Default().
func Start(ctx context.Context, opts Options, logger *slog.Logger) (_ *Host, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	var attrs []slog.Attr
	if opts.Config != nil {
		attrs = append(attrs, config.Attr(opts.Config))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "starting "+opts.Name+" service", attrs...)
	// A setup that cannot verify tokens fails before anything is opened.
	verifier, err := auth.NewVerifier(opts.Auth)
	if err != nil {
		return nil, err
	}
	h := &Host{Logger: logger, name: opts.Name, auth: opts.Auth, consumers: opts.Consumers}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.release())
		}
	}()

	if h.DB, err = sqldb.Open(ctx, opts.DatabaseURL); err != nil {
		return nil, err
	}
	if err := h.DB.Migrate(ctx, opts.Migrations); err != nil {
		return nil, err
	}
	h.Operations = operations.New(h.DB, opts.Name, logger)
	h.Leases = lease.New(h.DB, lease.Config{TTL: opts.JobLease, Logger: logger})

	if opts.Stream != "" && opts.NATSURL == "" {
		return nil, errors.New("a service with a stream needs a NATS URL")
	}
	if err := opts.Streams.Validate(); err != nil {
		return nil, fmt.Errorf("nats stream settings: %w", err)
	}
	h.Streams, h.stream, h.streamSubjects = opts.Streams, opts.Stream, opts.StreamSubjects
	if opts.NATSURL != "" {
		natsOpts, err := opts.NATS.Options()
		if err != nil {
			return nil, err
		}
		// An unreachable NATS does not stop the service: it serves, its
		// outbox keeps what it publishes, and the connection is made in
		// the background (see Run). A server that answers but is too old
		// is refused here.
		natsOpts = append(natsOpts, nats.RetryOnFailedConnect(true))
		if h.nc, h.JS, err = events.Connect(opts.NATSURL, "guanxi-"+opts.Name, logger, natsOpts...); err != nil {
			return nil, err
		}
		if err := events.CheckServerVersion(h.nc); err != nil {
			return nil, err
		}
		h.natsReady = make(chan struct{})
		if h.nc.IsConnected() {
			// Connected now: the stream exists before Start returns, as
			// the service's build may expect. A failure (a cluster
			// electing a leader) is retried by Run.
			if err := h.ensureStream(ctx); errors.Is(err, events.ErrStreamSettings) {
				return nil, err
			} else if err != nil {
				logger.WarnContext(ctx, "nats stream not ensured yet, retrying in the background", slog.Any("error", err))
			} else {
				close(h.natsReady)
			}
		} else {
			logger.WarnContext(ctx, "nats unreachable, serving without it and connecting in the background", slog.String("url", opts.NATSURL))
		}
	}
	if opts.Stream != "" {
		h.Outbox = events.NewOutbox(h.DB, h.JS, logger)
	}
	if err := h.observe(); err != nil {
		return nil, err
	}
	if opts.MetricsAddr != "" {
		if h.metrics, err = telemetry.ListenMetrics(ctx, opts.MetricsAddr); err != nil {
			return nil, err
		}
	}

	h.listener = opts.Listener
	if h.listener == nil {
		var lc net.ListenConfig
		if h.listener, err = lc.Listen(ctx, "tcp", opts.GRPCAddr); err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	tlsFiles, err := tlsconfig.Process()
	if err != nil {
		return nil, err
	}
	serverOpts, err := tlsFiles.ServerOptions()
	if err != nil {
		return nil, err
	}
	h.Guard = auth.NewGuard(verifier, opts.Policy, logger)
	serverOpts = append(serverOpts, h.Guard.ServerOptions()...)
	if opts.CustomerReader != nil {
		var read auth.ReadCustomer
		if opts.CustomerAddr != "" {
			if h.customers, err = grpcclient.Dial(opts.CustomerAddr); err != nil {
				return nil, err
			}
			read = opts.CustomerReader(h.customers)
		}
		h.Scope = auth.NewCustomerScope(read)
		serverOpts = append(serverOpts, h.Scope.ServerOptions()...)
	}
	h.Server = grpcserver.New(logger, serverOpts...)
	if h.nc != nil {
		h.Server.Health.SetServingStatus(NATSHealthService, h.natsStatus())
	}
	return h, nil
}

// observe reports the service's database pool, background jobs and
// outbox to the global meter provider, each series labelled with the
// service's name (see telemetry.ServiceKey).
func (h *Host) observe() error {
	meter := otel.Meter("github.com/guanxi-crm/guanxi/platform/servicehost")
	pool, err := h.DB.ObservePool(meter, h.name)
	if err != nil {
		return err
	}
	h.observed = append(h.observed, pool)
	jobs, err := h.Leases.ObserveJobs(meter, telemetry.ServiceKey.String(h.name))
	if err != nil {
		return err
	}
	h.observed = append(h.observed, jobs)
	if h.Outbox != nil {
		outbox, err := h.Outbox.ObserveOutbox(meter, h.name)
		if err != nil {
			return err
		}
		h.observed = append(h.observed, outbox)
	}
	return nil
}

// NATSHealthService is the name under which a service's gRPC health
// service reports NATS: SERVING while the service is connected to NATS
// and its stream is ensured, NOT_SERVING while it is not. The service
// itself ("") stays SERVING meanwhile: it serves reads and writes, its
// outbox keeps the events, and its consumers catch up once NATS is back.
// A service without NATS has no such entry (NOT_FOUND).
const NATSHealthService = "nats"

func (h *Host) natsStatus() healthpb.HealthCheckResponse_ServingStatus {
	select {
	case <-h.natsReady:
		if h.nc.IsConnected() {
			return healthpb.HealthCheckResponse_SERVING
		}
	default:
	}
	return healthpb.HealthCheckResponse_NOT_SERVING
}

// NATSReady is closed once the service is connected to NATS and its stream
// is ensured; nil for a service without NATS.
func (h *Host) NATSReady() <-chan struct{} { return h.natsReady }

func (h *Host) ensureStream(ctx context.Context) error {
	if h.stream == "" {
		return nil
	}
	// Short, so that a try made while the cluster elects a leader is
	// given up and made again soon after rather than waited out.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return events.EnsureStreamWith(ctx, h.JS, h.Streams, h.stream, h.streamSubjects...)
}

// Retry bounds of watchNATS while NATS is not ready, and how often it
// looks at the connection besides its status changes.
const (
	natsRetryMin = 200 * time.Millisecond
	natsRetryMax = 5 * time.Second
	natsPoll     = time.Second
)

// watchNATS makes NATS ready once it can (connected to a server recent
// enough, the service's stream ensured: natsReady closed), then keeps the
// health service's NATSHealthService entry true until ctx is done. A
// server older than events.MinServerVersion, or a connection closed for
// good (refused credentials), stops the service with the reason.
func (h *Host) watchNATS(ctx context.Context) error {
	changed := h.nc.StatusChanged()
	defer h.nc.RemoveStatusListener(changed)
	poll := time.NewTicker(natsPoll)
	defer poll.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	delay := natsRetryMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-poll.C:
		case <-retry.C:
		}
		if h.nc.IsClosed() {
			return fmt.Errorf("nats connection closed: %v", h.nc.LastError())
		}
		if err := events.CheckServerVersion(h.nc); err != nil {
			return err
		}
		select {
		case <-h.natsReady:
		default:
			if h.nc.IsConnected() {
				if err := h.ensureStream(ctx); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					if errors.Is(err, events.ErrStreamSettings) {
						return err
					}
					h.Logger.WarnContext(ctx, "nats stream not ensured yet, retrying", slog.Any("error", err), slog.Duration("retry_in", delay))
					retry.Reset(delay)
					delay = min(2*delay, natsRetryMax)
				} else {
					h.Logger.InfoContext(ctx, "nats ready", slog.String("url", h.nc.ConnectedUrlRedacted()), slog.String("server_version", h.nc.ConnectedServerVersion()))
					close(h.natsReady)
				}
			}
		}
		h.Server.Health.SetServingStatus(NATSHealthService, h.natsStatus())
	}
}

// afterNATS runs fn once NATS is ready, or returns nil when ctx ends
// first.
func (h *Host) afterNATS(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case <-ctx.Done():
		return nil
	case <-h.natsReady:
	}
	return fn(ctx)
}

// Go adds a background loop (a consumer, a dispatcher) for Run to start. fn
// must return nil once ctx is done; an error from it stops the service.
// Call Go before Run.
func (h *Host) Go(name string, fn func(ctx context.Context) error) {
	h.loops = append(h.loops, loop{name: name, run: fn})
}

// GoWithNATS adds a background loop that needs NATS (a consumer of its
// own making): Run starts it once NATS is ready, which may be long after
// the service started serving when NATS was unreachable then.
func (h *Host) GoWithNATS(name string, fn func(ctx context.Context) error) {
	h.natsLoops = append(h.natsLoops, loop{name: name, run: fn})
}

// Follow calls fn with each message on subjects as it reaches the bus,
// until the host closes: a plain subscription, which the connection keeps
// across reconnects, with no consumer to keep, for what may miss an event
// (a reconnect), such as a cache whose TTL bounds what it misses. Without a
// NATS connection (Options.NATSURL "") it follows nothing.
func (h *Host) Follow(subjects string, fn func(subject string, data []byte)) error {
	if h.nc == nil {
		return nil
	}
	sub, err := h.nc.Subscribe(subjects, func(m *nats.Msg) { fn(m.Subject, m.Data) })
	if err != nil {
		return fmt.Errorf("follow %s: %w", subjects, err)
	}
	// Gone with the connection anyway when it closes first.
	h.OnClose(func() error { _ = sub.Unsubscribe(); return nil })
	return nil
}

// Consume adds a durable consumer of cfg running handler (see events.Consume)
// to the loops Run starts once NATS is ready. Its dead letters go to a
// stream made with the host's Streams. The consumer handles its events in
// batches in transactions of the service's database (cfg.DB and
// cfg.BatchSize, unless set, from the host's DB and
// Consumers.ConsumerBatch). The first consumer also adds the hourly job
// that prunes the inbox past Consumers.InboxRetention.
func (h *Host) Consume(cfg events.ConsumerConfig, handler events.Handler) {
	cfg.DeadLetterStream = h.Streams
	cfg.Service = h.name
	if cfg.DB == nil {
		cfg.DB = h.DB
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = h.consumers.ConsumerBatch
	}
	h.GoWithNATS("consume "+cfg.Durable, func(ctx context.Context) error {
		return events.Consume(ctx, h.JS, cfg, handler, h.Logger)
	})
	if !h.pruning && h.consumers.InboxRetention > 0 {
		h.pruning = true
		h.Every("prune inbox", inboxPruneEvery, func(ctx context.Context) error {
			n, err := events.PruneInbox(ctx, h.DB, time.Now().Add(-h.consumers.InboxRetention))
			if n > 0 {
				h.Logger.InfoContext(ctx, "inbox pruned", slog.Int64("entries", n), slog.Duration("retention", h.consumers.InboxRetention))
			}
			return err
		})
	}
}

// inboxPruneEvery is how often the inbox is pruned.
const inboxPruneEvery = time.Hour

// Every adds a job run once every interval across the service's replicas
// until ctx is done (see lease.Manager.RunEvery): one replica runs each
// period, periods counted from the unix epoch; the first is the period
// after the job first started anywhere. When the replica running it dies,
// another runs the period again within the job lease. A failed run is
// logged and the job tried again next period: a schedule must outlive a
// bad hour (a database restart, too little data yet). An interval of 0 or
// less turns the job off.
func (h *Host) Every(name string, interval time.Duration, job func(ctx context.Context) error) {
	h.every(lease.Periodic{Name: name, Every: interval, Run: job})
}

// EveryNow is Every with the first period due as soon as the job first
// starts anywhere, for scans that should not wait a period after a fresh
// install (expiry, follow-ups, greetings).
func (h *Host) EveryNow(name string, interval time.Duration, job func(ctx context.Context) error) {
	h.every(lease.Periodic{Name: name, Every: interval, AtStart: true, Run: job})
}

func (h *Host) every(p lease.Periodic) {
	if p.Every <= 0 {
		return
	}
	h.Go(p.Name, func(ctx context.Context) error {
		return h.Leases.RunEvery(ctx, p, func(err error) {
			h.Logger.WarnContext(ctx, "scheduled job failed", slog.String("job", p.Name), slog.String("error", err.Error()))
		})
	})
}

// Single adds a loop that runs on one replica at a time (see
// lease.Manager.Hold): the replica holding the job's lease runs fn, the
// others wait and take over within the job lease when it dies. fn must
// return nil once ctx is done, which also happens when the lease is lost.
func (h *Host) Single(name string, fn func(ctx context.Context) error) {
	h.Go(name, func(ctx context.Context) error { return h.Leases.Hold(ctx, name, fn) })
}

// OnClose registers close to be called when the host releases what it
// opened: after the server, the loops and the operations have stopped and
// before NATS and the database close. Closers run in reverse order of
// registration, so what was opened last closes first.
func (h *Host) OnClose(close func() error) {
	h.closers = append(h.closers, close)
}

// Dial opens a client connection to another guanxi service at addr, its
// calls signed with this service's identity (auth.ServiceDialOption), and
// closes it with the host. grpc.NewClient connects lazily: nothing is
// asked of addr until the first call.
func (h *Host) Dial(addr string) (*grpc.ClientConn, error) {
	signed, err := auth.ServiceDialOption(h.auth, h.name)
	if err != nil {
		return nil, err
	}
	conn, err := grpcclient.Dial(addr, signed)
	if err != nil {
		return nil, err
	}
	h.OnClose(conn.Close)
	return conn, nil
}

// Run serves gRPC and runs the outbox relay and the added loops until ctx is
// done or one of them fails. What needs NATS (the relay, Consume and
// GoWithNATS loops) starts once NATS is ready, and the health service
// reports NATS under NATSHealthService meanwhile. Then everything stops together (Serve stops
// gracefully), the OnClose closers run in reverse order, NATS is drained
// within DrainTimeout and the database closed.
// It returns nil after a clean shutdown.
func (h *Host) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	if h.nc != nil {
		g.Go(func() error { return h.watchNATS(gctx) })
	}
	if h.Outbox != nil {
		// Until NATS is ready the outbox only collects: events wait in
		// the database and go out when it is.
		g.Go(func() error { return h.afterNATS(gctx, h.Outbox.Run) })
	}
	for _, l := range h.natsLoops {
		g.Go(func() error {
			if err := h.afterNATS(gctx, l.run); err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			return nil
		})
	}
	for _, l := range h.loops {
		g.Go(func() error {
			if err := l.run(gctx); err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return h.Operations.Run(gctx) })
	if h.metrics != nil {
		lis := h.metrics
		h.metrics = nil // ServeMetrics closes it
		g.Go(func() error { return telemetry.ServeMetrics(gctx, lis) })
		h.Logger.InfoContext(ctx, h.name+" metrics serving", slog.String("addr", lis.Addr().String()))
	}
	g.Go(func() error { return h.Server.Serve(gctx, h.listener) })
	h.Logger.InfoContext(ctx, h.name+" service serving", slog.String("addr", h.listener.Addr().String()))

	err := g.Wait()
	// Serve has closed the listener; do not close it again.
	h.listener = nil
	err = errors.Join(err, h.release())
	if err != nil {
		return err
	}
	h.Logger.InfoContext(ctx, h.name+" service stopped")
	return nil
}

// Close releases what Start opened and what was registered with OnClose,
// for a service that fails to build itself after Start and so never calls
// Run. It does nothing after Run.
func (h *Host) Close() error {
	return h.release()
}

// release undoes Start in reverse order. It is safe to call more than once.
func (h *Host) release() error {
	if h.released {
		return nil
	}
	h.released = true
	var errs []error
	if h.listener != nil {
		if err := h.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close listener: %w", err))
		}
	}
	if h.metrics != nil {
		if err := h.metrics.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close metrics listener: %w", err))
		}
	}
	if h.Operations != nil {
		h.Operations.Stop() // no work may write to the database closed below
	}
	for i := len(h.closers) - 1; i >= 0; i-- {
		errs = append(errs, h.closers[i]())
	}
	if h.customers != nil {
		errs = append(errs, h.customers.Close())
	}
	if h.nc != nil {
		errs = append(errs, drain(h.nc, h.Logger))
	}
	for _, r := range h.observed {
		errs = append(errs, r.Unregister())
	}
	if h.DB != nil {
		errs = append(errs, h.DB.Close())
	}
	return errors.Join(errs...)
}

// drain flushes pending publishes and acks before closing the connection,
// and closes it outright if that takes longer than DrainTimeout.
func drain(nc *nats.Conn, logger *slog.Logger) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) {
			// Closed already, or NATS unreachable: nothing to flush that
			// would get out (the outbox keeps unsent events, unacked
			// messages are redelivered).
			return nil
		}
		return fmt.Errorf("drain nats: %w", err)
	}
	timer := time.NewTimer(DrainTimeout)
	defer timer.Stop()
	select {
	case <-closed:
	case <-timer.C:
		logger.Warn("nats drain timed out, closing", slog.Duration("timeout", DrainTimeout))
		nc.Close()
	}
	return nil
}
