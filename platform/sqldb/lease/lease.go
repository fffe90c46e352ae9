// Package lease runs a service's background jobs once across its replicas.
// A job is a lease row in the service's own database (table job_leases,
// created by the platform migrations): the replica holding it runs the job,
// renews the lease while the job runs, and loses it when it stops renewing
// (crash, kill -9, partition) for one lease length, after which another
// replica takes it over. Every acquisition increments the row's fence, so a
// holder whose lease was taken over can neither renew it nor record a
// period as done; its job's context is cancelled as soon as it cannot be
// sure it still holds the lease.
//
// Periodic jobs (RunEvery) record the last period they completed on the
// same row: a period runs once even when every replica ticks at the same
// moment, and a run its holder never finished is run again by the replica
// that takes the lease over. Each run is logged in job_runs.
//
// On PostgreSQL the lease times are the database's clock, so replicas'
// clocks need not agree for the lease; periods are numbered by each
// replica's clock (unix time / period), which only shifts a run by the
// replicas' skew. On SQLite (one process) the same rows act as a local
// lock.
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// DefaultTTL is the lease length when Config.TTL is 0.
const DefaultTTL = 30 * time.Second

// ErrLost is the cause of a lease's context when the lease was lost: taken
// over by another holder, or not renewed in time.
var ErrLost = errors.New("job lease lost")

// keepPeriods is how many periods of a job's runs job_runs keeps.
const keepPeriods = 1000

// Config configures a Manager.
type Config struct {
	// TTL is the lease length: a holder renews its lease every TTL/3, and
	// a lease not renewed for TTL may be taken over. A job whose holder
	// died is taken over within TTL plus one poll (min(TTL, period)/4).
	TTL time.Duration
	// Holder names this replica in the lease rows; a unique name
	// (host-pid-random) when empty.
	Holder string
	Logger *slog.Logger
}

// Manager acquires leases in one database for one replica.
type Manager struct {
	db     *sqldb.DB
	ttl    time.Duration
	holder string
	logger *slog.Logger

	mu   sync.Mutex
	held map[string]bool // leases this manager holds, so two of its loops never share one
	// periods are the periodic jobs this manager runs (RunEvery) and
	// their periods, for ObserveJobs.
	periods map[string]time.Duration

	afterAcquire func(*Lease) // tests: a holder dying as it starts a run
}

// New returns a Manager on db, whose migrations include the platform's.
func New(db *sqldb.DB, cfg Config) *Manager {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{db: db, ttl: cfg.TTL, holder: cfg.Holder, logger: cfg.Logger, held: map[string]bool{}, periods: map[string]time.Duration{}}
}

// Holder returns the name this manager holds leases under.
func (m *Manager) Holder() string { return m.holder }

// TTL returns the lease length.
func (m *Manager) TTL() time.Duration { return m.ttl }

// sql fills in {now}: the database's clock on PostgreSQL, this process's
// on SQLite (one process), as unix microseconds.
func (m *Manager) sql(q string) string {
	now := "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
	if m.db.Dialect != sqldb.Postgres {
		now = strconv.FormatInt(time.Now().UnixMicro(), 10)
	}
	return strings.ReplaceAll(q, "{now}", now)
}

// Lease is a lease this replica holds. Its Context is cancelled when the
// lease is lost or released.
type Lease struct {
	Name string
	// Fence is the lease's acquisition number, larger than any before.
	Fence int64

	m      *Manager
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Context is done when the lease is lost (cause ErrLost) or released, or
// when the context TryAcquire was given is done.
func (l *Lease) Context() context.Context { return l.ctx }

// TryAcquire takes the lease name when nobody holds it or its holder let
// it run out. ok is false when another holder (or another loop of this
// manager) has it. The lease is renewed until Release; ctx bounds the
// lease's Context.
func (m *Manager) TryAcquire(ctx context.Context, name string) (_ *Lease, ok bool, err error) {
	m.mu.Lock()
	if m.held[name] {
		m.mu.Unlock()
		return nil, false, nil
	}
	m.held[name] = true
	m.mu.Unlock()
	defer func() {
		if !ok {
			m.mu.Lock()
			delete(m.held, name)
			m.mu.Unlock()
		}
	}()
	sent := time.Now()
	var fence int64
	err = m.db.QueryRow(ctx, m.sql(`INSERT INTO job_leases (name, holder, fence, expires_at) VALUES (?, ?, 1, {now} + ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, fence = job_leases.fence + 1, expires_at = excluded.expires_at
		WHERE job_leases.expires_at < {now}
		RETURNING fence`), name, m.holder, m.ttl.Microseconds()).Scan(&fence)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("acquire job lease %s: %w", name, err)
	}
	lctx, cancel := context.WithCancelCause(ctx)
	l := &Lease{Name: name, Fence: fence, m: m, ctx: lctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{})}
	go l.heartbeat(sent.Add(m.ttl))
	return l, true, nil
}

