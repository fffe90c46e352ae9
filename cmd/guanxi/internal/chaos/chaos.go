// Package chaos is `guanxi chaos` (`make chaos`): a fault-injection run of
// the whole suite deployed as in production (package deploy: two replicas
// of every service and of the gateway as OS processes, a 3-node JetStream
// cluster, PostgreSQL). It drives purchases, returns and call-center
// events at a steady rate through REST and gRPC, retrying as a POS does
// (same idempotency key), while it kill -9s a random replica every few
// seconds and restarts one NATS node at a time; afterwards it reconciles
// every source of truth with what the clients were told and ends with
//
//	chaos: acknowledged=N lost=0 duplicated=0 recovered_max=Xs
//
// failing when anything was lost or duplicated.
package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
	"github.com/guanxi-crm/guanxi/platform/auth"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// Config scales a run; Load reads it from CHAOS_* variables.
type Config struct {
	Duration     time.Duration // CHAOS_DURATION: how long load and faults run
	Rate         int           // CHAOS_RATE: purchases a second
	Customers    int           // CHAOS_CUSTOMERS: buyers
	KillEvery    time.Duration // CHAOS_KILL_EVERY: mean time between replica kills
	NATSRestarts int           // CHAOS_NATS_RESTARTS: NATS node restarts (0: one per 50s, at least 3)
	Replicas     int           // CHAOS_REPLICAS: of every service and the gateway
	NATSNodes    int           // CHAOS_NATS_NODES
	Settle       time.Duration // CHAOS_SETTLE: how long reconciliation waits for quiescence
}

// defaultConfig fits in 5 minutes on a 2-core machine with at least
// 20,000 acknowledged purchases, 10 kills and 3 NATS restarts.
func defaultConfig() Config {
	return Config{Duration: 200 * time.Second, Rate: 110, Customers: 1000, KillEvery: 6 * time.Second,
		Replicas: 2, NATSNodes: 3, Settle: 150 * time.Second}
}

func loadConfig() (Config, error) {
	c := defaultConfig()
	var errs []error
	dur := func(name string, into *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 60s", name, v))
				return
			}
			*into = d
		}
	}
	num := func(name string, into *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number", name, v))
				return
			}
			*into = n
		}
	}
	dur("CHAOS_DURATION", &c.Duration)
	num("CHAOS_RATE", &c.Rate)
	num("CHAOS_CUSTOMERS", &c.Customers)
	dur("CHAOS_KILL_EVERY", &c.KillEvery)
	num("CHAOS_NATS_RESTARTS", &c.NATSRestarts)
	num("CHAOS_REPLICAS", &c.Replicas)
	num("CHAOS_NATS_NODES", &c.NATSNodes)
	dur("CHAOS_SETTLE", &c.Settle)
	if c.NATSRestarts == 0 {
		c.NATSRestarts = max(3, int(c.Duration/(50*time.Second)))
	}
	if c.Rate < 1 || c.Customers < 1 || c.Replicas < 1 || c.NATSNodes < 1 {
		errs = append(errs, errors.New("CHAOS_RATE, CHAOS_CUSTOMERS, CHAOS_REPLICAS and CHAOS_NATS_NODES must be at least 1"))
	}
	return c, errors.Join(errs...)
}

// Run is `guanxi chaos`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	exe, _ := os.Executable()
	binDir := fs.String("bin", filepath.Dir(exe), "directory of the binaries (make build): gateway, one per service, and guanxi")
	keep := fs.Bool("keep", false, "keep the run's directory (process logs, NATS stores)")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server (default GUANXI_TEST_POSTGRES_URL); fresh databases are made and dropped on it")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: guanxi chaos [flags]

Deploys the suite as separate processes (CHAOS_REPLICAS of every service and
the gateway behind load balancers, a CHAOS_NATS_NODES-node JetStream cluster,
PostgreSQL), drives CHAOS_RATE purchases/s with returns and call-center
events for CHAOS_DURATION while killing replicas (kill -9, every
CHAOS_KILL_EVERY) and NATS nodes, then reconciles every service with what
the clients were told. Exits non-zero if anything was lost or duplicated.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "guanxi-chaos-")
	if err != nil {
		return err
	}
	r := &run{cfg: cfg, out: stdout, dir: dir, bin: *binDir, postgres: pg, keep: *keep}
	err = r.run(ctx)
	// A failed run keeps its logs: the lines above point into them.
	if *keep || err != nil {
		fmt.Fprintf(stderr, "chaos: kept %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	return err
}

type run struct {
	cfg                Config
	out                io.Writer
	dir, bin, postgres string
	keep               bool
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "chaos: "+format+"\n", args...)
}

