// Package protoconv holds the proto forms of loyalty values that the gRPC
// API and the events share.
package protoconv

import (
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// VIPTierCode is the tier code the legacy Tier enum calls TIER_VIP.
const VIPTierCode = "vip"

// ToProtoTier is the legacy two-level view of a tier code: "vip" is
// TIER_VIP, any other tier TIER_NORMAL.
func ToProtoTier(code string) loyaltyv1.Tier {
	switch code {
	case "":
		return loyaltyv1.Tier_TIER_UNSPECIFIED
	case VIPTierCode:
		return loyaltyv1.Tier_TIER_VIP
	default:
		return loyaltyv1.Tier_TIER_NORMAL
	}
}
