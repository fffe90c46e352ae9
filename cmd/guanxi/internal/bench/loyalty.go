package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
	"github.com/guanxi-crm/guanxi/platform/auth"
	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/interaction"
	"github.com/guanxi-crm/guanxi/services/loyalty"
)

// maxTracked bounds the purchases followed to their points at a time.
const maxTracked = 200

// Targets of the loyalty issue: purchase-to-points latency at 1,000
// purchases/s.
const (
	loyaltyTargetRate = 1000
	loyaltyTargetP50  = 20 * time.Millisecond
	loyaltyTargetP99  = 100 * time.Millisecond
)

// runLoyalty is `guanxi bench loyalty`: the interaction and loyalty
// services in this process on fresh PostgreSQL databases and an embedded
// NATS, with a directory of generated customers standing in for the
// customer service; purchases recorded through RecordInteraction at a fixed
// rate (open loop), each followed by GetLoyaltyAccount until the new
// balance shows; then GetLoyaltyAccount alone as fast as it answers.
func runLoyalty(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench loyalty", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Int("rate", loyaltyTargetRate, "purchases per second")
	duration := fs.Duration("duration", 30*time.Second, "how long purchases are recorded at -rate (after a warm-up of one purchase per customer)")
	customers := fs.Int("customers", 2000, "customers buying")
	readFor := fs.Duration("reads", 10*time.Second, "how long the throughput of each read (echo, GetLoyaltyAccount, GetCustomer) is measured")
	readers := fs.Int("readers", 16, "concurrent callers of each read")
	// Each purchase followed is read until its points show, a handful of
	// GetLoyaltyAccount calls: following one in five added more reads than
	// there were purchases, and one in twenty still a read for every
	// three purchases, so the bench measured much of its own load.
	sample := fs.Int("sample", 50, "follow one purchase in this many to its points (at most 200 at a time)")
	workers := fs.Int("workers", 0, "loyalty event handlers (GUANXI_LOYALTY_WORKERS; 0: the service's default)")
	via := fs.String("via", "interaction", `how purchases are recorded: "interaction" (RecordInteraction, the issue's figure) or "bus" (PurchaseRecorded events published straight to JetStream, loyalty's share alone)`)
	keep := fs.Bool("keep", false, "keep the temporary directory with the services' logs")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the purchases (client and services, one process) to this file")
	cluster := fs.Bool("cluster", true, "then measure again on the deployment of production: 2 loyalty replicas (OS processes behind a load balancer) on a 3-node NATS cluster with R3 streams")
	exe, _ := os.Executable()
	binDir := fs.String("bin", filepath.Dir(exe), "directory of the service binaries (make build), for -cluster")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server; fresh databases are created and dropped on it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *via != "interaction" && *via != "bus" {
		return errors.New(`bench loyalty: -via must be "interaction" or "bus"`)
	}
	if *rate <= 0 || *duration <= 0 || *customers <= 0 || *readers <= 0 || *workers < 0 || *sample <= 0 {
		return errors.New("bench loyalty: -rate, -duration, -customers, -readers and -sample must be positive, -workers not negative")
	}
	dir, err := os.MkdirTemp("", "guanxi-bench-loyalty-")
	if err != nil {
		return err
	}
	defer func() {
		if *keep {
			fmt.Fprintf(stderr, "kept %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	b := &loyaltyBench{rate: *rate, duration: *duration, customers: *customers, readFor: *readFor, readers: *readers,
		workers: *workers, via: *via, sample: *sample, postgres: pg, dir: dir, stderr: stderr, cpuProfile: *cpuProfile}
	runErr := b.run(ctx)
	b.report(stdout)
	record(ctx, b.figures()...)
	if !*cluster || runErr != nil || *via != "interaction" {
		return runErr
	}
	c := &loyaltyBench{rate: *rate, duration: *duration, customers: *customers, readFor: *readFor, readers: *readers,
		workers: *workers, via: *via, sample: *sample, postgres: pg, dir: filepath.Join(dir, "cluster"), stderr: stderr,
		clusterBin: *binDir}
	runErr = c.runCluster(ctx)
	c.report(stdout)
	record(ctx, c.figures()...)
	if len(b.visible) > 0 && len(c.visible) > 0 {
		ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
		fmt.Fprintf(stdout, "purchase-to-points at %d/s, p50/p99: single node %s/%s; 2 loyalty replicas on a 3-node NATS cluster (R3) %s/%s\n",
			*rate, ms(percentile(b.visible, 0.5)), ms(percentile(b.visible, 0.99)), ms(percentile(c.visible, 0.5)), ms(percentile(c.visible, 0.99)))
	}
	return runErr
}

type loyaltyBench struct {
	rate, customers, readers, workers int
	duration, readFor                 time.Duration
	postgres, dir, cpuProfile, via    string
	js                                jetstream.JetStream
	stderr                            io.Writer

	version       string
	clusterBin    string          // set: the clustered run, binaries from here
	record        []time.Duration // RecordInteraction
	visible       []time.Duration // RecordInteraction returned -> balance visible
	fromBus       []time.Duration // purchase event on the bus -> balance visible
	onBus         sync.Map        // interaction id -> when its event was on the bus
	sent, timeout int
	sample        int // one purchase in sample is followed to its points
	untracked     int // samples skipped as maxTracked were being followed
	drained       time.Duration
	drainedOK     bool
	failed        int // RecordInteraction errors
	firstErr      error
	elapsed       time.Duration
	// The reads: GetLoyaltyAccount, and on the single node the bare echo
	// and GetCustomer (the customer service on a database of its own).
	reads, echo, getCustomer throughput
	natsURL                  string
}

func (b *loyaltyBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// startService runs one service in the background on its own listener and
// log file and returns a connection to it once it serves.
func (b *loyaltyBench) startService(ctx context.Context, name string, lis net.Listener, run func(ctx context.Context, logger *slog.Logger) error,
	stops *[]func() error) (*grpc.ClientConn, error) {
	logFile, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	logger := logging.New(logFile, name, slog.LevelWarn)
	svcCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(svcCtx, logger) }()
	*stops = append(*stops, func() error {
		stop()
		err := <-done
		logFile.Close()
		if err != nil {
			return fmt.Errorf("%s service: %w", name, err)
		}
		return nil
	})
	conn, err := dial(lis.Addr().String())
	if err != nil {
		return nil, err
	}
	if err := waitServing(ctx, conn, done); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return conn, nil
}

func (b *loyaltyBench) run(ctx context.Context) (err error) {
	b.version = serverVersion(ctx, b.postgres)
	var stops []func() error
	defer func() {
		for _, stop := range slices.Backward(stops) {
			err = errors.Join(err, stop())
		}
	}()
	dbs := map[string]string{}
	for _, name := range []string{"interaction", "loyalty"} {
		url, drop, err := createDatabase(ctx, b.postgres, "guanxi_bench_"+name+"_")
		if err != nil {
			return err
		}
		stops = append(stops, drop)
		dbs[name] = url
	}
	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(b.dir, "nats"), Port: -1}, nil)
	if err != nil {
		return err
	}
	stops = append(stops, func() error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
	lis := map[string]net.Listener{}
	for _, name := range []string{"customer", "interaction", "loyalty"} {
		if lis[name], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}

	// The interaction service asks the customer service whether each
	// buyer exists. A directory of the generated customers answers instead,
	// so the figures are the interaction and loyalty services' own and not
	// the customer service's (which audits every read with a write).
	ids, stopDir := b.customerDirectory(lis["customer"])
	stops = append(stops, stopDir)
	icfg, err := interaction.LoadConfig()
	if err != nil {
		return err
	}
	icfg.GRPCAddr, icfg.Listener, icfg.DatabaseURL, icfg.NATSURL = lis["interaction"].Addr().String(), lis["interaction"], dbs["interaction"], ns.ClientURL()
	icfg.CustomerAddr, icfg.Auth = lis["customer"].Addr().String(), benchAuth()
	intConn, err := b.startService(ctx, "interaction", lis["interaction"], func(ctx context.Context, l *slog.Logger) error {
		return interaction.Run(ctx, icfg, l)
	}, &stops)
	if err != nil {
		return err
	}
	defer intConn.Close()
	lcfg, err := loyalty.LoadConfig()
	if err != nil {
		return err
	}
	lcfg.GRPCAddr, lcfg.Listener, lcfg.DatabaseURL, lcfg.NATSURL = lis["loyalty"].Addr().String(), lis["loyalty"], dbs["loyalty"], ns.ClientURL()
	b.natsURL = ns.ClientURL()
	lcfg.Auth, lcfg.CustomerAddr = benchAuth(), lis["customer"].Addr().String()
	if b.workers > 0 {
		lcfg.Workers = b.workers
	}
	b.workers = lcfg.Workers
	loyConn, err := b.startService(ctx, "loyalty", lis["loyalty"], func(ctx context.Context, l *slog.Logger) error {
		return loyalty.Run(ctx, lcfg, l)
	}, &stops)
	if err != nil {
		return err
	}
	defer loyConn.Close()

	// The moment each purchase event reaches the bus, to tell the
	// interaction service's share of the latency from loyalty's.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	sub, err := nc.Subscribe(interactionv1.SubjectPurchaseRecorded, func(m *nats.Msg) {
		var ev interactionv1.PurchaseRecorded
		if proto.Unmarshal(m.Data, &ev) == nil {
			b.onBus.Store(ev.GetInteractionId(), time.Now())
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if b.js, err = jetstream.New(nc); err != nil {
		return err
	}
	return b.measure(ctx, interactionv1.NewInteractionServiceClient(intConn), loyaltyv1.NewLoyaltyServiceClient(loyConn), ids)
}

// measure warms up with one purchase per customer, records purchases at
// b.rate and follows them to their points, then measures reads.
func (b *loyaltyBench) measure(ctx context.Context, rec interactionv1.InteractionServiceClient, acc loyaltyv1.LoyaltyServiceClient, ids []string) (err error) {
	b.logf("warm-up: one purchase per customer (enrollment)")
	if _, err := b.purchases(ctx, rec, acc, ids, len(ids), nil); err != nil {
		return err
	}
	if b.cpuProfile != "" {
		stopProfile, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	b.logf("recording %d purchases/s for %s", b.rate, b.duration)
	if b.elapsed, err = b.purchases(ctx, rec, acc, ids, int(float64(b.rate)*b.duration.Seconds()), b); err != nil {
		return err
	}
	account := reader{name: "GetLoyaltyAccount", call: func(ctx context.Context, rng *rand.Rand) error {
		_, err := acc.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: ids[rng.IntN(len(ids))]})
		return err
	}}
	if b.clusterBin != "" {
		b.logf("GetLoyaltyAccount with %d callers for %s", b.readers, b.readFor)
		b.reads = interleaved(ctx, b.readers, b.readFor, account)[0]
		return nil
	}
	echoCall, stopEcho, err := echoServer()
	if err != nil {
		return err
	}
	defer stopEcho()
	customerCall, stopCustomers, err := customerService(ctx, b.postgres, b.natsURL, b.dir, len(ids), b.logf, b.stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopCustomers()) }()
	b.logf("bare grpc-go echo, GetLoyaltyAccount and GetCustomer, %d callers each, in turns, for %s each", b.readers, b.readFor)
	got := interleaved(ctx, b.readers, b.readFor,
		reader{name: "echo", call: echoCall}, account, reader{name: "GetCustomer", call: customerCall})
	b.echo, b.reads, b.getCustomer = got[0], got[1], got[2]
	return nil
}

