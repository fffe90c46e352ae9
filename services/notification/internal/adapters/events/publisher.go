// Package events connects the notification service to NATS JetStream: it
// turns the service's domain events into notificationv1 payloads written to
// the transactional outbox, and turns consumed customer events into use
// case calls.
package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/protoconv"
)

// Source is the Ce-Source of every event the service publishes.
const Source = "guanxi/notification"

// Enqueuer writes an event into a transaction's outbox; *events.Outbox is
// one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *sqldb.Tx, evs ...platformevents.Event) error
}

// Publisher converts domain events to their payloads and enqueues them.
type Publisher struct {
	outbox Enqueuer
}

// NewPublisher returns a Publisher writing to outbox.
func NewPublisher(outbox Enqueuer) *Publisher {
	return &Publisher{outbox: outbox}
}

// Publish writes evs into tx's outbox in one bulk insert.
func (p *Publisher) Publish(ctx context.Context, tx *sqldb.Tx, evs ...domain.Event) error {
	out := make([]platformevents.Event, 0, len(evs))
	for _, ev := range evs {
		subject, payload, err := ToPayload(ev)
		if err != nil {
			return err
		}
		e, err := platformevents.NewEvent(ctx, Source, subject, payload)
		if err != nil {
			return fmt.Errorf("publish %s: %w", subject, err)
		}
		out = append(out, e)
	}
	if err := p.outbox.Enqueue(ctx, tx, out...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// ToPayload returns the subject and proto payload of a domain event.
func ToPayload(ev domain.Event) (subject string, payload proto.Message, err error) {
	switch e := ev.(type) {
	case domain.MessageSent:
		return notificationv1.SubjectMessageSent, &notificationv1.MessageSent{
			MessageId:  e.MessageID,
			CustomerId: e.CustomerID,
			Channel:    protoconv.ToProtoChannel(e.Channel),
			Template:   e.Template,
			CampaignId: e.CampaignID,
			AgentId:    e.AgentID,
		}, nil
	case domain.MessageFailed:
		return notificationv1.SubjectMessageFailed, &notificationv1.MessageFailed{
			MessageId:  e.MessageID,
			CustomerId: e.CustomerID,
			Channel:    protoconv.ToProtoChannel(e.Channel),
			Reason:     e.Reason,
			Suppressed: e.Suppressed,
			Template:   e.Template,
			CampaignId: e.CampaignID,
		}, nil
	default:
		return "", nil, fmt.Errorf("publish: unknown domain event %T", ev)
	}
}
