package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// Role sets of the policy. Admins and services may call every RPC.
var (
	// feeders are staff and the systems (shops, apps) acting for members.
	feeders = []auth.Role{auth.Manager, auth.Agent, auth.Integration}
	// readers may read: everyone but a caller without a role.
	readers = append(feeders[:len(feeders):len(feeders)], auth.Auditor, auth.Analyst)
)

// Policy says which roles may call each RPC. Programs and rewards, which
// set what points are worth, are the admins'.
var Policy = auth.Policy{
	loyaltyv1.LoyaltyService_GetLoyaltyAccount_FullMethodName: auth.Allow(readers...),
	loyaltyv1.LoyaltyService_ListLedgerEntries_FullMethodName: auth.Allow(readers...),
	loyaltyv1.LoyaltyService_EnrollMember_FullMethodName:      auth.Allow(feeders...),
	// Points by hand are a manager's goodwill gesture, not an agent's.
	loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName:     auth.Allow(auth.Manager),
	loyaltyv1.LoyaltyService_RecordEngagement_FullMethodName: auth.Allow(feeders...),
	loyaltyv1.LoyaltyService_CreateProgram_FullMethodName:    auth.Allow(),
	loyaltyv1.LoyaltyService_GetProgram_FullMethodName:       auth.Allow(readers...),
	loyaltyv1.LoyaltyService_ListPrograms_FullMethodName:     auth.Allow(readers...),
	loyaltyv1.LoyaltyService_UpdateProgram_FullMethodName:    auth.Allow(),
	loyaltyv1.LoyaltyService_CreateReward_FullMethodName:     auth.Allow(),
	loyaltyv1.LoyaltyService_GetReward_FullMethodName:        auth.Allow(readers...),
	loyaltyv1.LoyaltyService_ListRewards_FullMethodName:      auth.Allow(readers...),
	loyaltyv1.LoyaltyService_UpdateReward_FullMethodName:     auth.Allow(),
	loyaltyv1.LoyaltyService_RedeemReward_FullMethodName:     auth.Allow(feeders...),
	loyaltyv1.LoyaltyService_CancelRedemption_FullMethodName: auth.Allow(auth.Manager),
}
