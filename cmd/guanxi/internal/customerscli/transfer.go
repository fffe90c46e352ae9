package customerscli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// DefaultChunkSize is how much of the file each ImportCustomers message
// carries: big enough that per-message overhead vanishes, far below gRPC's
// 4 MiB message limit.
const DefaultChunkSize = 256 << 10

// ProgressConfig says where progress is drawn while a transfer runs; a nil
// W draws nothing. Terminal redraws one line in place; otherwise a plain
// line is written now and then.
type ProgressConfig struct {
	W        io.Writer
	Terminal bool
	// Interval overrides how often progress is drawn.
	Interval time.Duration
}

func (c ProgressConfig) internal() progressConfig {
	return progressConfig{W: c.W, Terminal: c.Terminal, Interval: c.Interval}
}

// ImportOptions tune Import.
type ImportOptions struct {
	Format          customerv1.ImportFormat
	AllowDuplicates bool
	// ChunkSize is the bytes per message; 0 means DefaultChunkSize.
	ChunkSize int
	Progress  ProgressConfig
}

// ImportResult is what an import did.
type ImportResult struct {
	Response *customerv1.ImportCustomersResponse
	Bytes    int64
	Elapsed  time.Duration
}

// Import streams the file r (size bytes, -1 when unknown) to
// ImportCustomers and returns the service's summary.
func Import(ctx context.Context, client customerv1.CustomerServiceClient, r io.Reader, size int64, opts ImportOptions) (*ImportResult, error) {
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	// Cancelling on a read error tells the service the file is cut short,
	// where closing the stream would pass the part read as the whole file.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	p := startProgress(opts.Progress.internal(), "import", size)
	defer p.finish()

	stream, err := client.ImportCustomers(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var sent int64
	for first := true; ; first = false {
		// A fresh buffer per message: gRPC may still hold the last one
		// (retry buffer, stats handlers) after Send returns.
		buf := make([]byte, chunk)
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || first {
			msg := &customerv1.ImportCustomersRequest{Data: buf[:n]}
			if first {
				msg.Format, msg.AllowDuplicates = opts.Format, opts.AllowDuplicates
			}
			if err := stream.Send(msg); err != nil {
				if errors.Is(err, io.EOF) {
					break // the service ended the call; CloseAndRecv says why
				}
				return nil, fmt.Errorf("import: send: %w", err)
			}
			sent += int64(n)
			p.addBytes(int64(n))
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("import: read file: %w", rerr)
		}
	}
	p.setStatus("all sent, waiting for the service to finish")
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return &ImportResult{Response: resp, Bytes: sent, Elapsed: time.Since(start)}, nil
}

// ExportOptions tune Export.
type ExportOptions struct {
	// Format is CSV (the columns Import reads) or NDJSON.
	Format   customerv1.ImportFormat
	Filter   string
	Query    string
	Progress ProgressConfig
}

// ExportResult is what an export wrote.
type ExportResult struct {
	Rows    int64
	Elapsed time.Duration
	// MissingAttributes counts, by attribute, values a CSV export could not
	// write because the attribute was declared after the export began.
	MissingAttributes map[string]int
}

// Export streams the customers matching the options from ExportCustomers
// and writes them to w.
func Export(ctx context.Context, client customerv1.CustomerServiceClient, w io.Writer, opts ExportOptions) (*ExportResult, error) {
	start := time.Now()
	bw := bufio.NewWriterSize(w, 256<<10)
	var write func(*customerv1.Customer) error
	var flush func() error
	var cw *csvWriter
	switch opts.Format {
	case customerv1.ImportFormat_IMPORT_FORMAT_CSV:
		// The header needs every attribute column before the first row.
		defs, err := client.ListAttributeDefinitions(ctx, &customerv1.ListAttributeDefinitionsRequest{})
		if err != nil {
			return nil, fmt.Errorf("export: list attribute definitions: %w", err)
		}
		var names []string
		for _, d := range defs.GetAttributeDefinitions() {
			names = append(names, d.GetName())
		}
		slices.Sort(names)
		if cw, err = newCSVWriter(bw, names); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		write, flush = cw.write, cw.flush
	case customerv1.ImportFormat_IMPORT_FORMAT_NDJSON:
		var line []byte
		marshal := protojson.MarshalOptions{}
		write = func(c *customerv1.Customer) error {
			var err error
			if line, err = marshal.MarshalAppend(line[:0], c); err != nil {
				return err
			}
			line = append(line, '\n')
			_, err = bw.Write(line)
			return err
		}
		flush = func() error { return nil }
	default:
		return nil, fmt.Errorf("export: format %v is not supported", opts.Format)
	}

	p := startProgress(opts.Progress.internal(), "export", 0)
	defer p.finish()
	stream, err := client.ExportCustomers(ctx, &customerv1.ExportCustomersRequest{Filter: opts.Filter, Query: opts.Query})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	res := &ExportResult{}
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for _, c := range batch.GetCustomers() {
			if err := write(c); err != nil {
				return nil, fmt.Errorf("export: write: %w", err)
			}
		}
		res.Rows += int64(len(batch.GetCustomers()))
		p.addRows(int64(len(batch.GetCustomers())))
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("export: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("export: write: %w", err)
	}
	if cw != nil && len(cw.unknown) > 0 {
		res.MissingAttributes = cw.unknown
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
