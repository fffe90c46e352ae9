package lease

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
)

// forEachDB runs test on a fresh SQLite and PostgreSQL database with the
// platform's tables.
func forEachDB(t *testing.T, test func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range sqltest.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := sqldb.Open(ctx, d.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			test(t, db)
		})
	}
}

// abandon stops renewing the lease without giving it up, as a holder that
// was killed does.
func (l *Lease) abandon() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.m.mu.Lock()
		delete(l.m.held, l.Name) // a restarted process remembers nothing
		l.m.mu.Unlock()
	})
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Holders racing for one lease: in every round exactly one wins, and never
// two hold it at once.
func TestTwoHoldersRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		managers := []*Manager{New(db, Config{TTL: 5 * time.Second}), New(db, Config{TTL: 5 * time.Second}), New(db, Config{TTL: 5 * time.Second})}
		for round := range 30 {
			var (
				wg      sync.WaitGroup
				winners atomic.Int32
				start   = make(chan struct{})
				leases  = make([]*Lease, len(managers))
			)
			for i, m := range managers {
				wg.Go(func() {
					<-start
					l, ok, err := m.TryAcquire(ctx, "race")
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						winners.Add(1)
						leases[i] = l
					}
				})
			}
			close(start)
			wg.Wait()
			if n := winners.Load(); n != 1 {
				t.Fatalf("round %d: %d holders, want 1", round, n)
			}
			for _, l := range leases {
				if l != nil {
					if err := l.Release(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		// Two loops holding one job never overlap, and both get turns.
		var inside, maxInside, runs atomic.Int32
		hctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, m := range managers {
			wg.Go(func() {
				_ = New(db, Config{TTL: 200 * time.Millisecond, Holder: m.Holder()}).Hold(hctx, "hold", func(ctx context.Context) error {
					n := inside.Add(1)
					defer inside.Add(-1)
					if n > maxInside.Load() {
						maxInside.Store(n)
					}
					runs.Add(1)
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
					return nil
				})
			})
		}
		eventually(t, 10*time.Second, "20 turns", func() bool { return runs.Load() >= 20 })
		cancel()
		wg.Wait()
		if maxInside.Load() != 1 {
			t.Fatalf("%d holders ran at once", maxInside.Load())
		}
	})
}

// A holder that stops renewing loses its lease after the TTL, not before;
// a holder whose lease was taken over sees its context cancelled.
func TestTakeoverAfterHolderStops(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		const ttl = 400 * time.Millisecond
		a, b := New(db, Config{TTL: ttl}), New(db, Config{TTL: ttl})
		la, ok, err := a.TryAcquire(ctx, "job")
		if err != nil || !ok {
			t.Fatalf("a: ok=%v err=%v", ok, err)
		}
		stopped := time.Now()
		la.abandon()
		var lb *Lease
		eventually(t, 5*time.Second, "b takes the lease over", func() bool {
			l, ok, err := b.TryAcquire(ctx, "job")
			if err != nil {
				t.Fatal(err)
			}
			lb = l
			return ok
		})
		took := time.Since(stopped)
		if took < ttl-ttl/4 {
			t.Fatalf("taken over after %v, before the TTL %v ran out", took, ttl)
		}
		if took > ttl+time.Second {
			t.Fatalf("taken over after %v, TTL %v", took, ttl)
		}
		if lb.Fence <= la.Fence {
			t.Fatalf("fence %d after %d", lb.Fence, la.Fence)
		}
		// A live holder renewing keeps it.
		time.Sleep(2 * ttl) //nolint:forbidigo // the lease must outlast its TTL while renewed
		if _, ok, _ := a.TryAcquire(ctx, "job"); ok {
			t.Fatal("a took a lease b renews")
		}
		if lb.Context().Err() != nil {
			t.Fatal("b's lease ended while renewed")
		}
		// b is paused past its TTL (simulated by expiring its row), a takes
		// over, and b's next renewal stops b's job.
		if _, err := db.Exec(ctx, `UPDATE job_leases SET expires_at = 0 WHERE name = 'job'`); err != nil {
			t.Fatal(err)
		}
		la2, ok, err := a.TryAcquire(ctx, "job")
		if err != nil || !ok {
			t.Fatalf("a again: ok=%v err=%v", ok, err)
		}
		eventually(t, 5*time.Second, "b's job stopped", func() bool { return lb.Context().Err() != nil })
		if !errors.Is(context.Cause(lb.Context()), ErrLost) {
			t.Fatalf("b's cause %v", context.Cause(lb.Context()))
		}
		if err := lb.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if la2.Context().Err() != nil {
			t.Fatal("b's release ended a's lease")
		}
		_ = la2.Release(ctx)
	})
}

