package customerscli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Redraw intervals: a terminal line is redrawn in place often enough to
// look live, while a log (stderr to a file or CI) gets a line now and then.
const (
	terminalInterval = 100 * time.Millisecond
	logInterval      = 5 * time.Second
)

// progress reports a running transfer on w from a goroutine of its own, so
// the display keeps moving (rate, elapsed time) while a call blocks.
type progress struct {
	w        io.Writer
	terminal bool
	what     string // "import" or "export", leading log lines
	total    int64  // bytes expected, or -1 when unknown; 0 for row counts
	start    time.Time

	bytes  atomic.Int64
	rows   atomic.Int64
	status atomic.Pointer[string]

	stop    chan struct{}
	stopped sync.WaitGroup
	width   int // the longest terminal line drawn, to blank it out
}

// progressConfig says where and how often progress is drawn. A nil W draws
// nothing.
type progressConfig struct {
	W        io.Writer
	Terminal bool
	// Interval overrides the redraw interval (tests).
	Interval time.Duration
}

// IsTerminal reports whether w is a terminal, where progress redraws in
// place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress starts drawing. total is the byte size of the transfer,
// -1 when unknown, or 0 to count rows instead.
func startProgress(cfg progressConfig, what string, total int64) *progress {
	p := &progress{w: cfg.W, terminal: cfg.Terminal, what: what, total: total, start: time.Now(), stop: make(chan struct{})}
	if p.w == nil {
		return p
	}
	interval := cfg.Interval
	if interval <= 0 {
		interval = logInterval
		if p.terminal {
			interval = terminalInterval
		}
	}
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) addBytes(n int64) { p.bytes.Add(n) }
func (p *progress) addRows(n int64)  { p.rows.Add(n) }
func (p *progress) setStatus(s string) {
	p.status.Store(&s)
}

// finish stops drawing and, on a terminal, clears the line, so the summary
// that follows starts on a clean one.
func (p *progress) finish() {
	if p.w == nil {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	if p.terminal && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	}
}

func (p *progress) draw() {
	line := p.line(time.Since(p.start))
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: %s\n", p.what, line)
		return
	}
	pad := ""
	if n := len([]rune(line)); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	} else {
		p.width = n
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// line is the progress as text: bytes of total, percent, rate and ETA for
// a byte transfer; rows and rate for a row count.
func (p *progress) line(elapsed time.Duration) string {
	var b strings.Builder
	secs := elapsed.Seconds()
	if p.total == 0 {
		rows := p.rows.Load()
		fmt.Fprintf(&b, "%s, %s rows/s, %s", count(rows, "row", "rows"), rate(float64(rows), secs), clock(elapsed))
	} else {
		done := p.bytes.Load()
		perSec := 0.0
		if secs > 0 {
			perSec = float64(done) / secs
		}
		if p.total > 0 {
			frac := float64(done) / float64(p.total)
			if p.terminal {
				b.WriteString(bar(frac, 24) + " ")
			}
			fmt.Fprintf(&b, "%s of %s (%.0f%%), %s/s", size(done), size(p.total), 100*frac, size(int64(perSec)))
			if left := p.total - done; left > 0 && perSec > 0 {
				fmt.Fprintf(&b, ", ETA %s", clock(time.Duration(float64(left)/perSec*float64(time.Second))))
			}
		} else {
			fmt.Fprintf(&b, "%s sent, %s/s", size(done), size(int64(perSec)))
		}
		fmt.Fprintf(&b, ", %s", clock(elapsed))
	}
	if s := p.status.Load(); s != nil && *s != "" {
		b.WriteString(", " + *s)
	}
	return b.String()
}

func bar(frac float64, width int) string {
	frac = min(max(frac, 0), 1)
	full := int(frac * float64(width))
	return "[" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + "]"
}

// size writes a byte count in binary units.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// clock writes a duration as m:ss, or h:mm:ss past an hour.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// rate is n per second, 0 when no time has passed.
func rate(n, secs float64) string {
	if secs <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", n/secs)
}
