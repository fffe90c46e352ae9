package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// jobKey is the attribute naming a job in the job metrics.
const jobKey = attribute.Key("job")

// observeTimeout bounds the database read of one collection: a scrape
// must not hang on a stalled database.
const observeTimeout = 2 * time.Second

// ObserveJobs reports the periodic jobs to meter, read whenever metrics
// are collected, each with attrs and job="<name>":
// guanxi.job.last_success_timestamp (exposed to Prometheus as
// guanxi_job_last_success_timestamp_seconds) is when a run of the job last
// finished without error on any replica, from job_runs, so every replica
// reports the same time and a restart forgets nothing; guanxi.job.interval
// (guanxi_job_interval_seconds) is the period of each job this manager runs
// (RunEvery), so that an alert can tell a job that has not run for two of
// its periods. A job that never succeeded has no last success yet.
// Unregister the returned registration before closing the database.
func (m *Manager) ObserveJobs(meter metric.Meter, attrs ...attribute.KeyValue) (metric.Registration, error) {
	last, err1 := meter.Float64ObservableGauge("guanxi.job.last_success_timestamp", metric.WithUnit("s"),
		metric.WithDescription("Unix time a run of the job last finished without error, on any replica."))
	every, err2 := meter.Float64ObservableGauge("guanxi.job.interval", metric.WithUnit("s"),
		metric.WithDescription("The job's period: it runs once per period across the replicas."))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("job metrics: %w", err)
	}
	with := func(job string) metric.ObserveOption {
		return metric.WithAttributes(append(attrs[:len(attrs):len(attrs)], jobKey.String(job))...)
	}
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		m.mu.Lock()
		for name, p := range m.periods {
			o.ObserveFloat64(every, p.Seconds(), with(name))
		}
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		successes, err := m.lastSuccesses(ctx)
		if err != nil {
			// A missing series says more than a failed scrape: the
			// rest of the process's metrics still get through.
			m.logger.WarnContext(ctx, "job metrics not read", slog.Any("error", err))
			return nil
		}
		for name, at := range successes {
			o.ObserveFloat64(last, float64(at.UnixMicro())/1e6, with(name))
		}
		return nil
	}, last, every)
	if err != nil {
		return nil, fmt.Errorf("job metrics: %w", err)
	}
	return reg, nil
}

// lastSuccesses returns when each job's last run without error finished.
// job_runs keeps a job's last 1,000 periods, so this reads a bounded
// number of rows.
func (m *Manager) lastSuccesses(ctx context.Context) (map[string]time.Time, error) {
	rows, err := m.db.Query(ctx, `SELECT name, MAX(finished_at) FROM job_runs WHERE finished_at IS NOT NULL AND error = '' GROUP BY name`)
	if err != nil {
		return nil, fmt.Errorf("read job runs: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			name string
			at   int64
		)
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("read job runs: %w", err)
		}
		out[name] = time.UnixMicro(at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read job runs: %w", err)
	}
	return out, nil
}