// customerDirectory serves on lis a directory of b.customers generated
// customers, returning their ids and how to stop it.
func (b *loyaltyBench) customerDirectory(lis net.Listener) ([]string, func() error) {
	ids := make([]string, b.customers)
	known := make(map[string]bool, len(ids))
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		known[ids[i]] = true
	}
	dir := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(dir, customerDirectory{known: known})
	go func() { _ = dir.Serve(lis) }()
	return ids, func() error { dir.Stop(); return nil }
}

// runCluster is the bench on the deployment of production (package
// deploy, as `guanxi chaos` runs it): the interaction service and two
// loyalty replicas as OS processes behind load balancers, on fresh
// PostgreSQL databases and a 3-node NATS cluster with R3 streams; the
// customer directory stands in for the customer service as in run.
func (b *loyaltyBench) runCluster(ctx context.Context) (err error) {
	b.version = serverVersion(ctx, b.postgres)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ids, stopDir := b.customerDirectory(lis)
	defer stopDir()
	env := map[string]string{}
	if b.workers > 0 {
		env["GUANXI_LOYALTY_WORKERS"] = strconv.Itoa(b.workers)
	}
	b.logf("deploying the interaction service, 2 loyalty replicas and a 3-node NATS cluster")
	dep, err := deploy.Start(ctx, deploy.Spec{Dir: b.dir, BinDir: b.clusterBin, Postgres: b.postgres,
		Replicas: map[string]int{"interaction": 1, "loyalty": 2}, NATSNodes: 3, Env: env,
		External: map[string]string{"customer": lis.Addr().String()}})
	if err != nil {
		return err
	}
	defer dep.Close()
	if b.workers == 0 {
		b.workers = 64 // the service's default (GUANXI_LOYALTY_WORKERS)
	}
	token, err := dep.Token(auth.Identity{Subject: "bench", Roles: []auth.Role{auth.Admin}})
	if err != nil {
		return err
	}
	conns := map[string]*grpc.ClientConn{}
	for _, name := range []string{"interaction", "loyalty"} {
		if conns[name], err = grpcclient.Dial(dep.Services[name].Addr(), grpc.WithPerRPCCredentials(auth.Token(token))); err != nil {
			return err
		}
		defer conns[name].Close()
	}
	return b.measure(ctx, interactionv1.NewInteractionServiceClient(conns["interaction"]), loyaltyv1.NewLoyaltyServiceClient(conns["loyalty"]), ids)
}

