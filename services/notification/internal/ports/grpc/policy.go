package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
)

// Policy says which roles may call each RPC. Managers run campaigns and
// write templates; delivery providers report through an integration.
var Policy = auth.Policy{
	notificationv1.NotificationService_ListMessages_FullMethodName:      auth.Allow(auth.Readers...),
	notificationv1.NotificationService_GetMessage_FullMethodName:        auth.Allow(auth.Readers...),
	notificationv1.NotificationService_ListAgentMessages_FullMethodName: auth.Allow(auth.Manager, auth.Agent),
	notificationv1.NotificationService_ListDeadLetters_FullMethodName:   auth.Allow(auth.Manager, auth.Auditor),
	notificationv1.NotificationService_RetryMessage_FullMethodName:      auth.Allow(auth.Manager),
	notificationv1.NotificationService_ReportDelivery_FullMethodName:    auth.Allow(auth.Integration),
	notificationv1.NotificationService_SaveTemplate_FullMethodName:      auth.Allow(auth.Manager),
	notificationv1.NotificationService_ListTemplates_FullMethodName:     auth.Allow(auth.Readers...),
	notificationv1.NotificationService_PreviewTemplate_FullMethodName:   auth.Allow(auth.Manager, auth.Agent),
	notificationv1.NotificationService_CreateCampaign_FullMethodName:    auth.Allow(auth.Manager),
	notificationv1.NotificationService_GetCampaign_FullMethodName:       auth.Allow(auth.Readers...),
	notificationv1.NotificationService_ListCampaigns_FullMethodName:     auth.Allow(auth.Readers...),
	notificationv1.NotificationService_PauseCampaign_FullMethodName:     auth.Allow(auth.Manager),
	notificationv1.NotificationService_ResumeCampaign_FullMethodName:    auth.Allow(auth.Manager),
	notificationv1.NotificationService_CancelCampaign_FullMethodName:    auth.Allow(auth.Manager),
	// The customer follows a link signed by the service; the signature is
	// the credential.
	notificationv1.NotificationService_Unsubscribe_FullMethodName: auth.Public(),
	// Schedules run by themselves; running them now is an operator's call.
	notificationv1.NotificationService_RunSchedules_FullMethodName: auth.Allow(),
	notificationv1.NotificationService_GetOperation_FullMethodName: auth.Allow(),
}
