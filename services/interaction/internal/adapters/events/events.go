// Package events connects the interaction service to JetStream: it turns
// the service's domain events into the protobuf payloads and subjects other
// services read, and applies the customer events the service consumes.
package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// Source is the Ce-Source of every event this service publishes.
const Source = "guanxi/interaction"

// Encode returns the outbox event for a domain event, carrying the trace in
// ctx.
func Encode(ctx context.Context, e domain.Event) (events.Event, error) {
	subject, msg, err := toProtoEvent(e)
	if err != nil {
		return events.Event{}, err
	}
	ev, err := events.NewEvent(ctx, Source, subject, msg)
	if err != nil {
		return events.Event{}, fmt.Errorf("encode event: %w", err)
	}
	return ev, nil
}

func toProtoEvent(e domain.Event) (string, proto.Message, error) {
	switch e := e.(type) {
	case domain.InteractionRecorded:
		return interactionv1.SubjectInteractionRecorded, &interactionv1.InteractionRecorded{
			Interaction: protoconv.ToProtoInteraction(e.Interaction),
		}, nil
	case domain.PurchaseRecorded:
		return interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
			InteractionId: e.InteractionID,
			CustomerId:    e.CustomerID,
			Total:         protoconv.ToProtoMoney(e.Total),
			Lines:         protoconv.ToProtoLines(e.Lines),
			OccurTime:     protoconv.ToProtoTime(e.OccurTime),
			OrderId:       e.OrderID,
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown domain event %T", e)
	}
}
