package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestEchoBaselineAndRatios: the bare echo answers its callers, and a read
// is reported as a ratio of it with the verdict of the target.
func TestEchoBaselineAndRatios(t *testing.T) {
	call, stop, err := echoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	e := interleaved(context.Background(), 4, 200*time.Millisecond, reader{name: "echo", call: call})[0]
	if e.firstErr != nil || e.errors != 0 || len(e.lat) == 0 {
		t.Fatalf("echo: %d calls, %d errors, first %v", len(e.lat), e.errors, e.firstErr)
	}
	fast := throughput{name: "Fast", lat: make([]time.Duration, len(e.lat)), elapsed: e.elapsed}
	slow := throughput{name: "Slow", lat: make([]time.Duration, len(e.lat)/4), elapsed: e.elapsed}
	var out bytes.Buffer
	reportReads(&out, e, fast, slow)
	s := out.String()
	for _, want := range []string{"echo:", "Fast:", "1.00 x echo (target >= 0.5: met)", "Slow:", "x echo (target >= 0.5: MISSED)"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
