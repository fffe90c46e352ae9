package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
	"github.com/guanxi-crm/guanxi/services/interaction"
)

// interactionsTarget is the target ingest rate (events/s).
const interactionsTarget = 20_000

// runInteractions is `guanxi bench interactions`: the customer and
// interaction services in this process on fresh PostgreSQL databases and
// an embedded NATS. The same N call-center events are ingested over
// client-streaming gRPC and over NATS (each path under its own source, so
// both record N interactions); throughput counts until the last one is
// committed, latency runs from sending a sampled event to reading it from
// PostgreSQL. A raw JetStream publish of the same events gives the ratio.
func runInteractions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench interactions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 200_000, "events per path")
	customers := fs.Int("customers", 2000, "callers, each a customer with a phone number")
	streams := fs.Int("streams", 4, "concurrent IngestEvents streams")
	perMsg := fs.Int("batch", 1000, "events per IngestEvents message")
	sampleEvery := fs.Int("sample", 100, "measure ingest-to-readable latency of every k-th event")
	rate := fs.Int("rate", 2000, "events/s of the steady-rate latency run over NATS")
	rateFor := fs.Duration("rate-for", 10*time.Second, "how long the steady-rate run lasts")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured steps (client and services, one process) to this file")
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
	if *n <= 0 || *customers <= 0 || *streams <= 0 || *perMsg <= 0 || *sampleEvery <= 0 || *rate < 0 {
		return errors.New("bench interactions: -n, -customers, -streams, -batch and -sample must be positive, -rate not negative")
	}
	dir, err := os.MkdirTemp("", "guanxi-bench-interactions-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &interactionsBench{n: *n, customers: *customers, streams: *streams, perMsg: *perMsg, sampleEvery: *sampleEvery,
		postgres: pg, dir: dir, stderr: stderr, cpuProfile: *cpuProfile,
		rate: *rate, rateFor: *rateFor}
	runErr := b.run(ctx)
	b.report(stdout)
	record(ctx, b.figures()...)
	return runErr
}

type interactionsBench struct {
	n, customers, streams, perMsg, sampleEvery int
	rate                                       int
	rateFor                                    time.Duration
	steady                                     pathResult
	postgres, dir, cpuProfile                  string
	stderr                                     io.Writer

	version          string
	grpcPath         pathResult
	natsPath         pathResult
	raw              pathResult
	relayed          time.Duration // until every InteractionRecorded was on the bus
	relayedCount     uint64
	relayedMeasured  bool
	rejected, dupes  int64
	interactionDBURL string
}

// pathResult is what one way in measured.
type pathResult struct {
	events  int
	elapsed time.Duration
	latency []time.Duration
	err     error
	ran     bool
}

func (p pathResult) rate() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.events) / p.elapsed.Seconds()
}