func (r *run) run(ctx context.Context) error {
	began := time.Now()
	sms, err := newSMSSink()
	if err != nil {
		return err
	}
	defer sms.close()
	replicas := map[string]int{deploy.Gateway: r.cfg.Replicas}
	for _, s := range deploy.Services {
		replicas[s] = r.cfg.Replicas
	}
	r.logf("starting %d replicas of every service and the gateway, %d NATS nodes, on PostgreSQL", r.cfg.Replicas, r.cfg.NATSNodes)
	dep, err := deploy.Start(ctx, deploy.Spec{Dir: r.dir, BinDir: r.bin, Postgres: r.postgres, Replicas: replicas,
		NATSNodes: r.cfg.NATSNodes, Logger: slog.New(slog.NewTextHandler(r.out, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Env: Env(sms.URL()), KeepDatabases: r.keep})
	if err != nil {
		return err
	}
	defer dep.Close()
	r.logf("deployed in %.1fs; logs in %s", time.Since(began).Seconds(), filepath.Join(r.dir, "logs"))

	token, err := dep.Token(auth.Identity{Subject: "chaos", Roles: []auth.Role{auth.Admin}})
	if err != nil {
		return err
	}
	conn := map[string]*grpc.ClientConn{}
	defer func() {
		for _, c := range conn {
			_ = c.Close()
		}
	}()
	dialSvc := func(name string) error {
		c, err := dial(dep.Services[name].Addr(), token)
		conn[name] = c
		return err
	}
	for _, s := range []string{"customer", "interaction", "loyalty", "segmentation"} {
		if err := dialSvc(s); err != nil {
			return err
		}
	}
	grpcConn := func(name string) *grpc.ClientConn { return conn[name] }
	tr := newTruth()
	d := &driver{truth: tr,
		interaction: interactionv1.NewInteractionServiceClient(grpcConn("interaction")),
		customers:   customerv1.NewCustomerServiceClient(grpcConn("customer")),
		loyalty:     loyaltyv1.NewLoyaltyServiceClient(grpcConn("loyalty")),
		rest:        &rest{base: dep.HTTPURL(), token: token, client: &http.Client{Timeout: 15 * time.Second}},
	}
	// Customers are made before the faults start: they are the fixture.
	d.giveUpAt = time.Now().Add(3 * time.Minute)
	buyers, err := d.createCustomers(ctx, r.cfg.Customers+r.cfg.NATSRestarts)
	if err != nil {
		return err
	}
	probes := buyers[r.cfg.Customers:]
	buyers = buyers[:r.cfg.Customers]
	r.logf("%d customers created; driving %d purchases/s for %s", len(buyers), r.cfg.Rate, r.cfg.Duration)

	start := time.Now()
	stop := start.Add(r.cfg.Duration)
	// A POS keeps retrying a purchase for up to 90 s after the load
	// stops; one not acknowledged by then is given up on.
	d.giveUpAt = stop.Add(90 * time.Second)
	f := newFaults(dep, r.out)
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { f.killLoop(runCtx, stop, r.cfg.KillEvery) })
	// Supervised through the settling too: a replica that dies then is
	// restarted (and reported) as during the load.
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	defer stopSupervising()
	go f.supervise(superviseCtx, time.Now().Add(24*time.Hour))
	var probeN atomic.Int64
	wg.Go(func() {
		f.natsLoop(runCtx, start, stop, r.cfg.NATSRestarts, func(ctx context.Context) error {
			// A customer of its own per probe: its expected balance is
			// its one purchase.
			return d.probe(ctx, probes[int(probeN.Add(1)-1)%len(probes)])
		})
	})
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				r.logf("%.0fs: acknowledged %d purchases, %d returns, %d calls; %d retries",
					time.Since(start).Seconds(), d.stats.purchases.Load(), d.stats.returns.Load(), d.stats.calls.Load(), d.stats.retries.Load())
			}
		}
	}()
	d.run(ctx, buyers, r.cfg.Rate, stop, 4*r.cfg.Rate)
	loadTook := time.Since(start)
	wg.Wait()
	close(progressDone)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.logf("load done in %.0fs: acknowledged %d purchases (%.0f/s), %d returns, %d call-center events; %d retries, %d purchases given up, %d other calls failed, %d rejected",
		loadTook.Seconds(), d.stats.purchases.Load(), float64(d.stats.purchases.Load())/r.cfg.Duration.Seconds(), d.stats.returns.Load(),
		d.stats.calls.Load(), d.stats.retries.Load(), d.stats.gaveUp.Load(), d.stats.failed.Load(), d.stats.rejected.Load())
	if e, ok := d.stats.firstErr.Load().(string); ok {
		r.logf("first client error: %s", e)
	}

	// Quiescence: reconcile until nothing is missing, or until nothing is
	// queued anywhere (outboxes, consumers, notifications) twice in a row,
	// so that what is missing is lost and not late, or CHAOS_SETTLE is over.
	ch := &checkers{interaction: d.interaction, loyalty: d.loyalty, segmentation: segmentationv1.NewSegmentationServiceClient(grpcConn("segmentation")), sms: sms}
	nc, err := dep.ObserveNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	settleStart := time.Now()
	var (
		t      *tally
		queued map[string]int64
		quiet  int
	)
	for {
		t = ch.reconcile(ctx, tr)
		var qerr error
		queued, qerr = backlog(ctx, dep, js)
		if qerr != nil {
			queued = map[string]int64{"unknown (" + qerr.Error() + ")": 1}
		}
		if t.errors == 0 && t.Lost() == 0 {
			break
		}
		if len(queued) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if ctx.Err() != nil || time.Since(settleStart) > r.cfg.Settle || quiet >= 2 {
			break
		}
		r.logf("settling %.0fs: lost=%d (%s) duplicated=%d errors=%d; queued: %s", time.Since(settleStart).Seconds(),
			t.Lost(), breakdown(t.lost), t.Duplicated(), t.errors, describe(queued))
		time.Sleep(3 * time.Second)
	}
	if len(queued) > 0 && t.Lost() > 0 {
		r.logf("not quiescent after %s: still queued %s (what is missing may be late rather than lost)", r.cfg.Settle, describe(queued))
	}
	r.logf("reconciled %d customers %.0fs after the load (whole run %.0fs)", t.customers, time.Since(settleStart).Seconds(), time.Since(began).Seconds())
	if t.Lost()+t.Duplicated() > 0 {
		r.logf("lost: %s", breakdown(t.lost))
		r.logf("duplicated: %s", breakdown(t.duplicated))
		for _, e := range t.examples {
			r.logf("  %s", e)
		}
	}
	if t.errors > 0 {
		r.logf("%d customers could not be reconciled: %v", t.errors, t.firstErr)
	}
	if n, ref := sms.resent(); n > 0 {
		r.logf("SMS resent: %d POSTs repeated a message id already delivered (e.g. %s): the dispatcher delivers at least once, with the id as client_ref for the provider to send it once", n, ref)
	}
	kills, restarts, killLine := f.summary()
	fmt.Fprintln(r.out, killLine)
	stopSupervising()
	f.mu.Lock()
	failures, crashes := append([]string(nil), f.failures...), append([]string(nil), f.crashes...)
	f.mu.Unlock()
	for _, fl := range failures {
		r.logf("did not recover: %s", fl)
	}
	for _, c := range crashes {
		r.logf("crash: %s", c)
	}
	fmt.Fprintf(r.out, "chaos: acknowledged=%d lost=%d duplicated=%d recovered_max=%.1fs\n",
		d.stats.purchases.Load(), t.Lost(), t.Duplicated(), f.recovered.Seconds())
	switch {
	case t.Lost() > 0 || t.Duplicated() > 0:
		return fmt.Errorf("chaos: %d effects lost, %d duplicated", t.Lost(), t.Duplicated())
	case t.errors > 0:
		return fmt.Errorf("chaos: %d customers could not be reconciled: %w", t.errors, t.firstErr)
	case len(failures) > 0:
		return fmt.Errorf("chaos: %d faults not recovered from", len(failures))
	case len(crashes) > 0:
		return fmt.Errorf("chaos: %d processes exited by themselves", len(crashes))
	}
	_, _ = kills, restarts
	return nil
}

