package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/version"
)

// Figure is one figure a benchmark printed, as `-json FILE` writes it, so
// runs on two commits compare figure by figure: Name is stable between
// runs ("import", "page 10000 p50"), Value is in Unit, and a figure
// measured against a raw yardstick of the same run names it in Baseline
// with Value / baseline in Ratio.
type Figure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// Target is the target for the figure, and Met whether this
	// run met it; both absent for a figure without one.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
}

// benchRecord is one benchmark's part of the JSON file.
type benchRecord struct {
	// Version is the guanxi build that ran it (git describe, "-dirty"
	// with uncommitted changes).
	Version string    `json:"version"`
	Go      string    `json:"go"`
	CPUs    int       `json:"cpus"`
	Args    []string  `json:"args"`
	Start   time.Time `json:"start"`
	Seconds float64   `json:"seconds"`
	Error   string    `json:"error,omitempty"`
	Figures []Figure  `json:"figures"`
	// Report is the table as printed, line by line: every figure, with the
	// notes Figures leaves out.
	Report []string `json:"report"`
}

// jsonFile is the file `-json FILE` writes: each benchmark's record by
// name. `make bench` runs every benchmark as its own process, so each
// merges its record into the file, replacing its previous one.
type jsonFile struct {
	Benches map[string]*benchRecord `json:"benches"`
}

type figuresKey struct{}

// withFigures returns a context in which record adds to figs.
func withFigures(ctx context.Context, figs *[]Figure) context.Context {
	return context.WithValue(ctx, figuresKey{}, figs)
}

// record adds a benchmark's figures for -json; without -json it does
// nothing. Every benchmark calls it once its report is printed.
func record(ctx context.Context, figs ...Figure) {
	if p, ok := ctx.Value(figuresKey{}).(*[]Figure); ok {
		*p = append(*p, figs...)
	}
}

// jsonPath takes -json FILE (or -json=FILE, --json) out of args,
// wherever it is, so it works before the benchmark's name and among its
// own flags alike (`make bench ARGS=-json=FILE`).
func jsonPath(args []string) (path string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || strings.TrimPrefix(name, "-") != "json" {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return "", nil, errors.New("bench: -json needs a file name")
			}
			i++
			value = args[i]
		}
		if value == "" {
			return "", nil, errors.New("bench: -json needs a file name")
		}
		path = value
	}
	return path, rest, nil
}

// runRecorded runs b with its figures and printed report recorded into
// the JSON file at path under name.
func runRecorded(ctx context.Context, path, name string, b benchmark, args []string, stdout, stderr io.Writer) error {
	var figs []Figure
	var printed bytes.Buffer
	start := time.Now()
	runErr := b.run(withFigures(ctx, &figs), args, io.MultiWriter(stdout, &printed), stderr)
	rec := &benchRecord{Version: version.Version, Go: runtime.Version(), CPUs: runtime.NumCPU(), Args: args,
		Start: start.UTC(), Seconds: time.Since(start).Seconds(), Figures: figs,
		Report: strings.Split(strings.TrimRight(printed.String(), "\n"), "\n")}
	if rec.Figures == nil {
		rec.Figures = []Figure{}
	}
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	if err := mergeJSON(path, name, rec); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stderr, "bench: figures of %s written to %s\n", name, path)
	return runErr
}

// mergeJSON puts rec into the file at path under name, keeping the other
// benchmarks' records.
func mergeJSON(path, name string, rec *benchRecord) error {
	f := jsonFile{Benches: map[string]*benchRecord{}}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(old, &f); err != nil {
			return fmt.Errorf("bench: %s is not a file -json wrote: %w", path, err)
		}
		if f.Benches == nil {
			f.Benches = map[string]*benchRecord{}
		}
	}
	f.Benches[name] = rec
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Helpers that make the figures of a benchmark.

func met(ok bool) *bool { return &ok }

func seconds(name string, d time.Duration) Figure {
	return Figure{Name: name, Value: d.Seconds(), Unit: "s"}
}

func millis(name string, d time.Duration) Figure {
	return Figure{Name: name, Value: float64(d.Microseconds()) / 1000, Unit: "ms"}
}

// latencies are the p50 and p99 of ds as "<name> p50" and "<name> p99".
func latencies(name string, ds []time.Duration) []Figure {
	if len(ds) == 0 {
		return nil
	}
	return []Figure{millis(name+" p50", percentile(ds, 0.5)), millis(name+" p99", percentile(ds, 0.99))}
}

// against sets f's baseline b and their ratio.
func against(f Figure, b Figure) Figure {
	f.Baseline = b.Name
	if b.Value != 0 {
		f.Ratio = f.Value / b.Value
	}
	return f
}

// stepFigures are a step's rows/s and seconds, none for a step that did
// not run or failed.
func stepFigures(name string, s step) []Figure {
	if !s.ran || s.err != nil || s.elapsed <= 0 {
		return nil
	}
	return []Figure{{Name: name, Value: s.rate(), Unit: "rows/s"}, seconds(name+" time", s.elapsed)}
}