func (b *interactionsBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

func benchPhone(i int) string { return fmt.Sprintf("+86139%08d", i) }

// benchEvent is the i-th call-center event of source.
func benchEvent(source string, i, customers int, at time.Time) *interactionv1.IngestEvent {
	return &interactionv1.IngestEvent{
		Source:     source,
		ExternalId: fmt.Sprintf("call-%09d", i),
		Phone:      benchPhone(i % customers),
		Interaction: &interactionv1.Interaction{
			Kind:      interactionv1.InteractionKind_INTERACTION_KIND_CALL,
			Channel:   interactionv1.Channel_CHANNEL_CALL_CENTER,
			Direction: interactionv1.Direction_DIRECTION_INBOUND,
			AgentId:   fmt.Sprintf("agent-%03d", i%150),
			OccurTime: timestamppb.New(at),
			Summary:   "客户来电咨询订单配送进度",
			Details:   map[string]string{"call_duration_s": fmt.Sprint(30 + i%600), "queue": "orders"},
		},
	}
}

func (b *interactionsBench) run(ctx context.Context) (err error) {
	b.version = serverVersion(ctx, b.postgres)
	var stops []func() error
	defer func() {
		for _, stop := range slices.Backward(stops) {
			err = errors.Join(err, stop())
		}
	}()
	dbs := map[string]string{}
	for _, name := range []string{"customer", "interaction"} {
		url, drop, err := createDatabase(ctx, b.postgres, "guanxi_bench_ix_"+name+"_")
		if err != nil {
			return err
		}
		stops = append(stops, drop)
		dbs[name] = url
	}
	b.interactionDBURL = dbs["interaction"]
	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(b.dir, "nats"), Port: -1}, nil)
	if err != nil {
		return err
	}
	stops = append(stops, func() error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
	lis := map[string]net.Listener{}
	for _, name := range []string{"customer", "interaction"} {
		if lis[name], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	start := func(name string, run func(ctx context.Context, logger *slog.Logger) error) error {
		logFile, err := os.Create(filepath.Join(b.dir, name+".log"))
		if err != nil {
			return err
		}
		logger := logging.New(logFile, name, slog.LevelWarn)
		svcCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- run(svcCtx, logger) }()
		stops = append(stops, func() error {
			stop()
			err := <-done
			logFile.Close()
			if err != nil {
				return fmt.Errorf("%s service: %w", name, err)
			}
			return nil
		})
		conn, err := dial(lis[name].Addr().String())
		if err != nil {
			return err
		}
		defer conn.Close()
		return waitServing(ctx, conn, done)
	}
	if err := start("customer", func(ctx context.Context, l *slog.Logger) error {
		return customer.Run(ctx, customer.Config{GRPCAddr: lis["customer"].Addr().String(), Listener: lis["customer"],
			DatabaseURL: dbs["customer"], Broker: servicehost.Broker{NATSURL: ns.ClientURL()}, Auth: benchAuth()}, l)
	}); err != nil {
		return err
	}
	icfg, err := interaction.LoadConfig()
	if err != nil {
		return err
	}
	icfg.GRPCAddr, icfg.Listener, icfg.DatabaseURL, icfg.NATSURL = lis["interaction"].Addr().String(), lis["interaction"], dbs["interaction"], ns.ClientURL()
	icfg.CustomerAddr, icfg.Auth = lis["customer"].Addr().String(), benchAuth()
	if err := start("interaction", func(ctx context.Context, l *slog.Logger) error { return interaction.Run(ctx, icfg, l) }); err != nil {
		return err
	}
	custConn, err := dial(lis["customer"].Addr().String())
	if err != nil {
		return err
	}
	defer custConn.Close()
	intConn, err := dial(lis["interaction"].Addr().String())
	if err != nil {
		return err
	}
	defer intConn.Close()
	client := interactionv1.NewInteractionServiceClient(intConn)

	if err := b.createCallers(ctx, customerv1.NewCustomerServiceClient(custConn)); err != nil {
		return err
	}
	// Warm-up: every caller once, so phone lookups are cached as they are
	// in a running call center.
	b.logf("warm-up: one call per caller")
	warm := make([]*interactionv1.IngestEvent, b.customers)
	for i := range warm {
		warm[i] = benchEvent("bench-warmup", i, b.customers, time.Now())
	}
	for i := 0; i < len(warm); i += 1000 {
		if _, err := client.BatchIngestEvents(ctx, &interactionv1.BatchIngestEventsRequest{Events: warm[i:min(i+1000, len(warm))]}); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}

	nc, js, err := events.Connect(ns.ClientURL(), "guanxi-bench", nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	db, err := pgxpool.New(ctx, dbs["interaction"])
	if err != nil {
		return err
	}
	defer db.Close()
	if b.cpuProfile != "" {
		stopProfile, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}

	b.logf("gRPC: %d events over %d IngestEvents streams", b.n, b.streams)
	b.grpcPath = b.viaGRPC(ctx, client, db)
	b.logf("NATS: %d events published on ingest.bench", b.n)
	b.natsPath = b.viaNATS(ctx, js, db)
	b.logf("raw JetStream publish of the same %d events", b.n)
	b.raw = b.rawPublish(ctx, js)
	b.waitRelayed(ctx, js, uint64(b.customers+2*b.n))
	if b.rate > 0 && b.rateFor > 0 {
		b.logf("NATS at a steady %d events/s for %s", b.rate, b.rateFor)
		b.steady = b.atRate(ctx, js, db)
	}
	return errors.Join(b.grpcPath.err, b.natsPath.err, b.raw.err, b.steady.err)
}

func (b *interactionsBench) createCallers(ctx context.Context, client customerv1.CustomerServiceClient) error {
	b.logf("creating %d customers with phone numbers", b.customers)
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range 8 {
		g.Go(func() error {
			for i := int(next.Add(1)) - 1; i < b.customers; i = int(next.Add(1)) - 1 {
				if _, err := client.CreateCustomer(gctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
					DisplayName: fmt.Sprintf("来电客户 %d", i), Phone: benchPhone(i)}}); err != nil {
					return fmt.Errorf("create caller %d: %w", i, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// prober reads sampled events back from PostgreSQL and keeps the time
// from sending each to reading it.
type prober struct {
	db     *pgxpool.Pool
	source string

	mu      sync.Mutex
	pending map[string]time.Time
	latency []time.Duration
}

func newProber(db *pgxpool.Pool, source string) *prober {
	return &prober{db: db, source: source, pending: map[string]time.Time{}}
}

func (p *prober) sent(id string, at time.Time) {
	p.mu.Lock()
	p.pending[id] = at
	p.mu.Unlock()
}

// run polls until ctx is done and nothing is pending. It pauses four
// times as long as its last query took (at least 2 ms), so that with
// hundreds of events pending it does not keep a PostgreSQL core busy and
// slow the path it measures; that costs the latencies a few milliseconds
// of resolution, against the seconds they then run to.
func (p *prober) run(ctx context.Context, done <-chan struct{}) error {
	for {
		pause := 2 * time.Millisecond
		p.mu.Lock()
		ids := make([]string, 0, len(p.pending))
		for id := range p.pending {
			ids = append(ids, id)
		}
		p.mu.Unlock()
		if len(ids) == 0 {
			select {
			case <-done:
				return nil
			default:
			}
		} else {
			began := time.Now()
			rows, err := p.db.Query(ctx, `SELECT source_id FROM interactions WHERE source = $1 AND source_id = ANY($2)`, p.source, ids)
			if err != nil {
				return err
			}
			found, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			now := time.Now()
			pause = max(pause, 4*now.Sub(began))
			p.mu.Lock()
			for _, id := range found {
				p.latency = append(p.latency, now.Sub(p.pending[id]))
				delete(p.pending, id)
			}
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// viaGRPC ingests n events over concurrent client streams; each stream
// carries at most 20,000 events (the service's limit), so larger shares open
// several in turn.
func (b *interactionsBench) viaGRPC(ctx context.Context, client interactionv1.InteractionServiceClient, db *pgxpool.Pool) pathResult {
	const source = "bench-grpc"
	res := pathResult{events: b.n, ran: true}
	p := newProber(db, source)
	probeDone := make(chan struct{})
	probeErr := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { probeErr <- p.run(pctx, probeDone) }()
	const perStream = 20_000
	var next atomic.Int64
	var created, dupes, rejected atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	began := time.Now()
	for range b.streams {
		g.Go(func() error {
			for {
				from := int(next.Add(perStream)) - perStream
				if from >= b.n {
					return nil
				}
				to := min(from+perStream, b.n)
				st, err := client.IngestEvents(gctx)
				if err != nil {
					return err
				}
				for i := from; i < to; i += b.perMsg {
					msg := &interactionv1.IngestEventsRequest{}
					now := time.Now()
					for j := i; j < min(i+b.perMsg, to); j++ {
						msg.Events = append(msg.Events, benchEvent(source, j, b.customers, now))
						if j%b.sampleEvery == 0 {
							p.sent(msg.Events[len(msg.Events)-1].GetExternalId(), now)
						}
					}
					if err := st.Send(msg); err != nil {
						return err
					}
				}
				resp, err := st.CloseAndRecv()
				if err != nil {
					return err
				}
				created.Add(int64(resp.GetCreatedCount()))
				dupes.Add(int64(resp.GetDuplicateCount()))
				rejected.Add(int64(resp.GetRejectedCount()))
			}
		})
	}
	res.err = g.Wait()
	res.elapsed = time.Since(began)
	close(probeDone)
	if err := <-probeErr; err != nil && res.err == nil {
		res.err = fmt.Errorf("probe: %w", err)
	}
	res.latency = p.latency
	b.dupes += dupes.Load()
	b.rejected += rejected.Load()
	if res.err == nil && created.Load() != int64(b.n) {
		res.err = fmt.Errorf("gRPC created %d of %d events (%d duplicates, %d rejected)", created.Load(), b.n, dupes.Load(), rejected.Load())
	}
	return res
}

// viaNATS publishes n events, one per message, and waits until all are
// readable in PostgreSQL.
func (b *interactionsBench) viaNATS(ctx context.Context, js jetstream.JetStream, db *pgxpool.Pool) pathResult {
	const source = "bench-nats"
	res := pathResult{events: b.n, ran: true}
	msgs, err := b.encode(source, "ingest.bench")
	if err != nil {
		res.err = err
		return res
	}
	p := newProber(db, source)
	probeDone := make(chan struct{})
	probeErr := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { probeErr <- p.run(pctx, probeDone) }()
	began := time.Now()
	if err := publishAll(ctx, js, msgs, func(i int) {
		if i%b.sampleEvery == 0 {
			p.sent(fmt.Sprintf("call-%09d", i), time.Now())
		}
	}); err != nil {
		res.err = err
		return res
	}
	// Every event is readable once the ingest consumer has acked every
	// message, since it acks only after the commit; the count confirms
	// it. Polling COUNT(*) alone would keep a PostgreSQL core busy (tens
	// of milliseconds a count at this size) during this path only.
	if err := waitIngested(ctx, js); err != nil {
		res.err = err
		return res
	}
	for {
		var count int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM interactions WHERE source = $1`, source).Scan(&count); err != nil {
			res.err = err
			return res
		}
		if count >= b.n {
			break
		}
		// Acked without being recorded: a batch that failed and waits to
		// be delivered again.
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.elapsed = time.Since(began)
	close(probeDone)
	if err := <-probeErr; err != nil && res.err == nil {
		res.err = fmt.Errorf("probe: %w", err)
	}
	res.latency = p.latency
	return res
}

// waitIngested waits until every consumer of the INGEST stream has
// been delivered and has acked every message.
func waitIngested(ctx context.Context, js jetstream.JetStream) error {
	st, err := js.Stream(ctx, interactionv1.IngestStream)
	if err != nil {
		return err
	}
	for {
		busy, seen := false, false
		consumers := st.ListConsumers(ctx)
		for info := range consumers.Info() {
			seen = true
			if info.NumPending > 0 || info.NumAckPending > 0 {
				busy = true
			}
		}
		if err := consumers.Err(); err != nil {
			return err
		}
		if seen && !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// publishAll publishes msgs asynchronously in windows of publishWindow
// outstanding messages, calling before(i) ahead of each; it returns once
// every message is acknowledged.
func publishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg, before func(i int)) error {
	const publishWindow = 2000
	for i, m := range msgs {
		if before != nil {
			before(i)
		}
		if _, err := js.PublishMsgAsync(m); err != nil {
			return err
		}
		if (i+1)%publishWindow == 0 || i == len(msgs)-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (b *interactionsBench) encode(source, subject string) ([]*nats.Msg, error) {
	authorization, err := ingestAuthorization()
	if err != nil {
		return nil, err
	}
	msgs := make([]*nats.Msg, b.n)
	at := time.Now()
	for i := range msgs {
		data, err := proto.Marshal(benchEvent(source, i, b.customers, at))
		if err != nil {
			return nil, err
		}
		m := nats.NewMsg(subject)
		m.Header.Set("Content-Type", "application/protobuf")
		m.Header.Set("Authorization", authorization)
		m.Data = data
		msgs[i] = m
	}
	return msgs, nil
}

// rawPublish publishes the same messages to a stream nobody reads: the
// cost of the bus alone.
func (b *interactionsBench) rawPublish(ctx context.Context, js jetstream.JetStream) pathResult {
	res := pathResult{events: b.n, ran: true}
	if err := events.EnsureStream(ctx, js, "BENCHRAW", "benchraw.>"); err != nil {
		res.err = err
		return res
	}
	msgs, err := b.encode("bench-raw", "benchraw.ingest")
	if err != nil {
		res.err = err
		return res
	}
	began := time.Now()
	if err := publishAll(ctx, js, msgs, nil); err != nil {
		res.err = err
		return res
	}
	res.elapsed = time.Since(began)
	return res
}

// atRate publishes events on ingest.> at a steady rate below capacity, so
// that the latency measured is the path's own rather than a queue's.
func (b *interactionsBench) atRate(ctx context.Context, js jetstream.JetStream, db *pgxpool.Pool) pathResult {
	const source = "bench-nats-rate"
	n := int(float64(b.rate) * b.rateFor.Seconds())
	res := pathResult{events: n, ran: true}
	authorization, err := ingestAuthorization()
	if err != nil {
		res.err = err
		return res
	}
	p := newProber(db, source)
	probeDone := make(chan struct{})
	probeErr := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { probeErr <- p.run(pctx, probeDone) }()
	const tick = 10 * time.Millisecond
	perTick := max(1, b.rate/int(time.Second/tick))
	began := time.Now()
	at := time.Now()
	for i := 0; i < n; {
		for j := 0; j < perTick && i < n; j, i = j+1, i+1 {
			ev := benchEvent(source, i, b.customers, at)
			data, err := proto.Marshal(ev)
			if err != nil {
				res.err = err
				return res
			}
			m := nats.NewMsg("ingest.bench")
			m.Header.Set("Content-Type", "application/protobuf")
			m.Header.Set("Authorization", authorization)
			m.Data = data
			// Every event is sampled: at this rate the probe keeps up.
			p.sent(ev.GetExternalId(), time.Now())
			if _, err := js.PublishMsgAsync(m); err != nil {
				res.err = err
				return res
			}
		}
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case <-time.After(time.Until(began.Add(time.Duration(i/perTick) * tick))):
		}
	}
	<-js.PublishAsyncComplete()
	for {
		p.mu.Lock()
		left := len(p.pending)
		p.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case <-time.After(5 * time.Millisecond):
		}
	}
	res.elapsed = time.Since(began)
	close(probeDone)
	if err := <-probeErr; err != nil && res.err == nil {
		res.err = fmt.Errorf("probe: %w", err)
	}
	res.latency = p.latency
	return res
}

// waitRelayed waits (up to a minute) for the outbox relay to have put
// every InteractionRecorded on the bus.
func (b *interactionsBench) waitRelayed(ctx context.Context, js jetstream.JetStream, want uint64) {
	began := time.Now()
	deadline := began.Add(time.Minute)
	for time.Now().Before(deadline) {
		st, err := js.Stream(ctx, interactionv1.Stream)
		if err == nil {
			info, err := st.Info(ctx, jetstream.WithSubjectFilter(interactionv1.SubjectInteractionRecorded))
			if err == nil {
				b.relayedCount = info.State.Subjects[interactionv1.SubjectInteractionRecorded]
				if b.relayedCount >= want {
					b.relayed, b.relayedMeasured = time.Since(began), true
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *interactionsBench) report(w io.Writer) {
	fmt.Fprintf(w, "interactions: %d call-center events per path, %d callers, PostgreSQL %s\n", b.n, b.customers, b.version)
	line := func(name string, p pathResult) {
		if !p.ran {
			fmt.Fprintf(w, "  %-30s not run\n", name)
			return
		}
		if p.err != nil {
			fmt.Fprintf(w, "  %-30s FAILED: %v\n", name, p.err)
			return
		}
		fmt.Fprintf(w, "  %-30s %8.0f events/s  (%s)", name, p.rate(), p.elapsed.Round(time.Millisecond))
		if len(p.latency) > 0 {
			fmt.Fprintf(w, "  ingest-to-readable p50 %s p99 %s max %s (%d samples)",
				percentile(p.latency, 0.5).Round(100*time.Microsecond), percentile(p.latency, 0.99).Round(100*time.Microsecond),
				percentile(p.latency, 1).Round(100*time.Microsecond), len(p.latency))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  (gRPC and NATS: all events sent at once, so their latency includes the wait behind earlier events;\n   the steady run shows the path's own latency)\n")
	line(fmt.Sprintf("gRPC IngestEvents (%d streams)", b.streams), b.grpcPath)
	line("NATS ingest.>", b.natsPath)
	line("raw JetStream publish", b.raw)
	line(fmt.Sprintf("NATS at a steady %d/s", b.rate), b.steady)
	if b.raw.err == nil && b.raw.rate() > 0 {
		fmt.Fprintf(w, "  ratio to raw publish:          gRPC %.2f, NATS %.2f\n", b.grpcPath.rate()/b.raw.rate(), b.natsPath.rate()/b.raw.rate())
	}
	for _, p := range []struct {
		name string
		r    pathResult
	}{{"gRPC", b.grpcPath}, {"NATS", b.natsPath}} {
		if p.r.ran && p.r.err == nil {
			verdict := "below"
			if p.r.rate() >= interactionsTarget {
				verdict = "meets"
			}
			fmt.Fprintf(w, "  target %d events/s:           %s %s it\n", interactionsTarget, p.name, verdict)
		}
	}
	if b.relayedMeasured {
		fmt.Fprintf(w, "  outbox: all %d InteractionRecorded events on the bus %s after the last ingest\n", b.relayedCount, b.relayed.Round(time.Millisecond))
	} else if b.relayedCount > 0 {
		fmt.Fprintf(w, "  outbox: %d of %d InteractionRecorded events on the bus a minute after the last ingest\n",
			b.relayedCount, b.customers+2*b.n)
	}
}
