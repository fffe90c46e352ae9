package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// Role sets of the policy. Admins and services may call every RPC.
var (
	// staff work with customers day to day.
	staff = []auth.Role{auth.Manager, auth.Agent}
	// feeders are staff and the systems that push interactions in.
	feeders = append(staff[:len(staff):len(staff)], auth.Integration)
	// readers may read: everyone but a caller without a role.
	readers = append(feeders[:len(feeders):len(feeders)], auth.Auditor, auth.Analyst)
)

// Policy says which roles may call each RPC.
var Policy = auth.Policy{
	interactionv1.InteractionService_RecordInteraction_FullMethodName:      auth.Allow(feeders...),
	interactionv1.InteractionService_ListInteractions_FullMethodName:       auth.Allow(readers...),
	interactionv1.InteractionService_IngestEvents_FullMethodName:           auth.Allow(auth.Integration),
	interactionv1.InteractionService_BatchIngestEvents_FullMethodName:      auth.Allow(auth.Integration),
	interactionv1.InteractionService_CreateCase_FullMethodName:             auth.Allow(feeders...),
	interactionv1.InteractionService_GetCase_FullMethodName:                auth.Allow(readers...),
	interactionv1.InteractionService_ListCases_FullMethodName:              auth.Allow(readers...),
	interactionv1.InteractionService_AssignCase_FullMethodName:             auth.Allow(staff...),
	interactionv1.InteractionService_UpdateCaseStatus_FullMethodName:       auth.Allow(staff...),
	interactionv1.InteractionService_ResolveCase_FullMethodName:            auth.Allow(staff...),
	interactionv1.InteractionService_ReopenCase_FullMethodName:             auth.Allow(staff...),
	interactionv1.InteractionService_AddCaseComment_FullMethodName:         auth.Allow(staff...),
	interactionv1.InteractionService_ListCaseComments_FullMethodName:       auth.Allow(readers...),
	interactionv1.InteractionService_CreateBusinessCalendar_FullMethodName: auth.Allow(auth.Manager),
	interactionv1.InteractionService_GetBusinessCalendar_FullMethodName:    auth.Allow(readers...),
	interactionv1.InteractionService_CreateSlaPolicy_FullMethodName:        auth.Allow(auth.Manager),
	interactionv1.InteractionService_ListSlaPolicies_FullMethodName:        auth.Allow(readers...),
	interactionv1.InteractionService_CreateTeam_FullMethodName:             auth.Allow(auth.Manager),
	interactionv1.InteractionService_CreateSurvey_FullMethodName:           auth.Allow(auth.Manager),
	interactionv1.InteractionService_GetSurvey_FullMethodName:              auth.Allow(readers...),
	interactionv1.InteractionService_AnswerSurvey_FullMethodName:           auth.Allow(feeders...),
	interactionv1.InteractionService_GetSurveyStats_FullMethodName:         auth.Allow(readers...),
	interactionv1.InteractionService_CreateFollowupRule_FullMethodName:     auth.Allow(auth.Manager),
	interactionv1.InteractionService_ListFollowupRules_FullMethodName:      auth.Allow(readers...),
	interactionv1.InteractionService_CreateFollowup_FullMethodName:         auth.Allow(staff...),
	interactionv1.InteractionService_ListFollowups_FullMethodName:          auth.Allow(readers...),
	interactionv1.InteractionService_CompleteFollowup_FullMethodName:       auth.Allow(staff...),
}
