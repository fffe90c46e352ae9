package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the events metrics.
const meterName = "github.com/guanxi-crm/guanxi/platform/events"

// Attribute keys of the events metrics. serviceKey is
// telemetry.ServiceKey's: the service the metric is about.
const (
	serviceKey = attribute.Key("service")
	streamKey  = attribute.Key("stream")
	durableKey = attribute.Key("durable")
)

// observeTimeout bounds what one collection reads (the outbox table, a
// consumer's info): a scrape must not hang on a stalled database or broker.
const observeTimeout = 2 * time.Second

// ObserveOutbox reports the outbox of the service named service to meter,
// read from the outbox table whenever metrics are collected:
// guanxi.outbox.pending_events (Prometheus: guanxi_outbox_pending_events)
// is how many events wait to be published, guanxi.outbox.oldest_event_age
// (guanxi_outbox_oldest_event_age_seconds) how long the oldest of them has
// waited, 0 when none does. Both near 0 is the healthy state: the relay
// publishes what commits within milliseconds. Growing, the broker is
// unreachable or refuses the events. Unregister the returned registration
// before closing the database.
func (o *Outbox) ObserveOutbox(meter metric.Meter, service string) (metric.Registration, error) {
	pending, err1 := meter.Int64ObservableGauge("guanxi.outbox.pending_events", metric.WithUnit("{event}"),
		metric.WithDescription("Events in the outbox not yet published to JetStream."))
	age, err2 := meter.Float64ObservableGauge("guanxi.outbox.oldest_event_age", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest event in the outbox has waited to be published; 0 when none waits."))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(serviceKey.String(service)))
	reg, err := meter.RegisterCallback(func(ctx context.Context, ob metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		n, oldest, err := o.backlog(ctx)
		if err != nil {
			// No series this time says more than a failed scrape: the
			// rest of the process's metrics still get through.
			o.logger.WarnContext(ctx, "outbox metrics not read", slog.Any("error", err))
			return nil
		}
		ob.ObserveInt64(pending, n, attrs)
		waited := 0.0
		if n > 0 {
			waited = max(0, time.Since(oldest).Seconds())
		}
		ob.ObserveFloat64(age, waited, attrs)
		return nil
	}, pending, age)
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	return reg, nil
}

// backlog returns how many events the outbox holds and when the oldest of
// them was made (an event's time is when it was written, see NewEvent).
func (o *Outbox) backlog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var first *int64
	if err := o.db.QueryRow(ctx, `SELECT COUNT(*), MIN(occurred_at) FROM outbox`).Scan(&n, &first); err != nil {
		return 0, time.Time{}, fmt.Errorf("read the outbox: %w", err)
	}
	if first != nil {
		oldest = time.UnixMicro(*first)
	}
	return n, oldest, nil
}

// consumerMetrics are a consumer's instruments and its attributes.
type consumerMetrics struct {
	attrs       metric.MeasurementOption
	redelivered metric.Int64Counter
	deadLetters metric.Int64Counter
}

// newConsumerMetrics makes the counters of the consumer of cfg on the
// global meter provider: guanxi.consumer.redeliveries
// (guanxi_consumer_redeliveries_total), deliveries of a message after its
// first, and guanxi.dead_letters (guanxi_dead_letters_total), messages it
// gave up on.
func newConsumerMetrics(cfg ConsumerConfig) (consumerMetrics, error) {
	meter := otel.Meter(meterName)
	redelivered, err1 := meter.Int64Counter("guanxi.consumer.redeliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries of a message after its first: handler failures, timeouts, lost acks."))
	deadLetters, err2 := meter.Int64Counter("guanxi.dead_letters", metric.WithUnit("{message}"),
		metric.WithDescription("Messages the consumer gave up on and copied to the DEADLETTER stream."))
	if err := errors.Join(err1, err2); err != nil {
		return consumerMetrics{}, fmt.Errorf("consumer metrics: %w", err)
	}
	m := consumerMetrics{attrs: metric.WithAttributeSet(cfg.metricAttributes()), redelivered: redelivered, deadLetters: deadLetters}
	// Both exist from the start at 0, so that a rate over them, and an
	// alert on one, has a series before the first redelivery.
	m.redelivered.Add(context.Background(), 0, m.attrs)
	m.deadLetters.Add(context.Background(), 0, m.attrs)
	return m, nil
}

func (c ConsumerConfig) metricAttributes() attribute.Set {
	return attribute.NewSet(serviceKey.String(c.Service), streamKey.String(c.Stream), durableKey.String(c.Durable))
}

// observePending reports guanxi.consumer.pending_messages
// (guanxi_consumer_pending_messages) of cons on the global meter provider,
// read from JetStream whenever metrics are collected: the messages not yet
// delivered to it (NumPending) and those delivered and not yet acked
// (NumAckPending). Growing, the consumer falls behind its stream.
func observePending(cons jetstream.Consumer, cfg ConsumerConfig, logger *slog.Logger) (metric.Registration, error) {
	meter := otel.Meter(meterName)
	pending, err := meter.Int64ObservableGauge("guanxi.consumer.pending_messages", metric.WithUnit("{message}"),
		metric.WithDescription("Messages of the stream the consumer has not handled yet: not delivered, or delivered and not acked."))
	if err != nil {
		return nil, fmt.Errorf("consumer metrics: %w", err)
	}
	attrs := metric.WithAttributeSet(cfg.metricAttributes())
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		info, err := cons.Info(ctx)
		if err != nil {
			logger.WarnContext(ctx, "consumer metrics not read", slog.Any("error", err))
			return nil
		}
		o.ObserveInt64(pending, int64(info.NumPending)+int64(info.NumAckPending), attrs)
		return nil
	}, pending)
	if err != nil {
		return nil, fmt.Errorf("consumer metrics: %w", err)
	}
	return reg, nil
}
