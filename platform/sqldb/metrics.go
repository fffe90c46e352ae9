package sqldb

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys of the pool metrics, after OpenTelemetry's database
// semantic conventions.
const (
	poolNameKey = attribute.Key("db.client.connection.pool.name")
	stateKey    = attribute.Key("db.client.connection.state")
)

// ObservePool reports the connection pool's database/sql statistics to
// meter, read whenever metrics are collected, under pool (the service's
// name): connections in use and idle (db.client.connection.count), the
// most it may open (db.client.connection.max), and how often and how long
// callers waited for one (db.client.connection.waits and
// db.client.connection.wait_duration, counters since the pool opened). A
// pool that keeps callers waiting is too small for its load, or the
// database too slow. Unregister the returned registration before closing
// the database.
func (db *DB) ObservePool(meter metric.Meter, pool string) (metric.Registration, error) {
	count, err1 := meter.Int64ObservableUpDownCounter("db.client.connection.count",
		metric.WithUnit("{connection}"), metric.WithDescription("Connections of the pool, by state (used, idle)."))
	maxOpen, err2 := meter.Int64ObservableUpDownCounter("db.client.connection.max",
		metric.WithUnit("{connection}"), metric.WithDescription("The most connections the pool opens; 0 for no limit."))
	waits, err3 := meter.Int64ObservableCounter("db.client.connection.waits",
		metric.WithUnit("{wait}"), metric.WithDescription("Times a caller waited for a free connection."))
	waited, err4 := meter.Float64ObservableCounter("db.client.connection.wait_duration",
		metric.WithUnit("s"), metric.WithDescription("Time callers spent waiting for a free connection."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("pool metrics: %w", err)
	}
	pa := attribute.NewSet(poolNameKey.String(pool))
	used := metric.WithAttributeSet(attribute.NewSet(poolNameKey.String(pool), stateKey.String("used")))
	idle := metric.WithAttributeSet(attribute.NewSet(poolNameKey.String(pool), stateKey.String("idle")))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := db.raw.Stats()
		o.ObserveInt64(count, int64(s.InUse), used)
		o.ObserveInt64(count, int64(s.Idle), idle)
		o.ObserveInt64(maxOpen, int64(s.MaxOpenConnections), metric.WithAttributeSet(pa))
		o.ObserveInt64(waits, s.WaitCount, metric.WithAttributeSet(pa))
		o.ObserveFloat64(waited, s.WaitDuration.Seconds(), metric.WithAttributeSet(pa))
		return nil
	}, count, maxOpen, waits, waited)
	if err != nil {
		return nil, fmt.Errorf("pool metrics: %w", err)
	}
	return reg, nil
}
