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
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/loyalty"
	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/segmentation"
)

// Targets from issue 22.
const (
	consumerRateTarget = 5_000           // events/s, one replica on PostgreSQL
	catchUpTarget      = 3 * time.Minute // every read model after importing 1,000,000 customers
)

// runConsumers is `guanxi bench consumers`: how fast each service's
// consumers drain a backlog, one replica on PostgreSQL. The customer events
// of an import (CustomerCreated for -customers customers) are put on the
// CUSTOMER stream, then loyalty, segmentation and notification start
// together on fresh databases, as they would be running when an import
// lands: the catch-up time of each read model is the time until its
// consumer has acknowledged them all. Then -purchases PurchaseRecorded
// events go on the INTERACTION stream and loyalty and segmentation, one at a
// time, drain them. The interaction service consumes only merges and
// erasures, which no bulk operation produces; it is not measured.
func runConsumers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench consumers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	customers := fs.Int("customers", 1_000_000, "customers imported (CustomerCreated events)")
	purchases := fs.Int("purchases", 1_000_000, "purchase events drained by loyalty and segmentation")
	batch := fs.Int("batch", 0, "events per consumer transaction (CONSUMER_BATCH); 0 is the services' default")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server; fresh databases are created and dropped on it")
	keep := fs.Bool("keep", false, "keep the temporary directory with the service logs")
	cpuProfile := fs.String("cpuprofile", "", "write CPU profiles of the services (one process) to this file (the purchase drains) and to this file plus .catchup (the catch-up)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *customers <= 0 || *purchases < 0 {
		return errors.New("bench: want -customers > 0 and -purchases >= 0")
	}
	dir, err := os.MkdirTemp("", "guanxi-bench-consumers-")
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
	b := &consumersBench{customers: *customers, purchases: *purchases, batch: *batch, postgres: pg, dir: dir, stderr: stderr, cpuProfile: *cpuProfile}
	runErr := b.run(ctx)
	b.report(stdout)
	record(ctx, b.figures()...)
	return runErr
}

type consumersBench struct {
	customers, purchases, batch int
	postgres, dir, version      string
	cpuProfile                  string
	stderr                      io.Writer

	js  jetstream.JetStream
	dbs map[string]string // service -> database URL

	// catchUp is each read model's catch-up after the import; drains is
	// each service's drain of the purchases.
	catchUp, drains map[string]step
}