// customerDirectory answers GetCustomer for the bench's customers.
type customerDirectory struct {
	customerv1.UnimplementedCustomerServiceServer
	known map[string]bool
}

func (d customerDirectory) GetCustomer(_ context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	if !d.known[req.GetId()] {
		return nil, status.Error(codes.NotFound, "no such customer")
	}
	return &customerv1.GetCustomerResponse{Customer: &customerv1.Customer{Id: req.GetId(), DisplayName: "会员"}}, nil
}

// purchases records n purchases at b.rate, customers in turn, each of
// 100.00 CNY (100 points in the default program), and waits for every
// new balance to show; with into, it keeps the latencies there.
func (b *loyaltyBench) purchases(ctx context.Context, rec interactionv1.InteractionServiceClient, acc loyaltyv1.LoyaltyServiceClient,
	ids []string, n int, into *loyaltyBench) (time.Duration, error) {
	interval := time.Second / time.Duration(b.rate)
	expected := make([]atomic.Int64, len(ids))
	for i, id := range ids {
		resp, err := acc.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: id})
		if err == nil {
			expected[i].Store(resp.GetAccount().GetLedgerTotal())
		}
	}
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		firstErr  error
		failed    int
		timeouts  int
		tracked   atomic.Int64
		untracked atomic.Int64
	)
	start := time.Now()
	for k := range n {
		if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
			time.Sleep(d) // open loop: the schedule, not the answers, sets the pace
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		i := k % len(ids)
		want := expected[i].Add(100)
		// Every sample-th purchase is followed to its points, while fewer
		// than maxTracked are being followed: polling every purchase would
		// make the bench's own reads the load once a backlog builds.
		track := k%b.sample == 0 && tracked.Load() < maxTracked
		if track {
			tracked.Add(1)
		} else if k%b.sample == 0 && into != nil {
			untracked.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			interactionID, err := b.recordPurchase(ctx, rec, ids[i], k)
			recorded := time.Now()
			if err != nil {
				// Most likely not recorded: later purchases of the member
				// must not wait for its points.
				expected[i].Add(-100)
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("record interaction: %w", err)
				}
				mu.Unlock()
				return
			}
			if !track {
				return
			}
			defer tracked.Add(-1)
			seen, ok := waitBalance(ctx, acc, ids[i], want)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				timeouts++
				return
			}
			if into != nil {
				into.record = append(into.record, recorded.Sub(began))
				into.visible = append(into.visible, seen.Sub(recorded))
				if at, ok := b.onBus.Load(interactionID); ok {
					into.fromBus = append(into.fromBus, seen.Sub(at.(time.Time)))
				}
			}
		}()
	}
	elapsed := time.Since(start)
	sent := time.Now()
	wg.Wait()
	_, ok := drain(ctx, acc, ids, expected)
	drained := time.Since(sent)
	if into != nil {
		into.sent, into.timeout, into.failed, into.firstErr = n, timeouts, failed, firstErr
		into.untracked, into.drained, into.drainedOK = int(untracked.Load()), drained, ok
	}
	if failed == n {
		return elapsed, firstErr
	}
	return elapsed, nil
}

