package process

import (
	"os"
	"runtime/debug"
)

// GCPercent is the heap growth that triggers a collection when GOGC is not
// set. guanxi services keep a small live heap and allocate quickly per
// request, so Go's default of 100 collects very often: in an import of
// customers a third of the service's CPU went to the collector, and 400
// gave the database that CPU back (import 9,400-9,800 rows/s at 100,
// 10,900-13,600 at 400, interleaved runs on a 2-core machine). GOMEMLIMIT
// still caps the heap where memory is tight.
const GCPercent = 400

// TuneGC sets the collector to GCPercent unless the GOGC environment
// variable chooses otherwise. Run calls it; commands that run services
// without Run call it from main.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
