package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is CPU time: busy is the whole machine's (every process: the
// service and its client here, PostgreSQL, anything else running), self
// this process's. ok is false where the machine's cannot be read. With
// every core busy, the import's rate follows the CPU time each row costs,
// so the difference over a step tells builds apart better than its rate
// on a machine whose speed drifts.
type cpuTime struct {
	busy, self time.Duration
	ok         bool
}

func sampleCPU() cpuTime {
	var s cpuTime
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.busy, s.ok = machineBusy()
	return s
}

func (s cpuTime) since(start cpuTime) cpuTime {
	return cpuTime{busy: s.busy - start.busy, self: s.self - start.self, ok: s.ok && start.ok}
}

// note describes u, the CPU time a step spent on rows rows.
func (u cpuTime) note(rows int64) string {
	if !u.ok || rows <= 0 {
		return ""
	}
	perRow := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(rows) }
	return fmt.Sprintf("CPU %.1f s busy on the machine, %.0f µs/row (this process %.0f µs/row, the rest %.0f µs/row)",
		u.busy.Seconds(), perRow(u.busy), perRow(u.self), perRow(u.busy-u.self))
}

// clockTicks is USER_HZ, the unit of /proc/stat; it is 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// machineBusy reads the CPU time all cores spent not idle from /proc/stat
// (Linux only; ok is false elsewhere).
func machineBusy() (time.Duration, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy int64
	// user nice system idle iowait irq softirq steal ...: idle and iowait
	// are not busy; guest time is already counted in user.
	for i, f := range fields[1:min(len(fields), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, true
}
