// Package events turns the notification service's domain events into their
// wire form, the notificationv1 payloads and subjects, for the store to
// write to the transactional outbox.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/protoconv"
)

// Source is the Ce-Source of every event the service publishes.
const Source = "guanxi/notification"

// NewEncoder returns what gives the notification domain's events their wire form;
// the store (through platform/events.Transactor) writes them to the outbox.
func NewEncoder() platformevents.ProtoEncoder[domain.Event] {
	return platformevents.ProtoEncoder[domain.Event]{Source: Source, ToProto: toProtoEvent}
}

func toProtoEvent(ev domain.Event) (subject string, payload proto.Message, err error) {
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