func (b *consumersBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// consumerServices are the services measured, with their consumers of
// the customer and the interaction streams.
var consumerServices = []struct {
	name                 string
	customers, purchases string // durable names; "" when it has none
	// enrolments is the durable, if any, keeping the service's read model
	// of the loyalty memberships the import makes (loyalty announces each
	// customer's enrolment): its catch-up ends when that one's has too.
	enrolments string
}{
	{"loyalty", "loyalty-customers", "loyalty-purchases", ""},
	{"segmentation", "segmentation-customers", "segmentation-purchases", ""},
	{"notification", "notification-customers", "", "notification-loyalty"},
}

func (b *consumersBench) run(ctx context.Context) (err error) {
	b.version = serverVersion(ctx, b.postgres)
	b.catchUp, b.drains, b.dbs = map[string]step{}, map[string]step{}, map[string]string{}
	var cleanup []func() error
	defer func() {
		for _, c := range slices.Backward(cleanup) {
			err = errors.Join(err, c())
		}
	}()
	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(b.dir, "nats"), Port: -1}, nil)
	if err != nil {
		return err
	}
	cleanup = append(cleanup, func() error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
	nc, js, err := events.Connect(ns.ClientURL(), "guanxi-bench", nil)
	if err != nil {
		return err
	}
	cleanup = append(cleanup, func() error { nc.Close(); return nil })
	b.js = js
	for _, s := range consumerServices {
		url, drop, err := createDatabase(ctx, b.postgres, "guanxi_bench_"+s.name+"_")
		if err != nil {
			return err
		}
		cleanup = append(cleanup, drop)
		b.dbs[s.name] = url
	}

	ids, err := b.publishCustomers(ctx, ns.ClientURL())
	if err != nil {
		return err
	}
	checkpoint(ctx, b.postgres, b.logf)
	b.logf("starting loyalty, segmentation and notification together to catch up on %d imported customers", b.customers)
	stopProfile := func() {}
	if b.cpuProfile != "" {
		if stopProfile, err = startCPUProfile(b.cpuProfile + ".catchup"); err != nil {
			return err
		}
	}
	start := time.Now()
	var stops []func() error
	for _, s := range consumerServices {
		stop, err := b.start(ctx, s.name, ns.ClientURL())
		if err != nil {
			return errors.Join(err, stopAll(stops))
		}
		stops = append(stops, stop)
	}
	// Each consumer is watched on its own: waiting for them in turn would
	// give one that finished first the time of the one before it.
	steps := make([]step, len(consumerServices))
	var wg sync.WaitGroup
	for i, s := range consumerServices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			elapsed, err := b.waitDrained(ctx, customerv1.Stream, s.customers, start)
			if err == nil && s.enrolments != "" {
				elapsed, err = b.waitFollowed(ctx, loyaltyv1.Stream, loyaltyv1.SubjectMemberEnrolled, b.customers, s.enrolments, start)
			}
			steps[i] = step{rows: int64(b.customers), elapsed: elapsed, err: err, ran: true}
		}()
	}
	wg.Wait()
	stopProfile()
	for i, s := range consumerServices {
		b.catchUp[s.name] = steps[i]
		if steps[i].err == nil {
			b.logf("%s caught up in %v", s.name, steps[i].elapsed.Round(time.Millisecond))
		}
	}
	if err := stopAll(stops); err != nil {
		return err
	}

	if b.purchases == 0 {
		return nil
	}
	if err := b.publishPurchases(ctx, ids); err != nil {
		return err
	}
	if b.cpuProfile != "" {
		stopProfile, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	for _, s := range consumerServices {
		if s.purchases == "" {
			continue
		}
		checkpoint(ctx, b.postgres, b.logf)
		b.logf("%s alone draining %d purchases", s.name, b.purchases)
		start := time.Now()
		stop, err := b.start(ctx, s.name, ns.ClientURL())
		if err != nil {
			return err
		}
		elapsed, err := b.waitDrained(ctx, interactionv1.Stream, s.purchases, start)
		b.drains[s.name] = step{rows: int64(b.purchases), elapsed: elapsed, err: err, ran: true}
		if err == nil {
			b.logf("%s drained %d purchases in %v", s.name, b.purchases, elapsed.Round(time.Millisecond))
		}
		if err := stop(); err != nil {
			return err
		}
	}
	return nil
}

// suiteID is an id as the services make them: a UUIDv7, whose time order
// keeps the indexes keyed by it appending (random ids would scatter every
// batch over the whole index, a cost no deployment of the suite pays).
func suiteID() string { return uuid.Must(uuid.NewV7()).String() }

func stopAll(stops []func() error) error {
	var err error
	for _, stop := range slices.Backward(stops) {
		err = errors.Join(err, stop())
	}
	return err
}

