// Package bench is `guanxi bench`, run by `make bench`: it measures the
// customer service's bulk import and export on PostgreSQL against a raw
// COPY of the same rows, and prints the figures. Benchmarks measure; tests
// assert (DESIGN.md section 11).
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// Targets from the issue that asked for bulk import and export.
const (
	importTarget       = 20_000 // rows/s
	exportTargetRows   = 1_000_000
	exportTargetSecond = 30
)

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchmark is one `guanxi bench NAME`: args are the flags after NAME.
type benchmark struct {
	about string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// benchmarks are the benchmarks by name, one per service, each in its own
// file of this package.
var benchmarks = map[string]benchmark{
	"customers":     {"import and export N generated customers on PostgreSQL", runCustomers},
	"loyalty":       {"purchase-to-points latency at 1,000 purchases/s and GetLoyaltyAccount throughput on PostgreSQL", runLoyalty},
	"interactions":  {"call-center ingest into PostgreSQL over streaming gRPC and NATS: throughput, p99 ingest-to-readable, ratio to raw JetStream publish", runInteractions},
	"segmentation":  {"full recompute of ABC, RFM and predictions for generated customers on PostgreSQL vs one SQL query; BG/NBD fit time on CDNOW", runSegmentation},
	"consumers":     {"each service's consumers on PostgreSQL: catch-up of every read model after an import of N customers, purchases drained per second by one replica", runConsumers},
	"notifications": {"campaign to N opted-in customers on PostgreSQL: messages created and dispatched to the dev sink per second", runNotifications},
	"footprint":     {"idle RSS of each service as its own process (make build's binaries) and guanxi dev's time from exec to serving", runFootprint},
}

// Run runs `guanxi bench NAME [flags]` with args after "bench". With
// -json FILE anywhere in args it also writes the figures into FILE
// (figures.go).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jsonFile, args, err := jsonPath(args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		if b, ok := benchmarks[args[0]]; ok {
			if jsonFile != "" {
				return runRecorded(ctx, jsonFile, args[0], b, args[1:], stdout, stderr)
			}
			return b.run(ctx, args[1:], stdout, stderr)
		}
	}
	help := len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
	w := stderr
	if help {
		w = stdout
	}
	fmt.Fprintln(w, "Usage: guanxi bench [-json FILE] NAME [flags]; -json merges NAME's figures into FILE. NAME one of:")
	for _, name := range slices.Sorted(maps.Keys(benchmarks)) {
		fmt.Fprintf(w, "  %-14s %s\n", name, benchmarks[name].about)
	}
	if help {
		return nil
	}
	return errors.New("bench: name a benchmark")
}

// runCustomers is `guanxi bench customers`.
func runCustomers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench customers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1_000_000, "customers to generate")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server (a database on it to connect to); fresh databases are created and dropped on it")
	keep := fs.Bool("keep", false, "keep the temporary directory with the generated file and the service log")
	sqlite := fs.Bool("sqlite", false, "run the customer service on a SQLite file, the embedded default, instead of PostgreSQL; the raw COPY stays on PostgreSQL")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import and export (client and service, one process) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n <= 0 {
		return errors.New("bench: -n must be positive")
	}
	b := &customersBench{n: *n, postgres: pg, sqlite: *sqlite, stderr: stderr, cpuProfile: *cpuProfile}
	dir, err := os.MkdirTemp("", "guanxi-bench-")
	if err != nil {
		return err
	}
	b.dir = dir
	defer func() {
		if *keep {
			fmt.Fprintf(stderr, "kept %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	runErr := b.run(ctx)
	b.report(stdout)
	record(ctx, b.figures()...)
	return runErr
}

type customersBench struct {
	n          int
	postgres   string
	sqlite     bool
	stderr     io.Writer
	dir        string
	cpuProfile string

	file     string
	fileSize int64
	version  string

	gen, imp, relay, exp, stored, cp step
	importCPU                        cpuTime
	importResp                       *customerv1.ImportCustomersResponse
	pages                            pagesResult // pages.go
}

// step is one measured step; err is set when it failed, and skipped when
// an earlier failure kept it from running.
type step struct {
	rows    int64
	elapsed time.Duration
	err     error
	ran     bool
}

func (s step) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.rows) / s.elapsed.Seconds()
}

