// Package customerscli is `guanxi customers`: import a CSV or NDJSON file
// into the customer service and export customers from it, with progress on
// stderr.
package customerscli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/credential"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/devendpoints"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/importfile"
)

// maxShownErrors is how many bad rows the terminal gets; -errors FILE
// takes them all.
const maxShownErrors = 20

const usage = `Usage:
  guanxi customers import [flags] FILE   import a CSV or NDJSON file ("-" for stdin)
  guanxi customers export [flags]        export customers as NDJSON or CSV

Run "guanxi customers import -h" or "guanxi customers export -h" for flags.
`

// Run runs `guanxi customers` with args after "customers".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("customers: no subcommand given")
	}
	switch args[0] {
	case "import":
		return runImport(ctx, args[1:], stdout, stderr)
	case "export":
		return runExport(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("customers: unknown subcommand %q", args[0])
	}
}

// common are the flags both subcommands take.
type common struct {
	addrFlag string
	as       credential.Flags
	// addr is the customer service's address, resolved by dial, and src
	// where it came from.
	addr string
	src  devendpoints.Source
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addrFlag, "addr", "", credential.AddrUsage("customer", "the service called"))
	c.as.Register(fs)
}

// dial connects lazily: a wrong address shows up on the first call.
func (c *common) dial(ctx context.Context) (customerv1.CustomerServiceClient, func(), error) {
	c.addr, c.src = devendpoints.Addr("customer", c.addrFlag, c.as.DataDir)
	as, err := c.as.DialOption(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Export batches may be large; the stream calls themselves carry no
	// deadline (grpcclient's default timeout is for unary calls only).
	conn, err := grpcclient.Dial(c.addr, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)), as)
	if err != nil {
		return nil, nil, err
	}
	return customerv1.NewCustomerServiceClient(conn), func() { _ = conn.Close() }, nil
}

// explain says what to do when the customer service is not reachable.
func (c *common) explain(err error) error {
	return c.as.Explain("customer", c.addr, c.src, err)
}

// parse parses flags that may come before or after the positional
// arguments, as in "import data.csv -format csv", and returns the
// positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// formatFromName tells the format by a file's extension.
func formatFromName(name string) (customerv1.ImportFormat, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return customerv1.ImportFormat_IMPORT_FORMAT_CSV, true
	case ".ndjson", ".jsonl", ".json":
		return customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, true
	}
	return 0, false
}

