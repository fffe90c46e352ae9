// Package protoconv holds the proto forms of loyalty values that the gRPC
// API and the events share.
package protoconv

import (
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// ToProtoTier is the proto form of t.
func ToProtoTier(t domain.Tier) loyaltyv1.Tier {
	switch t {
	case domain.TierNormal:
		return loyaltyv1.Tier_TIER_NORMAL
	case domain.TierVIP:
		return loyaltyv1.Tier_TIER_VIP
	default:
		return loyaltyv1.Tier_TIER_UNSPECIFIED
	}
}
