package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
)

// Targets from the issue that asked for the footprint.
const (
	idleRSSTarget  = 40 << 20 // bytes per service
	devStartTarget = 3 * time.Second
)

// runFootprint is `guanxi bench footprint`.
func runFootprint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench footprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	exe, _ := os.Executable()
	binDir := fs.String("bin", filepath.Dir(exe), "directory of the binaries make build makes (guanxi, gateway, one per service)")
	settle := fs.Duration("settle", 10*time.Second, "how long a started process idles before its RSS is read")
	starts := fs.Int("starts", 3, "guanxi dev starts timed: the first on a fresh data directory, the rest restarts on it")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server; a fresh database per service is created and dropped on it")
	keep := fs.Bool("keep", false, "keep the temporary directory with the processes' logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *starts < 1 {
		return errors.New("bench: -starts must be at least 1")
	}
	dir, err := os.MkdirTemp("", "guanxi-bench-footprint-")
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
	b := &footprintBench{bin: *binDir, postgres: pg, settle: *settle, dir: dir, stderr: stderr}
	b.version = serverVersion(ctx, pg)
	err = errors.Join(b.services(ctx), b.dev(ctx, *starts))
	b.report(stdout)
	record(ctx, b.figures()...)
	return err
}

// footprintBench measures what the suite costs at rest: each service's
// resident memory as its own process (the production deployment: a
// PostgreSQL database each, one NATS node) once it has started and sat
// idle, and how long `guanxi dev` takes from exec to serving.
type footprintBench struct {
	bin, postgres, dir, version string
	settle                      time.Duration
	stderr                      io.Writer

	procs    []procMemory // the services, then the gateway and the NATS node
	procsErr error
	devRuns  []time.Duration // exec to every endpoint answering, first on a fresh data directory
	devMem   procMemory      // guanxi dev itself after its last start
	devErr   error
}

// procMemory is a process's memory: VmRSS once idle (the median of
// samples a second apart) and VmHWM, the peak resident size since exec.
type procMemory struct {
	name     string
	rss, hwm int64
	err      error
}

