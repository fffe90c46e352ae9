// Package metrics counts the notification service's messages with
// OpenTelemetry, for its Prometheus metrics: it implements domain.Metrics.
package metrics

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Counters are the notification service's own metrics on the global meter
// provider.
type Counters struct {
	messages metric.Int64Counter
}

// New makes the counters: guanxi.notification.messages, exposed to
// Prometheus as guanxi_notification_messages_total{channel, status}.
func New() (*Counters, error) {
	messages, err := otel.Meter("github.com/guanxi-crm/guanxi/services/notification").Int64Counter("guanxi.notification.messages",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages that reached a status (queued, sent, delivered, failed, suppressed), by channel."))
	if err != nil {
		return nil, err
	}
	return &Counters{messages: messages}, nil
}

// MessagesReached counts n messages that reached status on channel, both
// in lower case as Prometheus labels are (channel="email",
// status="sent").
func (c *Counters) MessagesReached(ctx context.Context, channel domain.Channel, status domain.Status, n int) {
	c.messages.Add(ctx, int64(n), metric.WithAttributes(
		attribute.String("channel", strings.ToLower(string(channel))),
		attribute.String("status", strings.ToLower(string(status)))))
}
