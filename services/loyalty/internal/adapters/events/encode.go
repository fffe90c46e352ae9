// Package events connects the loyalty service to the event bus: it turns
// domain events into their proto payloads and subjects for the outbox, and
// turns consumed customer and interaction events into use-case calls.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
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
			OldTier:    toProtoTier(e.OldTier),
			NewTier:    toProtoTier(e.NewTier),
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown event type %T", e)
	}
}

func toProtoTier(t domain.Tier) loyaltyv1.Tier {
	switch t {
	case domain.TierNormal:
		return loyaltyv1.Tier_TIER_NORMAL
	case domain.TierVIP:
		return loyaltyv1.Tier_TIER_VIP
	default:
		return loyaltyv1.Tier_TIER_UNSPECIFIED
	}
}
