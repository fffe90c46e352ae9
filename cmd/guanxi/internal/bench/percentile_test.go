package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	for _, tt := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{hundred, 0.5, 50 * time.Millisecond},
		{hundred, 0.99, 99 * time.Millisecond},
		{hundred, 1, 100 * time.Millisecond},
		{hundred, 0, 1 * time.Millisecond},
		{[]time.Duration{3, 1, 2}, 0.5, 2},
		{[]time.Duration{7}, 0.99, 7},
	} {
		if got := percentile(tt.ds, tt.p); got != tt.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tt.ds), tt.p, got, tt.want)
		}
	}
}