func parseFormat(s string) (customerv1.ImportFormat, error) {
	switch strings.ToLower(s) {
	case "csv":
		return customerv1.ImportFormat_IMPORT_FORMAT_CSV, nil
	case "ndjson", "jsonl":
		return customerv1.ImportFormat_IMPORT_FORMAT_NDJSON, nil
	}
	return 0, fmt.Errorf("unknown format %q; want csv or ndjson", s)
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi customers import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: guanxi customers import [flags] FILE

Imports customers from a file, updating those whose external_id matches.
CSV: a header row names the columns, any of
  `+strings.Join(importfile.Columns, ", ")+`
  and `+importfile.AttributePrefix+`<name> for declared attributes; display_name is required.
  other_emails, other_phones and tags are separated by ";"; birthday is
  YYYY-MM-DD or --MM-DD. An empty cell is no value: when the row updates
  a customer, it clears that field; leave the column out to keep it.
NDJSON: one customer per line in its JSON form, as export writes it.

`)
		fs.PrintDefaults()
	}
	var c common
	c.register(fs)
	formatName := fs.String("format", "", "csv or ndjson (default: from the file's extension)")
	allowDup := fs.Bool("allow-duplicates", false, "create rows whose email or phone belongs to another customer, flagged possible_duplicate")
	errorsFile := fs.String("errors", "", "write every refused row to this file")
	pos, err := parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("customers import: give exactly one FILE")
	}
	path := pos[0]

	var format customerv1.ImportFormat
	switch {
	case *formatName != "":
		if format, err = parseFormat(*formatName); err != nil {
			return err
		}
	default:
		var ok bool
		if format, ok = formatFromName(path); !ok {
			return fmt.Errorf("customers import: cannot tell the format of %q from its name; give -format csv or -format ndjson", path)
		}
	}

	in, size, closeIn, err := openInput(path)
	if err != nil {
		return err
	}
	defer closeIn()

	client, closeConn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	res, err := Import(ctx, client, in, size, ImportOptions{
		Format:          format,
		AllowDuplicates: *allowDup,
		Progress:        ProgressConfig{W: stderr, Terminal: IsTerminal(stderr)},
	})
	if err != nil {
		return c.explain(err)
	}
	printImportSummary(stdout, path, res, *errorsFile)
	if *errorsFile != "" {
		if err := writeErrors(*errorsFile, res.Response); err != nil {
			return err
		}
	}
	if n := res.Response.GetFailedCount(); n > 0 {
		return fmt.Errorf("customers import: %d of %s %s refused", n, count(res.Response.GetRowCount(), "row", "rows"), plural(n, "was", "were"))
	}
	return nil
}

func openInput(path string) (io.Reader, int64, func(), error) {
	if path == "-" {
		return os.Stdin, -1, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	size := fi.Size()
	if !fi.Mode().IsRegular() {
		size = -1
	}
	return f, size, func() { f.Close() }, nil
}

func printImportSummary(w io.Writer, path string, res *ImportResult, errorsFile string) {
	r := res.Response
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "Imported %s (%s) in %s.\n", path, size(res.Bytes), res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  rows       %d\n", r.GetRowCount())
	fmt.Fprintf(w, "  created    %d\n", r.GetCreatedCount())
	fmt.Fprintf(w, "  updated    %d\n", r.GetUpdatedCount())
	fmt.Fprintf(w, "  unchanged  %d\n", r.GetUnchangedCount())
	fmt.Fprintf(w, "  failed     %d\n", r.GetFailedCount())
	fmt.Fprintf(w, "  elapsed    %.2fs\n", secs)
	fmt.Fprintf(w, "  rows/s     %s\n", rate(float64(r.GetRowCount()), secs))
	errs := r.GetErrors()
	if len(errs) == 0 {
		return
	}
	fmt.Fprintln(w, "Refused rows:")
	for _, e := range errs[:min(len(errs), maxShownErrors)] {
		fmt.Fprintln(w, "  "+errorLine(e))
	}
	more := r.GetFailedCount() - int64(min(len(errs), maxShownErrors))
	switch {
	case more <= 0:
	case errorsFile != "":
		fmt.Fprintf(w, "  ... and %d more, in %s\n", more, errorsFile)
	default:
		fmt.Fprintf(w, "  ... and %d more; -errors FILE writes them all\n", more)
	}
}

// errorLine is "line N: field: reason", or "line N: reason" without a
// field.
func errorLine(e *customerv1.ImportError) string {
	if e.GetField() == "" {
		return fmt.Sprintf("line %d: %s", e.GetLine(), e.GetReason())
	}
	return fmt.Sprintf("line %d: %s: %s", e.GetLine(), e.GetField(), e.GetReason())
}

func writeErrors(path string, r *customerv1.ImportCustomersResponse) error {
	var b strings.Builder
	for _, e := range r.GetErrors() {
		b.WriteString(errorLine(e) + "\n")
	}
	if listed := int64(len(r.GetErrors())); r.GetFailedCount() > listed {
		fmt.Fprintf(&b, "(%d more refused %s; the service lists the first %d)\n", r.GetFailedCount()-listed, plural(r.GetFailedCount()-listed, "row", "rows"), listed)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("customers import: write errors: %w", err)
	}
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi customers export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: guanxi customers export [flags]\n\nExports customers as NDJSON (one per line) or as CSV in the columns import reads.")
		fs.PrintDefaults()
	}
	var c common
	c.register(fs)
	formatName := fs.String("format", "", "ndjson or csv (default: from -o's extension, else ndjson)")
	filter := fs.String("filter", "", `AIP-160 filter, e.g. kind = "DISTRIBUTOR"`)
	query := fs.String("query", "", "free text matched against names, emails and phones")
	out := fs.String("o", "", "output file (default stdout)")
	pos, err := parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("customers export: unexpected argument %q (the output file is -o FILE)", pos[0])
	}
	format := customerv1.ImportFormat_IMPORT_FORMAT_NDJSON
	switch {
	case *formatName != "":
		if format, err = parseFormat(*formatName); err != nil {
			return err
		}
	case *out != "":
		if f, ok := formatFromName(*out); ok {
			format = f
		}
	}

	client, closeConn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()

	w, commit, abort, err := openOutput(*out, stdout)
	if err != nil {
		return err
	}
	res, err := Export(ctx, client, w, ExportOptions{
		Format:   format,
		Filter:   *filter,
		Query:    *query,
		Progress: ProgressConfig{W: stderr, Terminal: IsTerminal(stderr)},
	})
	if err != nil {
		abort()
		return c.explain(err)
	}
	if err := commit(); err != nil {
		return err
	}
	dest := *out
	if dest == "" {
		dest = "stdout"
	}
	fmt.Fprintf(stderr, "Exported %s to %s in %s (%s rows/s).\n",
		count(res.Rows, "customer", "customers"), dest, res.Elapsed.Round(time.Millisecond), rate(float64(res.Rows), res.Elapsed.Seconds()))
	for name, n := range res.MissingAttributes {
		fmt.Fprintf(stderr, "warning: %s of attribute %q %s not in the file: it was declared after the export began\n", count(n, "value", "values"), name, plural(n, "is", "are"))
	}
	return nil
}

// openOutput writes to a temporary file next to path and renames it into
// place on commit, so a failed export never leaves a cut-off file that
// looks complete. Without a path it writes to stdout.
func openOutput(path string, stdout io.Writer) (w io.Writer, commit func() error, abort func(), err error) {
	if path == "" {
		return stdout, func() error { return nil }, func() {}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("customers export: %w", err)
	}
	commit = func() error {
		if err := f.Close(); err != nil {
			_ = os.Remove(f.Name())
			return fmt.Errorf("customers export: %w", err)
		}
		if err := os.Rename(f.Name(), path); err != nil {
			_ = os.Remove(f.Name())
			return fmt.Errorf("customers export: %w", err)
		}
		return nil
	}
	abort = func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	return f, commit, abort, nil
}