// recordPurchase records purchase k of customer id, 100.00 CNY of tea, through
// RecordInteraction or, with -via bus, as the PurchaseRecorded event the
// interaction service would publish; it returns the interaction id.
func (b *loyaltyBench) recordPurchase(ctx context.Context, rec interactionv1.InteractionServiceClient, id string, k int) (string, error) {
	price := &typev1.Money{CurrencyCode: "CNY", AmountMinor: 10000}
	lines := []*interactionv1.PurchaseLine{{Sku: "SKU-1", ProductName: "龙井茶", Category: "tea", Quantity: 1, UnitPrice: price}}
	orderID := fmt.Sprintf("B-%d-%d", k, rand.Int64())
	if b.via == "bus" {
		interactionID := uuid.Must(uuid.NewV7()).String()
		ev, err := platformevents.NewEvent(ctx, "guanxi/bench", interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
			InteractionId: interactionID, CustomerId: id, Total: price, Lines: lines, OccurTime: timestamppb.Now(), OrderId: orderID})
		if err != nil {
			return "", err
		}
		return interactionID, platformevents.Publish(ctx, b.js, ev)
	}
	resp, err := rec.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{
		Interaction: &interactionv1.Interaction{CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
			Channel:  interactionv1.Channel_CHANNEL_IN_PERSON,
			Purchase: &interactionv1.Purchase{OrderId: orderID, Total: price, Lines: lines}},
	})
	if err != nil {
		return "", fmt.Errorf("record interaction: %w", err)
	}
	return resp.GetInteraction().GetId(), nil
}