func (b *footprintBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// services starts every service, the gateway and a NATS node as their own
// processes and reads their memory once idle.
func (b *footprintBench) services(ctx context.Context) error {
	replicas := map[string]int{deploy.Gateway: 1}
	for _, s := range deploy.Services {
		replicas[s] = 1
	}
	b.logf("starting every service as its own process (bin %s), one NATS node, a PostgreSQL database each", b.bin)
	dep, err := deploy.Start(ctx, deploy.Spec{Dir: filepath.Join(b.dir, "deploy"), BinDir: b.bin, Postgres: b.postgres,
		Replicas: replicas, NATSNodes: 1})
	if err != nil {
		b.procsErr = err
		return err
	}
	defer dep.Close()
	var procs []*deploy.Proc
	for _, name := range append(slices.Clone(deploy.Services), deploy.Gateway) {
		procs = append(procs, dep.Services[name].Replicas...)
	}
	procs = append(procs, dep.NATS...)
	b.logf("idling %s, then reading each one's VmRSS", b.settle)
	if err := sleep(ctx, b.settle); err != nil {
		return err
	}
	samples := make([][]int64, len(procs))
	for i := range 5 {
		if i > 0 {
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		for j, p := range procs {
			rss, _, err := readMemory(p.PID())
			if err == nil {
				samples[j] = append(samples[j], rss)
			}
		}
	}
	for j, p := range procs {
		m := procMemory{name: p.Service}
		_, m.hwm, m.err = readMemory(p.PID())
		if len(samples[j]) > 0 {
			slices.Sort(samples[j])
			m.rss = samples[j][len(samples[j])/2]
		}
		b.procs = append(b.procs, m)
	}
	return nil
}

// dev times `guanxi dev` from exec until its REST edge and all six gRPC
// services answer readiness, starts times: the first on a fresh data
// directory (every SQLite file created and migrated), the rest restarts.
// After the last start it reads the process's memory once idle.
func (b *footprintBench) dev(ctx context.Context, starts int) error {
	data := filepath.Join(b.dir, "dev")
	for i := range starts {
		last := i == starts-1
		b.logf("guanxi dev start %d of %d", i+1, starts)
		elapsed, mem, err := b.devStart(ctx, data, last)
		if err != nil {
			b.devErr = err
			return err
		}
		b.devRuns = append(b.devRuns, elapsed)
		if last {
			b.devMem = mem
		}
	}
	return nil
}

func (b *footprintBench) devStart(ctx context.Context, data string, measureMemory bool) (time.Duration, procMemory, error) {
	grpcPort, err := freePortRange(7)
	if err != nil {
		return 0, procMemory{}, err
	}
	// Seven ports in a row: six gRPC services, then the REST edge.
	httpPort, natsPort := grpcPort+6, 0
	if ports, err := freePorts(1); err == nil {
		natsPort = ports[0]
	} else {
		return 0, procMemory{}, err
	}
	cmd := exec.Command(filepath.Join(b.bin, "guanxi"), "dev", "-data", data, "-host", "127.0.0.1",
		"-grpc-port", strconv.Itoa(grpcPort), "-http-port", strconv.Itoa(httpPort),
		"-nats-port", strconv.Itoa(natsPort), "-metrics-port", "-1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, procMemory{}, fmt.Errorf("start guanxi dev: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return nil
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("guanxi dev did not stop within 30 s of SIGTERM")
		}
	}
	elapsed, err := waitDevReady(ctx, grpcPort, httpPort, start, exited)
	if err != nil {
		_ = stop()
		return 0, procMemory{}, fmt.Errorf("guanxi dev (log in %s): %w", filepath.Join(data, "guanxi.log"), err)
	}
	mem := procMemory{name: "guanxi dev"}
	if measureMemory {
		if err := sleep(ctx, b.settle); err != nil {
			_ = stop()
			return 0, procMemory{}, err
		}
		mem.rss, mem.hwm, mem.err = readMemory(cmd.Process.Pid)
	}
	return elapsed, mem, stop()
}

// waitDevReady polls, every 5 ms, the REST edge's /readyz and the gRPC
// health of the six services until all answer, and returns the time since
// start.
func waitDevReady(ctx context.Context, grpcPort, httpPort int, start time.Time, exited chan error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conns := make([]*grpc.ClientConn, 6)
	for i := range conns {
		// Redial every 5 ms: gRPC's default backoff waits a second after
		// a refused connection, which would round the figure up to it.
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort+i), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: time.Second,
				Backoff: backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1, MaxDelay: 5 * time.Millisecond}}))
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		conns[i] = conn
	}
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)
	pending := slices.Clone(conns)
	edgeReady := false
	for {
		if !edgeReady {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_ = resp.Body.Close()
				edgeReady = resp.StatusCode == http.StatusOK
			}
		}
		pending = slices.DeleteFunc(pending, func(c *grpc.ClientConn) bool {
			cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			resp, err := healthpb.NewHealthClient(c).Check(cctx, &healthpb.HealthCheckRequest{})
			return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
		})
		if edgeReady && len(pending) == 0 {
			return time.Since(start), nil
		}
		select {
		case err := <-exited:
			exited <- err
			return 0, fmt.Errorf("exited before serving: %v", err)
		case <-ctx.Done():
			return 0, fmt.Errorf("not serving after a minute (REST edge ready %v, %d gRPC services not)", edgeReady, len(pending))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// readMemory reads VmRSS and VmHWM of process pid in bytes.
func readMemory(pid int) (rss, hwm int64, err error) {
	if pid == 0 {
		return 0, 0, errors.New("not running")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, key, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, sc.Err()
}

// freePortRange finds n free consecutive loopback ports and returns the
// first: guanxi dev numbers its gRPC ports from one.
func freePortRange(n int) (int, error) {
	for range 100 {
		first := 20_000 + rand.IntN(20_000)
		var held []net.Listener
		ok := true
		for p := first; p < first+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			_ = l.Close()
		}
		if ok {
			return first, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports", n)
}

// freePorts returns n free loopback ports the system picked.
func freePorts(n int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	out := make([]int, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (b *footprintBench) report(w io.Writer) {
	fmt.Fprintf(w, "\nguanxi bench footprint: each process idle %s after serving; PostgreSQL %s; %s, %d CPUs\n",
		b.settle, b.version, runtime.Version(), runtime.NumCPU())
	fmt.Fprintf(w, "  idle RSS, each service its own process (target < %s per service):\n", mib(idleRSSTarget))
	if b.procsErr != nil {
		fmt.Fprintf(w, "    FAILED: %v\n", b.procsErr)
	}
	for _, m := range b.procs {
		note := ""
		if slices.Contains(deploy.Services, m.name) {
			note = verdict(m.rss < idleRSSTarget)
		}
		if m.err != nil {
			fmt.Fprintf(w, "    %-13s FAILED: %v\n", m.name, m.err)
			continue
		}
		fmt.Fprintf(w, "    %-13s %10s  (peak %s)  %s\n", m.name, mib(m.rss), mib(m.hwm), note)
	}
	fmt.Fprintf(w, "  guanxi dev, exec to REST edge and six gRPC services serving (target < %s):\n", devStartTarget)
	if b.devErr != nil {
		fmt.Fprintf(w, "    FAILED: %v\n", b.devErr)
	}
	for i, d := range b.devRuns {
		what := "restart"
		if i == 0 {
			what = "fresh data directory"
		}
		fmt.Fprintf(w, "    start %d      %8.2f s  %s  (%s)\n", i+1, d.Seconds(), verdict(d < devStartTarget), what)
	}
	if m := b.devMem; m.rss > 0 || m.err != nil {
		if m.err != nil {
			fmt.Fprintf(w, "    idle RSS FAILED: %v\n", m.err)
		} else {
			fmt.Fprintf(w, "    idle RSS     %10s  (peak %s), the whole suite in one process\n", mib(m.rss), mib(m.hwm))
		}
	}
}
