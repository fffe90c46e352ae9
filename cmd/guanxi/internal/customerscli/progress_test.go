package customerscli

import (
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		total    int64
		terminal bool
		bytes    int64
		rows     int64
		status   string
		elapsed  time.Duration
		want     string
	}{
		{name: "bytes", total: 4 << 20, bytes: 1 << 20, elapsed: 10 * time.Second,
			want: "1.0 MiB of 4.0 MiB (25%), 102.4 KiB/s, ETA 0:30, 0:10"},
		{name: "bytes on a terminal", total: 4 << 20, terminal: true, bytes: 1 << 20, elapsed: 10 * time.Second,
			want: "[======                  ] 1.0 MiB of 4.0 MiB (25%), 102.4 KiB/s, ETA 0:30, 0:10"},
		{name: "all sent", total: 2 << 30, bytes: 2 << 30, elapsed: 90 * time.Minute, status: "waiting",
			want: "2.00 GiB of 2.00 GiB (100%), 388.4 KiB/s, 1:30:00, waiting"},
		{name: "unknown size", total: -1, bytes: 512, elapsed: 2 * time.Second,
			want: "512 B sent, 256 B/s, 0:02"},
		{name: "nothing yet", total: 100, elapsed: 0,
			want: "0 B of 100 B (0%), 0 B/s, 0:00"},
		{name: "rows", total: 0, rows: 150000, elapsed: 3 * time.Second,
			want: "150000 rows, 50000 rows/s, 0:03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &progress{total: tt.total, terminal: tt.terminal}
			p.bytes.Store(tt.bytes)
			p.rows.Store(tt.rows)
			if tt.status != "" {
				p.setStatus(tt.status)
			}
			if got := p.line(tt.elapsed); got != tt.want {
				t.Errorf("line =\n %q, want\n %q", got, tt.want)
			}
		})
	}
}

// testinfra.Buffer is written by the progress goroutine while the test reads.
func TestProgressOnATerminalRedrawsOneLine(t *testing.T) {
	t.Parallel()
	var out testinfra.Buffer
	p := startProgress(progressConfig{W: &out, Terminal: true, Interval: time.Millisecond}, "import", 1000)
	p.addBytes(500)
	testinfra.Eventually(t, 5*time.Second, "progress drawn at 50%", func() bool { return strings.Contains(out.String(), "(50%)") })
	p.addBytes(500)
	testinfra.Eventually(t, 5*time.Second, "progress drawn at 100%", func() bool { return strings.Contains(out.String(), "(100%)") })
	p.finish()
	s := out.String()
	if strings.Contains(s, "\n") {
		t.Errorf("terminal progress wrote a newline: %q", s)
	}
	if !strings.HasPrefix(s, "\r") || !strings.HasSuffix(s, "\r") {
		t.Errorf("terminal progress does not redraw with \\r and clear at the end: %q", s)
	}
}

func TestProgressInALogWritesLines(t *testing.T) {
	t.Parallel()
	var out testinfra.Buffer
	p := startProgress(progressConfig{W: &out, Interval: time.Millisecond}, "export", 0)
	p.addRows(42)
	testinfra.Eventually(t, 5*time.Second, "a progress line", func() bool { return strings.Contains(out.String(), "export: 42 rows, ") })
	p.finish()
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if line != "" && (!strings.HasPrefix(line, "export: ") || !strings.HasSuffix(line, "\n") || strings.Contains(line, "\r")) {
			t.Errorf("not a plain log line: %q", line)
		}
	}
}

func TestProgressWithoutWriterDrawsNothing(t *testing.T) {
	t.Parallel()
	p := startProgress(progressConfig{}, "import", 10)
	p.addBytes(10)
	p.finish() // must not block or panic
}