// start runs one service on its database until the returned stop.
func (b *consumersBench) start(ctx context.Context, name, natsURL string) (func() error, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(b.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		lis.Close()
		return nil, err
	}
	logger := logging.New(logFile, name, slog.LevelWarn)
	var run func(ctx context.Context) error
	switch name {
	case "loyalty":
		cfg, err := loyalty.LoadConfig()
		if err != nil {
			return nil, err
		}
		cfg.GRPCAddr, cfg.Listener, cfg.DatabaseURL, cfg.NATSURL, cfg.Auth = lis.Addr().String(), lis, b.dbs[name], natsURL, benchAuth()
		cfg.JobInterval = time.Hour
		if b.batch > 0 {
			cfg.ConsumerBatch = b.batch
		}
		run = func(ctx context.Context) error { return loyalty.Run(ctx, cfg, logger) }
	case "segmentation":
		cfg, err := segmentation.LoadConfig()
		if err != nil {
			return nil, err
		}
		cfg.GRPCAddr, cfg.Listener, cfg.DatabaseURL, cfg.NATSURL, cfg.Auth = lis.Addr().String(), lis, b.dbs[name], natsURL, benchAuth()
		if b.batch > 0 {
			cfg.ConsumerBatch = b.batch
		}
		run = func(ctx context.Context) error { return segmentation.Run(ctx, cfg, logger) }
	case "notification":
		cfg, err := notification.LoadConfig()
		if err != nil {
			return nil, err
		}
		cfg.GRPCAddr, cfg.Listener, cfg.DatabaseURL, cfg.NATSURL, cfg.Auth = lis.Addr().String(), lis, b.dbs[name], natsURL, benchAuth()
		cfg.RedisURL = ""
		if b.batch > 0 {
			cfg.ConsumerBatch = b.batch
		}
		run = func(ctx context.Context) error { return notification.Run(ctx, cfg, logger) }
	default:
		return nil, fmt.Errorf("bench: no service %s", name)
	}
	svcCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(svcCtx) }()
	conn, err := dial(lis.Addr().String())
	stop := func() error {
		if conn != nil {
			conn.Close()
		}
		cancel()
		err := <-done
		logFile.Close()
		if err != nil {
			return fmt.Errorf("%s service: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	if err := waitServing(ctx, conn, done); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", name, err), stop())
	}
	return stop, nil
}

// waitDrained waits until the durable consumer has acknowledged every
// message of its stream, and returns the time since start.
func (b *consumersBench) waitDrained(ctx context.Context, stream, durable string, start time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		cons, err := b.js.Consumer(ctx, stream, durable)
		if err == nil {
			info, err := cons.Info(ctx)
			if err == nil {
				if info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0 {
					return time.Since(start), nil
				}
				last = fmt.Sprintf("%d pending, %d awaiting ack", info.NumPending, info.NumAckPending)
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not drained (%s): %w", durable, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitFollowed waits until stream holds at least n messages on subject
// and the durable consumer has acknowledged every message of the stream,
// and returns the time since start.
func (b *consumersBench) waitFollowed(ctx context.Context, stream, subject string, n int, durable string, start time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := b.js.Stream(ctx, stream)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = st.Info(ctx, jetstream.WithSubjectFilter(subject)); err == nil && info.State.Subjects[subject] >= uint64(n) {
				return b.waitDrained(ctx, stream, durable, start)
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: fewer than %d %s messages on %s: %w", durable, n, subject, stream, ctx.Err())
		case <-tick.C:
		}
	}
}

// publishCustomers puts CustomerCreated for every customer on the CUSTOMER
// stream, as an import publishes them (imported, so nobody is welcomed),
// and returns their ids.
func (b *consumersBench) publishCustomers(ctx context.Context, natsURL string) ([]string, error) {
	if err := events.EnsureStream(ctx, b.js, customerv1.Stream, customerv1.StreamSubjects); err != nil {
		return nil, err
	}
	b.logf("publishing %d CustomerCreated events", b.customers)
	ids := make([]string, b.customers)
	kinds := []customerv1.CustomerKind{customerv1.CustomerKind_CUSTOMER_KIND_END_CUSTOMER, customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR}
	created := timestamppb.New(time.Now().Add(-time.Hour))
	err := b.publish(ctx, b.customers, func(i int) (string, proto.Message) {
		ids[i] = suiteID()
		return customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Imported: true, Customer: &customerv1.Customer{
			Id: ids[i], DisplayName: fmt.Sprintf("Customer %d", i), Kind: kinds[i%len(kinds)],
			Email: fmt.Sprintf("c%d@example.cn", i), Phone: fmt.Sprintf("+86138%08d", i), Tags: []string{"imported"}, CreateTime: created,
		}}
	})
	return ids, err
}

// publishPurchases puts PurchaseRecorded events of the customers (ten per
// buyer on average) on the INTERACTION stream.
func (b *consumersBench) publishPurchases(ctx context.Context, ids []string) error {
	if err := events.EnsureStream(ctx, b.js, interactionv1.Stream, interactionv1.StreamSubjects); err != nil {
		return err
	}
	b.logf("publishing %d PurchaseRecorded events", b.purchases)
	buyers := ids[:max(1, min(len(ids), b.purchases/10))]
	rng := rand.New(rand.NewPCG(22, 5000))
	categories := []string{"books", "food", "tea", "toys"}
	day := time.Now().Add(-30 * 24 * time.Hour)
	return b.publish(ctx, b.purchases, func(i int) (string, proto.Message) {
		qty := int64(1 + rng.IntN(3))
		unit := int64(500 + rng.IntN(20000))
		return interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
			InteractionId: suiteID(), CustomerId: buyers[rng.IntN(len(buyers))], OrderId: fmt.Sprintf("o-%d", i),
			Total:     &typev1.Money{CurrencyCode: "CNY", AmountMinor: qty * unit},
			OccurTime: timestamppb.New(day.Add(time.Duration(i) * time.Second)),
			Lines: []*interactionv1.PurchaseLine{{Sku: fmt.Sprintf("sku-%d", rng.IntN(1000)), Category: categories[rng.IntN(len(categories))],
				Quantity: qty, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: unit}}},
		}
	})
}