// Three replicas ticking the same job run each period once; a run whose
// holder dies is run again by the replica that takes over.
func TestOncePerPeriod(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const every = 150 * time.Millisecond
		var (
			ran     atomic.Int32
			inside  atomic.Int32
			overlap atomic.Bool
		)
		job := func(ctx context.Context) error {
			if inside.Add(1) > 1 {
				overlap.Store(true)
			}
			defer inside.Add(-1)
			ran.Add(1)
			return nil
		}
		var wg sync.WaitGroup
		for range 3 {
			m := New(db, Config{TTL: time.Second})
			wg.Go(func() {
				_ = m.RunEvery(ctx, Periodic{Name: "tick", Every: every, AtStart: true, Run: job}, func(err error) { t.Error(err) })
			})
		}
		eventually(t, 10*time.Second, "8 periods", func() bool { return ran.Load() >= 8 })
		cancel()
		wg.Wait()
		if overlap.Load() {
			t.Fatal("two runs at once")
		}
		var runs, unfinished int
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*), COUNT(*) - COUNT(finished_at) FROM job_runs WHERE name = 'tick'`).Scan(&runs, &unfinished); err != nil {
			t.Fatal(err)
		}
		var periods int
		if err := db.QueryRow(t.Context(), `SELECT COUNT(DISTINCT period) FROM job_runs WHERE name = 'tick'`).Scan(&periods); err != nil {
			t.Fatal(err)
		}
		// The run going on when the replicas stopped may be unrecorded.
		if runs != int(ran.Load()) || periods != runs || unfinished > 1 {
			t.Fatalf("job_runs: %d runs of %d periods, %d unfinished; the job ran %d times", runs, periods, unfinished, ran.Load())
		}
		t.Logf("%d periods, each run once", runs)

		// A holder dies in the middle of a period's run: the other replica
		// runs that period again once the lease runs out.
		const ttl = 300 * time.Millisecond
		long := Periodic{Name: "long", Every: time.Hour, AtStart: true}
		dying, survivor := New(db, Config{TTL: ttl}), New(db, Config{TTL: ttl})
		entered := make(chan struct{})
		release := make(chan struct{})
		defer close(release)
		dying.afterAcquire = (*Lease).abandon // dies as the run starts: no renewal, nothing after
		go func() {
			long := long
			long.Run = func(context.Context) error {
				close(entered)
				<-release
				return nil
			}
			_, _ = dying.RunDue(t.Context(), long)
		}()
		<-entered
		died := time.Now()
		var survived atomic.Int32
		long.Run = func(context.Context) error { survived.Add(1); return nil }
		sctx, scancel := context.WithCancel(t.Context())
		defer scancel()
		go func() { _ = survivor.RunEvery(sctx, long, nil) }()
		eventually(t, 5*time.Second, "the survivor runs the period", func() bool { return survived.Load() == 1 })
		t.Logf("period taken over %v after its holder died (TTL %v)", time.Since(died).Round(time.Millisecond), ttl)
		var rows, finished int
		eventually(t, 5*time.Second, "the survivor's run recorded", func() bool {
			if err := db.QueryRow(t.Context(), `SELECT COUNT(*), COUNT(finished_at) FROM job_runs WHERE name = 'long'`).Scan(&rows, &finished); err != nil {
				t.Fatal(err)
			}
			return finished > 0
		})
		if rows != 2 || finished != 1 || survived.Load() != 1 {
			t.Fatalf("job_runs of the taken-over period: %d rows, %d finished, run %d times by the survivor; want 2, 1, 1", rows, finished, survived.Load())
		}
	})
}
