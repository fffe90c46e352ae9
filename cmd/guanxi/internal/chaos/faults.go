package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
)

// faults kills replicas and NATS nodes and keeps the kill log.
type faults struct {
	dep *deploy.Deployment
	out io.Writer

	mu           sync.Mutex
	kills        map[string]int // by service
	natsRestarts map[string]int // by node
	recovered    time.Duration  // the longest recovery
	recoveredOf  string
	failures     []string // restarts that did not come back
	crashes      []string // processes that exited by themselves
	busy         map[*deploy.Proc]bool
}

// hold marks p as being killed and restarted, so the supervisor leaves it
// alone; it reports false when p is held already.
func (f *faults) hold(p *deploy.Proc) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[p] {
		return false
	}
	f.busy[p] = true
	return true
}

func (f *faults) release(p *deploy.Proc) {
	f.mu.Lock()
	delete(f.busy, p)
	f.mu.Unlock()
}

// supervise restarts, as an orchestrator would, any process that exited
// by itself (not killed here) until stop, and records it: a service must
// not die of the faults around it.
func (f *faults) supervise(ctx context.Context, stop time.Time) {
	var all []*deploy.Proc
	for _, s := range f.dep.Services {
		all = append(all, s.Replicas...)
	}
	all = append(all, f.dep.NATS...)
	for time.Now().Before(stop) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		for _, p := range all {
			if !p.Exited() || !f.hold(p) {
				continue
			}
			f.mu.Lock()
			f.crashes = append(f.crashes, fmt.Sprintf("%s exited by itself (see %s)", p.Name, p.LogPath()))
			f.mu.Unlock()
			f.logf("%s exited by itself; restarting it (see %s)", p.Name, p.LogPath())
			p.Kill() // reap
			go func() {
				defer f.release(p)
				if _, err := restart(ctx, p); err != nil {
					f.logf("%s: not back: %v", p.Name, err)
				}
			}()
		}
	}
}

func newFaults(dep *deploy.Deployment, out io.Writer) *faults {
	return &faults{dep: dep, out: out, kills: map[string]int{}, natsRestarts: map[string]int{}, busy: map[*deploy.Proc]bool{}}
}

func (f *faults) logf(format string, args ...any) {
	fmt.Fprintf(f.out, "chaos: "+format+"\n", args...)
}

func (f *faults) record(what string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > f.recovered {
		f.recovered, f.recoveredOf = d, what
	}
}

// killLoop kills a random replica of a random service (the gateway
// included) every interval until stop, restarting it at once and timing
// until it serves again.
func (f *faults) killLoop(ctx context.Context, stop time.Time, every time.Duration) {
	var candidates []*deploy.Proc
	for _, s := range f.dep.Services {
		candidates = append(candidates, s.Replicas...)
	}
	if len(candidates) == 0 {
		return
	}
	next := time.Now().Add(every)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		if time.Now().After(stop) {
			return
		}
		p := candidates[rand.N(len(candidates))]
		if !f.hold(p) {
			continue
		}
		p.Kill()
		f.mu.Lock()
		f.kills[p.Service]++
		f.mu.Unlock()
		took, err := restart(ctx, p)
		f.release(p)
		if err != nil {
			f.mu.Lock()
			f.failures = append(f.failures, fmt.Sprintf("%s: %v", p.Name, err))
			f.mu.Unlock()
			f.logf("kill -9 %s: not back: %v", p.Name, err)
		} else {
			f.record("kill -9 "+p.Name, took)
			f.logf("kill -9 %s: serving again after %.1fs", p.Name, took.Seconds())
		}
		next = time.Now().Add(every/2 + rand.N(every))
	}
}

// restart starts p again until it serves (a start can fail, e.g. while
// a dependency is down), for up to two minutes; it returns the time from
// the kill.
func restart(ctx context.Context, p *deploy.Proc) (time.Duration, error) {
	killed := time.Now()
	deadline := killed.Add(2 * time.Minute)
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err = p.Start(); err == nil {
			if err = p.WaitReady(ctx, time.Until(deadline)); err == nil {
				return time.Since(killed), nil
			}
			p.Kill() // exited or hung: start it again
		}
		time.Sleep(500 * time.Millisecond)
	}
	return time.Since(killed), err
}

// natsLoop kills (SIGKILL) one NATS node at a time, n times spread over
// the run until stop, and starts it again; probe then records a purchase
// and waits for its points, and the time from the kill until they show is
// how long events took to flow again. The probe runs beside the schedule:
// a slow one does not put off the next restart (the node before is back by
// then, so a quorum always is).
func (f *faults) natsLoop(ctx context.Context, start, stop time.Time, n int, probe func(context.Context) error) {
	nodes := f.dep.NATS
	span := stop.Sub(start)
	var probes sync.WaitGroup
	defer probes.Wait()
	for i := range n {
		at := start.Add(span * time.Duration(i+1) / time.Duration(n+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		node := nodes[i%len(nodes)]
		for !f.hold(node) {
			time.Sleep(100 * time.Millisecond)
		}
		killed := time.Now()
		node.Kill()
		f.mu.Lock()
		f.natsRestarts[node.Name]++
		f.mu.Unlock()
		// A moment down, as a crashed node is, then back on its store.
		time.Sleep(2 * time.Second)
		_, err := restart(ctx, node)
		f.release(node)
		if err != nil {
			f.mu.Lock()
			f.failures = append(f.failures, fmt.Sprintf("%s: %v", node.Name, err))
			f.mu.Unlock()
			f.logf("kill -9 %s: not back: %v", node.Name, err)
			continue
		}
		probes.Go(func() {
			if err := probe(ctx); err != nil {
				f.logf("kill -9 %s: events did not flow again: %v", node.Name, err)
				f.mu.Lock()
				f.failures = append(f.failures, fmt.Sprintf("events after %s: %v", node.Name, err))
				f.mu.Unlock()
				return
			}
			took := time.Since(killed)
			f.record("kill -9 "+node.Name, took)
			f.logf("kill -9 %s: back, events flowing %.1fs after the kill", node.Name, took.Seconds())
		})
	}
}

// summary is the kill log: kills per service and NATS restarts per node.
func (f *faults) summary() (kills, natsRestarts int, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ks, ns []string
	for s, n := range f.kills {
		kills += n
		ks = append(ks, fmt.Sprintf("%s=%d", s, n))
	}
	for s, n := range f.natsRestarts {
		natsRestarts += n
		ns = append(ns, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(ks)
	sort.Strings(ns)
	line = fmt.Sprintf("chaos: kills=%d (%s) nats_restarts=%d (%s) longest_recovery=%q",
		kills, strings.Join(ks, " "), natsRestarts, strings.Join(ns, " "), f.recoveredOf)
	return kills, natsRestarts, line
}