// publish publishes n events made by next, a window of them unacknowledged
// at a time.
func (b *consumersBench) publish(ctx context.Context, n int, next func(i int) (string, proto.Message)) error {
	const window = 4096
	start := time.Now()
	for i := 0; i < n; i++ {
		subject, msg := next(i)
		ev, err := events.NewEvent(ctx, "bench", subject, msg)
		if err != nil {
			return err
		}
		if _, err := b.js.PublishMsgAsync(ev.NATSMsg(), jetstream.WithMsgID(ev.ID)); err != nil {
			return err
		}
		if (i+1)%window == 0 || i == n-1 {
			select {
			case <-b.js.PublishAsyncComplete():
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Minute):
				return errors.New("publish: no acknowledgement within a minute")
			}
		}
	}
	b.logf("published %d events in %v", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *consumersBench) report(w io.Writer) {
	fmt.Fprintf(w, "consumers: one replica per service on PostgreSQL %s, embedded NATS, %d cores\n", b.version, runtime.NumCPU())
	fmt.Fprintf(w, "  catch-up after importing %d customers (all three services at once, notification's loyalty memberships included; target for 1,000,000: under %v):\n", b.customers, catchUpTarget)
	for _, s := range consumerServices {
		st, ok := b.catchUp[s.name]
		if !ok {
			continue
		}
		if st.err != nil {
			fmt.Fprintf(w, "    %-13s FAILED: %v\n", s.name, st.err)
			continue
		}
		line := fmt.Sprintf("    %-13s %8.1fs  %8.0f events/s", s.name, st.elapsed.Seconds(), st.rate())
		if b.customers >= 1_000_000 {
			line += "  " + verdict(st.elapsed < catchUpTarget)
		}
		fmt.Fprintln(w, line)
	}
	if len(b.drains) == 0 {
		return
	}
	fmt.Fprintf(w, "  draining %d purchases, one service at a time (target %d events/s):\n", b.purchases, consumerRateTarget)
	for _, s := range consumerServices {
		st, ok := b.drains[s.name]
		if !ok {
			continue
		}
		if st.err != nil {
			fmt.Fprintf(w, "    %-13s FAILED: %v\n", s.name, st.err)
			continue
		}
		fmt.Fprintf(w, "    %-13s %8.1fs  %8.0f events/s  %s\n", s.name, st.elapsed.Seconds(), st.rate(), verdict(st.rate() >= consumerRateTarget))
	}
}