// waitBalance polls GetLoyaltyAccount until the ledger total reaches
// want: every 2 ms for the first 50 ms, so a latency near the target is
// measured to within a poll, then less and less often (at most every
// 100 ms), for at most 30 s. It returns when the balance showed.
func waitBalance(ctx context.Context, acc loyaltyv1.LoyaltyServiceClient, id string, want int64) (time.Time, bool) {
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	pause := 2 * time.Millisecond
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := acc.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: id})
		if err == nil && resp.GetAccount().GetLedgerTotal() >= want {
			return time.Now(), true
		}
		time.Sleep(pause)
		if time.Since(start) > 50*time.Millisecond {
			pause = min(pause*3/2, 100*time.Millisecond)
		}
	}
	return time.Time{}, false
}

// drain waits until every customer's ledger total reaches what was sent,
// and returns how long that took, or false after a minute of waiting.
func drain(ctx context.Context, acc loyaltyv1.LoyaltyServiceClient, ids []string, expected []atomic.Int64) (time.Duration, bool) {
	start := time.Now()
	for i, id := range ids {
		for {
			resp, err := acc.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: id})
			if err == nil && resp.GetAccount().GetLedgerTotal() >= expected[i].Load() {
				break
			}
			if time.Since(start) > time.Minute || ctx.Err() != nil {
				return time.Since(start), false
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(start), true
}

func (b *loyaltyBench) report(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	where := "one process, single NATS server"
	if b.clusterBin != "" {
		where = "2 loyalty replicas as processes, 3-node NATS cluster, R3 streams"
	}
	fmt.Fprintf(w, "loyalty on PostgreSQL %s (%s), %d customers, %d loyalty workers, GOMAXPROCS %d, purchases via %s\n",
		b.version, where, b.customers, b.workers, runtime.GOMAXPROCS(0), b.via)
	if b.sent > 0 {
		fmt.Fprintf(w, "  purchases:            %d sent at %d/s (schedule kept: %.0f/s); %d followed to their points (1 in %d), %d samples skipped (200 in flight), %d never visible within 30 s\n",
			b.sent, b.rate, float64(b.sent)/b.elapsed.Seconds(), len(b.visible), b.sample, b.untracked, b.timeout)
		if b.drainedOK {
			fmt.Fprintf(w, "  every purchase's points visible %s after the last was sent\n", ms(b.drained))
		} else {
			fmt.Fprintf(w, "  points of some purchases still missing a minute after the last was sent\n")
		}
		fmt.Fprintf(w, "  RecordInteraction:    p50 %s  p99 %s, %d failed\n", ms(percentile(b.record, 0.50)), ms(percentile(b.record, 0.99)), b.failed)
		if b.firstErr != nil {
			fmt.Fprintf(w, "    first failure: %v\n", b.firstErr)
		}
		p50, p99 := percentile(b.visible, 0.50), percentile(b.visible, 0.99)
		fmt.Fprintf(w, "  purchase-to-points:   p50 %s  p95 %s  p99 %s  max %s   (target p50 < %s, p99 < %s: %s)\n",
			ms(p50), ms(percentile(b.visible, 0.95)), ms(p99), ms(percentile(b.visible, 1)), ms(loyaltyTargetP50), ms(loyaltyTargetP99),
			verdict(p50 < loyaltyTargetP50 && p99 < loyaltyTargetP99 && b.timeout == 0 && b.failed == 0))
	}
	if len(b.fromBus) > 0 {
		fmt.Fprintf(w, "  event-on-bus-to-points: p50 %s  p99 %s   (loyalty's share: consume, credit, read)\n",
			ms(percentile(b.fromBus, 0.5)), ms(percentile(b.fromBus, 0.99)))
	}
	if b.reads.elapsed > 0 {
		fmt.Fprintf(w, "  reads with %d callers for %s each:\n", b.readers, b.readFor)
		reportReads(w, b.echo, b.reads, b.getCustomer)
	}
}