// heartbeat renews the lease every TTL/3. The lease counts as lost (and its
// context is cancelled) when a renewal finds another fence, or when no
// renewal succeeded by a tenth of the TTL before the last one ends, as
// measured on this process's clock from before the renewal was sent.
func (l *Lease) heartbeat(validUntil time.Time) {
	defer close(l.done)
	ttl := l.m.ttl
	margin := ttl / 10
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		deadline := time.NewTimer(time.Until(validUntil.Add(-margin)))
		select {
		case <-l.stop:
			deadline.Stop()
			return
		case <-deadline.C:
			l.m.logger.Warn("job lease not renewed in time, stopping the job", slog.String("job", l.Name))
			l.cancel(ErrLost)
			return
		case <-tick.C:
			deadline.Stop()
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(context.WithoutCancel(l.ctx), validUntil.Add(-margin))
		res, err := l.m.db.Exec(ctx, l.m.sql(`UPDATE job_leases SET expires_at = {now} + ? WHERE name = ? AND holder = ? AND fence = ?`),
			ttl.Microseconds(), l.Name, l.m.holder, l.Fence)
		cancel()
		if err != nil {
			l.m.logger.Warn("renewing job lease failed", slog.String("job", l.Name), slog.Any("error", err))
			continue
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			l.m.logger.Warn("job lease taken over, stopping the job", slog.String("job", l.Name))
			l.cancel(ErrLost)
			return
		}
		validUntil = sent.Add(ttl)
	}
}

// Lost reports whether the lease was lost (rather than released or its
// parent context done).
func (l *Lease) Lost() bool { return errors.Is(context.Cause(l.ctx), ErrLost) }

// Release stops renewing the lease and gives it up at once, so another
// replica need not wait for it to run out. It is safe to call more than
// once.
func (l *Lease) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.cancel(context.Canceled)
		defer func() {
			l.m.mu.Lock()
			delete(l.m.held, l.Name)
			l.m.mu.Unlock()
		}()
		// Shutdown must not wait long on a database that went away: an
		// unreleased lease runs out by itself.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(l.m.ttl, 5*time.Second))
		defer cancel()
		if _, e := l.m.db.Exec(ctx, `UPDATE job_leases SET expires_at = 0 WHERE name = ? AND holder = ? AND fence = ?`,
			l.Name, l.m.holder, l.Fence); e != nil {
			err = fmt.Errorf("release job lease %s: %w", l.Name, e)
		}
	})
	return err
}

// Periodic is a job run once per period across replicas.
type Periodic struct {
	Name  string
	Every time.Duration
	// AtStart makes the period current when the job first starts (no
	// replica has run it yet) due at once; otherwise the first run is at
	// the next period.
	AtStart bool
	Run     func(ctx context.Context) error
}

// period numbers the period t falls in.
func (p Periodic) period(t time.Time) int64 { return t.UnixMicro() / p.Every.Microseconds() }

// poll is how often a replica looks whether a job is due or free.
func (m *Manager) poll(every time.Duration) time.Duration {
	return max(min(every, m.ttl)/4, time.Millisecond)
}