// Env is the settings of the suite under chaos, besides addresses: a
// buyer becomes VIP with the first point, told by SMS (to the harness's
// provider at smsURL) at any hour and without a daily cap, so each buyer
// is owed exactly one message.
func Env(smsURL string) map[string]string {
	return map[string]string{
		"GUANXI_LOYALTY_VIP_THRESHOLD":          "1",
		"GUANXI_NOTIFICATION_SMS_URL":           smsURL,
		"GUANXI_NOTIFICATION_QUIET_HOURS":       "00:00-00:00", // none; an empty value reads as the default
		"GUANXI_NOTIFICATION_CAP_PER_DAY":       "0",
		"GUANXI_NOTIFICATION_DISPATCH_INTERVAL": "1s",
		"GUANXI_NOTIFICATION_RETRY_BASE_DELAY":  "1s",
		"GUANXI_NOTIFICATION_RETRY_MAX_DELAY":   "5s",
		"GUANXI_NOTIFICATION_MAX_ATTEMPTS":      "20",
	}
}

// probe records a purchase of c (a customer no other load touches) and
// waits until its points show: events flow end to end.
func (d *driver) probe(ctx context.Context, c *customer) error {
	p := d.purchase(ctx, c, false)
	if p == nil {
		return errors.New("the probe purchase was not acknowledged")
	}
	ps, _, _, _ := c.snapshot()
	var want int64
	for _, q := range ps {
		want += q.points()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := d.balance(cctx, c)
		cancel()
		if err == nil && got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("the probe purchase's points did not show within 2 minutes")
}
