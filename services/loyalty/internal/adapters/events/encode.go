// Package events connects the loyalty service to the event bus: it turns
// domain events into their proto payloads and subjects for the outbox, and
// turns consumed customer and interaction events into use-case calls.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/protoconv"
)

// Encode returns the subject and proto payload of a domain event.
func Encode(e domain.Event) (subject string, msg proto.Message, err error) {
	switch e := e.(type) {
	case domain.PointsEarned:
		return loyaltyv1.SubjectPointsEarned, &loyaltyv1.PointsEarned{
			CustomerId:    e.CustomerID,
			Points:        e.Points,
			PointsBalance: e.PointsBalance,
			InteractionId: e.InteractionID,
		}, nil
	case domain.TierChanged:
		return loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{
			CustomerId: e.CustomerID,
			OldTier:    protoconv.ToProtoTier(e.OldTier),
			NewTier:    protoconv.ToProtoTier(e.NewTier),
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown event type %T", e)
	}
}