func (b *customersBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// run runs the steps. A failed import or export does not stop the COPY,
// so the figures that can be had are printed.
func (b *customersBench) run(ctx context.Context) error {
	b.version = serverVersion(ctx, b.postgres)

	b.file = filepath.Join(b.dir, "customers.csv")
	b.logf("generating %d customers into %s", b.n, b.file)
	b.gen = b.generate()
	if b.gen.err != nil {
		return b.gen.err
	}

	serviceErr := b.service(ctx)

	b.logf("loading the same file with COPY into a plain table")
	b.cp = b.copy(ctx)
	return errors.Join(serviceErr, b.cp.err)
}

func (b *customersBench) generate() step {
	start := time.Now()
	f, err := os.Create(b.file)
	if err != nil {
		return step{err: err, ran: true}
	}
	err = writeCSV(f, b.n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return step{err: fmt.Errorf("generate: %w", err), ran: true}
	}
	fi, err := os.Stat(b.file)
	if err != nil {
		return step{err: err, ran: true}
	}
	b.fileSize = fi.Size()
	return step{rows: int64(b.n), elapsed: time.Since(start), ran: true}
}

// service starts the customer service on a fresh database, imports the
// file and exports it all, then stops the service and drops the database.
func (b *customersBench) service(ctx context.Context) (err error) {
	dbURL, drop, err := b.serviceDatabase(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drop()) }()

	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(b.dir, "nats"), Port: -1}, nil)
	if err != nil {
		return err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(b.dir, "customer.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := logging.New(logFile, "customer", slog.LevelInfo)

	svcCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	cfg := customer.Config{GRPCAddr: lis.Addr().String(), Listener: lis, DatabaseURL: dbURL, Broker: servicehost.Broker{NATSURL: ns.ClientURL()}, Auth: benchAuth()}
	go func() { done <- customer.Run(svcCtx, cfg, logger) }()
	defer func() {
		stop()
		if runErr := <-done; runErr != nil {
			err = errors.Join(err, fmt.Errorf("customer service: %w (log in %s)", runErr, logFile.Name()))
		}
	}()

	conn, err := dial(lis.Addr().String(), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := waitServing(ctx, conn, done); err != nil {
		return err
	}
	client := customerv1.NewCustomerServiceClient(conn)
	if err := declareAttributes(ctx, client); err != nil {
		return err
	}

	if b.cpuProfile != "" {
		stopProfile, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	progress := customerscli.ProgressConfig{W: b.stderr, Terminal: customerscli.IsTerminal(b.stderr)}
	checkpoint(ctx, b.postgres, b.logf)
	b.logf("importing through the customer service (duplicate checks on)")
	cpuStart := sampleCPU()
	b.imp = b.importFile(ctx, client, progress)
	b.importCPU = sampleCPU().since(cpuStart)
	if b.imp.err != nil {
		return b.imp.err
	}
	// The import's events go out behind it; export is measured once they
	// have, so it is timed on its own rather than against the relay.
	b.logf("waiting for the import's events to reach the bus")
	b.relay = waitOutboxEmpty(ctx, dbURL, b.imp.rows)
	if b.relay.err != nil {
		return b.relay.err
	}
	b.logf("exporting everything through the customer service")
	b.exp = b.export(ctx, client, progress)
	if b.exp.err != nil {
		return b.exp.err
	}
	if b.sqlite {
		return nil
	}
	b.pages = b.listPages(ctx, client, dbURL, b.imp.rows)
	if b.pages.err != nil {
		return b.pages.err
	}
	b.logf("loading the rows the import stored with COPY into empty tables like the service's")
	checkpoint(ctx, b.postgres, b.logf)
	b.stored = copyStored(ctx, dbURL, b.dir)
	return b.stored.err
}

// serviceDatabase is a fresh database for the service and a function that
// removes it: on the PostgreSQL server, or with -sqlite a file.
func (b *customersBench) serviceDatabase(ctx context.Context) (string, func() error, error) {
	if !b.sqlite {
		return createDatabase(ctx, b.postgres, "guanxi_bench_")
	}
	path := filepath.Join(b.dir, "customer.db")
	drop := func() error {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	return "sqlite://" + path, drop, nil
}

// waitServing waits for the health check, or for the service to fail. done
// carries the service's one result; what it takes from done it puts back,
// for the caller's deferred stop reads done too.
func waitServing(ctx context.Context, conn *grpc.ClientConn, done chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ready := make(chan error, 1)
	go func() {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("customer service is %v", resp.GetStatus())
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		return err
	case err := <-done:
		done <- err
		return fmt.Errorf("service stopped before serving: %w", err)
	}
}

func declareAttributes(ctx context.Context, client customerv1.CustomerServiceClient) error {
	for _, d := range []*customerv1.AttributeDefinition{
		{Name: attrCity, Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING, DisplayName: "城市"},
		{Name: attrSpend, Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER, DisplayName: "年消费额"},
		{Name: attrSource, Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING, DisplayName: "来源"},
	} {
		if _, err := client.CreateAttributeDefinition(ctx, &customerv1.CreateAttributeDefinitionRequest{AttributeDefinition: d}); err != nil {
			return fmt.Errorf("declare attribute %s: %w", d.GetName(), err)
		}
	}
	return nil
}

func (b *customersBench) importFile(ctx context.Context, client customerv1.CustomerServiceClient, progress customerscli.ProgressConfig) step {
	f, err := os.Open(b.file)
	if err != nil {
		return step{err: err, ran: true}
	}
	defer f.Close()
	res, err := customerscli.Import(ctx, client, f, b.fileSize, customerscli.ImportOptions{
		Format:   customerv1.ImportFormat_IMPORT_FORMAT_CSV,
		Progress: progress,
	})
	if err != nil {
		return step{err: err, ran: true}
	}
	b.importResp = res.Response
	s := step{rows: res.Response.GetRowCount(), elapsed: res.Elapsed, ran: true}
	if failed := res.Response.GetFailedCount(); failed > 0 {
		first := ""
		if errs := res.Response.GetErrors(); len(errs) > 0 {
			first = fmt.Sprintf("; first: line %d: %s: %s", errs[0].GetLine(), errs[0].GetField(), errs[0].GetReason())
		}
		s.err = fmt.Errorf("import refused %d of %d generated rows%s", failed, res.Response.GetRowCount(), first)
	}
	return s
}

func (b *customersBench) export(ctx context.Context, client customerv1.CustomerServiceClient, progress customerscli.ProgressConfig) step {
	res, err := customerscli.Export(ctx, client, io.Discard, customerscli.ExportOptions{
		Format:   customerv1.ImportFormat_IMPORT_FORMAT_CSV,
		Progress: progress,
	})
	if err != nil {
		return step{err: err, ran: true}
	}
	s := step{rows: res.Rows, elapsed: res.Elapsed, ran: true}
	if want := b.importResp.GetCreatedCount(); res.Rows != want {
		s.err = fmt.Errorf("export returned %d customers, the import created %d", res.Rows, want)
	}
	return s
}

func (b *customersBench) copy(ctx context.Context) step {
	dbURL, drop, err := createDatabase(ctx, b.postgres, "guanxi_bench_copy_")
	if err != nil {
		return step{err: err, ran: true}
	}
	rows, elapsed, err := copyCSV(ctx, dbURL, b.file, genHeader)
	return step{rows: rows, elapsed: elapsed, err: errors.Join(err, drop()), ran: true}
}

// report prints the figures as a table.
func (b *customersBench) report(w io.Writer) {
	host := b.postgres
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	host, _, _ = strings.Cut(host, "/")
	service := ""
	if b.sqlite {
		service = "service on SQLite, raw COPY on "
	}
	fmt.Fprintf(w, "\nguanxi bench customers: %d customers, CSV %.1f MiB; %sPostgreSQL %s at %s; %s, %d CPUs\n\n",
		b.n, float64(b.fileSize)/(1<<20), service, b.version, host, runtime.Version(), runtime.NumCPU())
	const row = "%-22s %9s %9s %9s  %s\n"
	fmt.Fprintf(w, row, "step", "rows", "seconds", "rows/s", "note")
	line := func(name string, s step, note string) {
		switch {
		case !s.ran:
			fmt.Fprintf(w, row, name, "", "", "", "not run")
		case s.err != nil && s.rows == 0:
			fmt.Fprintf(w, row, name, "", "", "", "FAILED: "+s.err.Error())
		default:
			if s.err != nil {
				note = "FAILED: " + s.err.Error() + "; " + note
			}
			fmt.Fprintf(w, row, name, fmt.Sprint(s.rows), fmt.Sprintf("%.2f", s.elapsed.Seconds()), fmt.Sprintf("%.0f", s.rate()), note)
		}
	}
	line("generate CSV", b.gen, "")
	importNote := ""
	if r := b.importResp; r != nil {
		importNote = fmt.Sprintf("created %d, updated %d, unchanged %d, failed %d; target >= %d rows/s: %s",
			r.GetCreatedCount(), r.GetUpdatedCount(), r.GetUnchangedCount(), r.GetFailedCount(), importTarget, verdict(b.imp.rate() >= importTarget))
	}
	line("import (gRPC, CSV)", b.imp, importNote)
	if note := b.importCPU.note(b.imp.rows); note != "" {
		fmt.Fprintf(w, row, "import CPU", "", "", "", note)
	}
	exportNote := ""
	if b.exp.ran && b.exp.rate() > 0 {
		projected := exportTargetRows / b.exp.rate()
		exportNote = fmt.Sprintf("target %d rows in < %d s: %.1f s at this rate, %s", exportTargetRows, exportTargetSecond, projected, verdict(projected < exportTargetSecond))
	}
	line("events on the bus", b.relay, "time from the end of the import until its last event was published")
	line("export (gRPC, CSV)", b.exp, exportNote)
	line("stored rows, COPY", b.stored, "the import's rows into empty tables like its own (customers, contacts, ownership; no outbox): what no import here can beat")
	line("raw COPY, plain table", b.cp, "same file, no keys or indexes")
	if b.imp.rate() > 0 && b.cp.rate() > 0 {
		fmt.Fprintf(w, row, "import / raw COPY", "", "", fmt.Sprintf("%.3f", b.imp.rate()/b.cp.rate()), "ratio of rows/s")
	}
	if b.stored.rate() > 0 && b.cp.rate() > 0 {
		fmt.Fprintf(w, row, "stored / raw COPY", "", "", fmt.Sprintf("%.3f", b.stored.rate()/b.cp.rate()), "ratio of rows/s: the most the import could reach on this schema")
		fmt.Fprintf(w, row, "import / stored", "", "", fmt.Sprintf("%.3f", b.imp.rate()/b.stored.rate()), "ratio of rows/s")
	}
	b.pages.report(w)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
