package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// readTarget is the target for hot reads: at least half the calls
// per second of a bare grpc-go unary echo with the same callers.
const readTarget = 0.5

// throughput is what callers calling as fast as they are answered got
// through in a while.
type throughput struct {
	name     string
	lat      []time.Duration
	elapsed  time.Duration
	errors   int64
	firstErr error
}

func (t throughput) rate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(len(t.lat)) / t.elapsed.Seconds()
}

// callsFor runs callers goroutines calling call for d, each with its own
// random source, and returns the calls that succeeded with their
// latencies.
func callsFor(ctx context.Context, name string, callers int, d time.Duration, call func(ctx context.Context, rng *rand.Rand) error) throughput {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = throughput{name: name}
	)
	stop := time.Now().Add(d)
	start := time.Now()
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var local []time.Duration
			for time.Now().Before(stop) && ctx.Err() == nil {
				began := time.Now()
				if err := call(ctx, rng); err != nil {
					if atomic.AddInt64(&out.errors, 1) == 1 {
						mu.Lock()
						out.firstErr = err
						mu.Unlock()
					}
					continue
				}
				local = append(local, time.Since(began))
			}
			mu.Lock()
			out.lat = append(out.lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

// echoMethod is the bare echo's one method: a StringValue back as it came.
const echoMethod = "/guanxi.bench.Echo/Echo"

var echoService = grpc.ServiceDesc{
	ServiceName: "guanxi.bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		return in, nil
	}}},
}

// reader is one read measured: call makes one call.
type reader struct {
	name string
	call func(ctx context.Context, rng *rand.Rand) error
}

// readRounds is how many turns interleaved gives each read: the machine's
// other load (a shared machine, PostgreSQL's own work) then falls on all of
// them alike, rather than on whichever ran while it peaked.
const readRounds = 10

// interleaved measures each read for d with callers, in readRounds turns
// of d/readRounds (each after a quarter of that uncounted), one read after
// the other, and returns their figures in the order given.
func interleaved(ctx context.Context, callers int, d time.Duration, reads ...reader) []throughput {
	out := make([]throughput, len(reads))
	for i, r := range reads {
		out[i].name = r.name
	}
	for range readRounds {
		for i, r := range reads {
			// Uncounted, the calls a turn starts with: the other reads'
			// turns have let its cache run cold, which steady calling
			// never does (entries end one by one and are read again).
			callsFor(ctx, r.name, callers, d/readRounds/4, r.call)
			t := callsFor(ctx, r.name, callers, d/readRounds, r.call)
			out[i].lat = append(out[i].lat, t.lat...)
			out[i].elapsed += t.elapsed
			out[i].errors += t.errors
			if out[i].firstErr == nil {
				out[i].firstErr = t.firstErr
			}
		}
	}
	return out
}

// echoServer starts the baseline of the read figures: a bare grpc-go unary
// echo (no interceptors, no auth, no telemetry) on loopback in this
// process, and returns a call of it over one plain connection (as the
// services' callers call them over one connection each) and how to stop it.
func echoServer() (func(ctx context.Context, _ *rand.Rand) error, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&echoService, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	in := wrapperspb.String("会员 0190a4c2-7b1e-7d2a-9f3e-5c6b7a8d9e0f")
	call := func(ctx context.Context, _ *rand.Rand) error {
		return conn.Invoke(ctx, echoMethod, in, new(wrapperspb.StringValue))
	}
	return call, func() { conn.Close(); srv.Stop() }, nil
}

// customerService starts the customer service on a fresh database of the
// bench's server and NATS, creates n customers, reads each once, and
// returns a GetCustomer of a random one and how to stop it all.
func customerService(ctx context.Context, postgres, natsURL, dir string, n int, logf func(string, ...any), stderr io.Writer) (
	call func(ctx context.Context, rng *rand.Rand) error, stop func() error, err error) {
	var stops []func() error
	stop = func() error {
		var err error
		for i := len(stops) - 1; i >= 0; i-- {
			err = errors.Join(err, stops[i]())
		}
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, stop())
		}
	}()
	dbURL, drop, err := createDatabase(ctx, postgres, "guanxi_bench_customer_")
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, drop)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	cfg, err := customer.LoadConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg.GRPCAddr, cfg.Listener, cfg.DatabaseURL, cfg.NATSURL, cfg.Auth = lis.Addr().String(), lis, dbURL, natsURL, benchAuth()
	b := &loyaltyBench{dir: dir, stderr: stderr}
	conn, err := b.startService(ctx, "customer", lis, func(ctx context.Context, l *slog.Logger) error {
		return customer.Run(ctx, cfg, l)
	}, &stops)
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, func() error { conn.Close(); return nil })
	client := customerv1.NewCustomerServiceClient(conn)
	logf("creating %d customers", n)
	ids := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range 8 {
		g.Go(func() error {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				resp, err := client.CreateCustomer(gctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
					DisplayName: fmt.Sprintf("会员 %d", i), Email: fmt.Sprintf("member%d@example.cn", i)}})
				if err != nil {
					return fmt.Errorf("create customer %d: %w", i, err)
				}
				ids[i] = resp.GetCustomer().GetId()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	// Each id read once first, as GetLoyaltyAccount's are by the purchases.
	for _, id := range ids {
		if _, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id}); err != nil {
			return nil, nil, fmt.Errorf("get customer: %w", err)
		}
	}
	call = func(ctx context.Context, rng *rand.Rand) error {
		_, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: ids[rng.IntN(len(ids))]})
		return err
	}
	return call, stop, nil
}

// reportReads prints the read figures against the echo of the same run.
func reportReads(w io.Writer, echo throughput, reads ...throughput) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	line := func(t throughput, note string) {
		if t.elapsed <= 0 {
			if t.firstErr != nil {
				fmt.Fprintf(w, "  %-20s FAILED: %v\n", t.name+":", t.firstErr)
			}
			return
		}
		fmt.Fprintf(w, "  %-20s %7.0f calls/s, p50 %s  p99 %s, %d errors%s\n", t.name+":", t.rate(),
			ms(percentile(t.lat, 0.5)), ms(percentile(t.lat, 0.99)), t.errors, note)
		if t.firstErr != nil {
			fmt.Fprintf(w, "    first error: %v\n", t.firstErr)
		}
	}
	line(echo, " (bare grpc-go unary echo, the baseline)")
	for _, t := range reads {
		note := ""
		if echo.rate() > 0 && t.elapsed > 0 {
			r := t.rate() / echo.rate()
			note = fmt.Sprintf("; %.2f x echo (target >= %.1f: %s)", r, readTarget, verdict(r >= readTarget && t.errors == 0))
		}
		line(t, note)
	}
}
