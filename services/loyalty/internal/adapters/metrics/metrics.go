// Package metrics counts what the loyalty service books with
// OpenTelemetry, for its Prometheus metrics: it implements domain.Metrics.
package metrics

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Counters are the loyalty service's own metrics on the global meter
// provider.
type Counters struct {
	credited metric.Int64Counter
}

// New makes the counters: guanxi.loyalty.points_credited, exposed to
// Prometheus as guanxi_loyalty_points_credited_total.
func New() (*Counters, error) {
	credited, err := otel.Meter("github.com/guanxi-crm/guanxi/services/loyalty").Int64Counter("guanxi.loyalty.points_credited",
		metric.WithUnit("{point}"), metric.WithDescription("Points credited for purchases, counted once committed."))
	if err != nil {
		return nil, err
	}
	// The series exists from the start, at 0, so that its rate does too.
	credited.Add(context.Background(), 0)
	return &Counters{credited: credited}, nil
}

// PointsCredited counts the points a purchase earned (negative never
// comes here: a return's reversal is booked apart).
func (c *Counters) PointsCredited(ctx context.Context, points int64) {
	if points > 0 {
		c.credited.Add(ctx, points)
	}
}
