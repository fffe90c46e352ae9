package bench

import (
	"math"
	"slices"
	"time"
)

// percentile is the nearest-rank p-quantile of ds (p in [0, 1]): the
// smallest sample that at least p of the samples do not exceed, so p99 of
// 100 samples is the 99th, and p 1 is the maximum. Every benchmark reports
// with it, so their figures compare. It is 0 for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
