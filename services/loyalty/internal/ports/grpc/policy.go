package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// Policy says which roles may call each RPC. Programs and rewards, which
// set what points are worth, are the admins'.
var Policy = auth.Policy{
	loyaltyv1.LoyaltyService_GetLoyaltyAccount_FullMethodName: auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_ListLedgerEntries_FullMethodName: auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_EnrollMember_FullMethodName:      auth.Allow(auth.Feeders...),
	// Points by hand are a manager's goodwill gesture, not an agent's.
	loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName:     auth.Allow(auth.Manager),
	loyaltyv1.LoyaltyService_RecordEngagement_FullMethodName: auth.Allow(auth.Feeders...),
	loyaltyv1.LoyaltyService_CreateProgram_FullMethodName:    auth.Allow(),
	loyaltyv1.LoyaltyService_GetProgram_FullMethodName:       auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_ListPrograms_FullMethodName:     auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_UpdateProgram_FullMethodName:    auth.Allow(),
	loyaltyv1.LoyaltyService_CreateReward_FullMethodName:     auth.Allow(),
	loyaltyv1.LoyaltyService_GetReward_FullMethodName:        auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_ListRewards_FullMethodName:      auth.Allow(auth.Readers...),
	loyaltyv1.LoyaltyService_UpdateReward_FullMethodName:     auth.Allow(),
	loyaltyv1.LoyaltyService_RedeemReward_FullMethodName:     auth.Allow(auth.Feeders...),
	loyaltyv1.LoyaltyService_CancelRedemption_FullMethodName: auth.Allow(auth.Manager),
}