// RunEvery runs p once per period across replicas until ctx is done: every
// poll it looks whether the current period is done and, when not, takes
// the lease and runs it. A failed run is logged (onError, when set) and
// counts as done: the job is tried again next period, as a schedule must
// outlive a bad hour. A run cut short by the lease's loss or by ctx is not
// done, so the replica taking the lease over runs the period again.
func (m *Manager) RunEvery(ctx context.Context, p Periodic, onError func(error)) error {
	if p.Every <= 0 {
		return fmt.Errorf("job %s: period %v is not positive", p.Name, p.Every)
	}
	m.mu.Lock()
	m.periods[p.Name] = p.Every
	m.mu.Unlock()
	t := time.NewTicker(m.poll(p.Every))
	defer t.Stop()
	for {
		if _, err := m.RunDue(ctx, p); err != nil && ctx.Err() == nil {
			if onError != nil {
				onError(err)
			} else {
				m.logger.WarnContext(ctx, "scheduled job failed", slog.String("job", p.Name), slog.String("error", err.Error()))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue runs p's current period when it is not done yet and nobody else
// holds p's lease. ran says whether it ran the job (its error, if any, is
// returned too).
func (m *Manager) RunDue(ctx context.Context, p Periodic) (ran bool, err error) {
	now := p.period(time.Now())
	done, found, err := m.donePeriod(ctx, m.db, p.Name)
	if err != nil {
		return false, err
	}
	if !found {
		// The job's first start anywhere: its row is made (free), with the
		// current period done unless it is due at once.
		first := now
		if p.AtStart {
			first = 0
		}
		if _, err := m.db.Exec(ctx, `INSERT INTO job_leases (name, holder, fence, expires_at, done_period) VALUES (?, '', 0, 0, ?)
			ON CONFLICT (name) DO NOTHING`, p.Name, first); err != nil {
			return false, fmt.Errorf("job %s: %w", p.Name, err)
		}
		if done, _, err = m.donePeriod(ctx, m.db, p.Name); err != nil {
			return false, err
		}
	}
	if done >= now {
		return false, nil
	}
	l, ok, err := m.TryAcquire(ctx, p.Name)
	if err != nil || !ok {
		return false, err
	}
	defer func() { err = errors.Join(err, l.Release(ctx)) }()
	// Another replica may have completed the period between the look and
	// the acquisition.
	if done, _, err = m.donePeriod(ctx, m.db, p.Name); err != nil || done >= now {
		return false, err
	}
	started := time.Now()
	if _, err := m.db.Exec(ctx, `INSERT INTO job_runs (name, period, fence, holder, started_at) VALUES (?, ?, ?, ?, ?)`,
		p.Name, now, l.Fence, m.holder, started.UnixMicro()); err != nil {
		return false, fmt.Errorf("job %s: log run: %w", p.Name, err)
	}
	if m.afterAcquire != nil {
		m.afterAcquire(l)
	}
	runErr := p.Run(l.Context())
	if l.Lost() {
		return true, fmt.Errorf("job %s: %w", p.Name, ErrLost)
	}
	if ctx.Err() != nil {
		return true, nil // stopped: the period stays due for whoever runs next
	}
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	err = m.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE job_leases SET done_period = ? WHERE name = ? AND holder = ? AND fence = ?`,
			now, p.Name, m.holder, l.Fence)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(ErrLost, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE job_runs SET finished_at = ?, error = ? WHERE name = ? AND period = ? AND fence = ?`,
			time.Now().UnixMicro(), msg, p.Name, now, l.Fence); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM job_runs WHERE name = ? AND period < ?`, p.Name, now-keepPeriods)
		return err
	})
	if err != nil {
		return true, errors.Join(runErr, fmt.Errorf("job %s: record period: %w", p.Name, err))
	}
	if runErr != nil {
		return true, fmt.Errorf("job %s: %w", p.Name, runErr)
	}
	return true, nil
}

func (m *Manager) donePeriod(ctx context.Context, q *sqldb.DB, name string) (int64, bool, error) {
	var done int64
	err := q.QueryRow(ctx, `SELECT done_period FROM job_leases WHERE name = ?`, name).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("job %s: %w", name, err)
	}
	return done, true, nil
}

// Hold runs fn on one replica at a time until ctx is done: the replica
// holding the lease name runs fn with the lease's context; the others look
// every TTL/4 whether it is free and take over when its holder stopped
// renewing. fn must return once its context is done; an error from it
// ends Hold.
func (m *Manager) Hold(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	t := time.NewTicker(m.poll(m.ttl))
	defer t.Stop()
	for {
		l, ok, err := m.TryAcquire(ctx, name)
		if err != nil && ctx.Err() == nil {
			m.logger.WarnContext(ctx, "acquiring job lease failed", slog.String("job", name), slog.Any("error", err))
		}
		if ok {
			runErr := fn(l.Context())
			lost := l.Lost()
			relErr := l.Release(ctx)
			if runErr != nil && !lost && ctx.Err() == nil {
				return errors.Join(runErr, relErr)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
