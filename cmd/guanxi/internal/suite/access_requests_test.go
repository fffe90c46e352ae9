package suite_test

import (
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// validRequest is a request that succeeds when the table's allowed caller
// makes it: the request message as protojson, with ${name} filled from
// the fixtures and from what earlier calls answered (capture: name ->
// dotted path in the answer). Calls run in the services' declaration
// order, so a Create comes before the Get that reads what it made.
type validRequest struct {
	json    string
	capture map[string]string
}

var validRequests = map[string]validRequest{
	accessv1.AccessService_CreateApiKey_FullMethodName: {json: `{"apiKey":{"name":"acl","subject":"acl-bot","roles":["integration"]}}`,
		capture: map[string]string{"apiKey": "apiKey.id"}},
	accessv1.AccessService_ListApiKeys_FullMethodName:  {json: `{}`},
	accessv1.AccessService_RevokeApiKey_FullMethodName: {json: `{"id":"${apiKey}"}`},

	customerv1.CustomerService_CreateCustomer_FullMethodName:            {json: `{"customer":{"displayName":"新客户","teamId":"north"}}`},
	customerv1.CustomerService_GetCustomer_FullMethodName:               {json: `{"id":"${c1}"}`},
	customerv1.CustomerService_UpdateCustomer_FullMethodName:            {json: `{"customer":{"id":"${c1}","displayName":"甲二"},"updateMask":"displayName"}`},
	customerv1.CustomerService_DeleteCustomer_FullMethodName:            {json: `{"id":"${cDel}"}`},
	customerv1.CustomerService_UndeleteCustomer_FullMethodName:          {json: `{"id":"${cDeleted}"}`},
	customerv1.CustomerService_EraseCustomer_FullMethodName:             {json: `{"id":"${cErase}","reason":"right to be forgotten"}`},
	customerv1.CustomerService_FindDuplicates_FullMethodName:            {json: `{"customerId":"${c1}"}`},
	customerv1.CustomerService_MergeCustomers_FullMethodName:            {json: `{"survivorCustomerId":"${cM1}","mergedCustomerId":"${cM2}","reason":"same person"}`},
	customerv1.CustomerService_TransferOwnership_FullMethodName:         {json: `{"fromOwnerId":"u-agent","toOwnerId":"u-other","filter":"display_name = \"nobody\"","reason":"test"}`},
	customerv1.CustomerService_ListOwnershipChanges_FullMethodName:      {json: `{"customerId":"${c1}"}`},
	customerv1.CustomerService_SetConsent_FullMethodName:                {json: `{"customerId":"${c1}","channel":"CONSENT_CHANNEL_EMAIL","status":"CONSENT_STATUS_OPTED_IN","source":"web form"}`},
	customerv1.CustomerService_CreateRelationship_FullMethodName:        {json: `{"relationship":{"fromCustomerId":"${c2}","toCustomerId":"${c3}","type":"RELATIONSHIP_TYPE_PARTNER_OF"}}`},
	customerv1.CustomerService_ListRelationships_FullMethodName:         {json: `{"customerId":"${c1}"}`},
	customerv1.CustomerService_DeleteRelationship_FullMethodName:        {json: `{"id":"${rel}"}`},
	customerv1.CustomerService_CreateAttributeDefinition_FullMethodName: {json: `{"attributeDefinition":{"name":"shoe_size","type":"ATTRIBUTE_TYPE_NUMBER"}}`},
	customerv1.CustomerService_UpdateAttributeDefinition_FullMethodName: {json: `{"attributeDefinition":{"name":"shoe_size","displayName":"鞋码"},"updateMask":"displayName"}`},
	customerv1.CustomerService_DeleteAttributeDefinition_FullMethodName: {json: `{"name":"shoe_size"}`},
	customerv1.CustomerService_ImportCustomers_FullMethodName:           {json: `{"format":"IMPORT_FORMAT_CSV","data":"ZGlzcGxheV9uYW1lLG93bmVyX2lkCuS5mSx1LWFnZW50Cg=="}`},

	interactionv1.InteractionService_RecordInteraction_FullMethodName: {json: `{"interaction":{"customerId":"${c1}","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",` +
		`"purchase":{"orderId":"ACL-1","total":{"currencyCode":"CNY","amountMinor":"5000"}}}}`},
	interactionv1.InteractionService_ListInteractions_FullMethodName: {json: `{"customerId":"${c1}"}`},
	interactionv1.InteractionService_IngestEvents_FullMethodName: {json: `{"events":[{"source":"hotline","externalId":"acl-1","phone":"+8613800000001",` +
		`"interaction":{"kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_CALL_CENTER"}}]}`},
	interactionv1.InteractionService_BatchIngestEvents_FullMethodName: {json: `{"events":[{"source":"hotline","externalId":"acl-2","phone":"+8613800000002",` +
		`"interaction":{"kind":"INTERACTION_KIND_CALL","channel":"CHANNEL_CALL_CENTER"}}]}`},
	interactionv1.InteractionService_CreateCase_FullMethodName: {json: `{"case":{"customerId":"${c1}","subject":"漏水","channel":"CHANNEL_PHONE"}}`,
		capture: map[string]string{"case": "case.id"}},
	interactionv1.InteractionService_GetCase_FullMethodName:          {json: `{"id":"${case}"}`},
	interactionv1.InteractionService_AssignCase_FullMethodName:       {json: `{"id":"${case}","assigneeId":"u-agent"}`},
	interactionv1.InteractionService_EscalateCase_FullMethodName:     {json: `{"id":"${case}","escalatedTo":"u-manager"}`},
	interactionv1.InteractionService_UpdateCaseStatus_FullMethodName: {json: `{"id":"${case}","status":"CASE_STATUS_WAITING_ON_CUSTOMER"}`},
	interactionv1.InteractionService_ResolveCase_FullMethodName: {json: `{"id":"${case}","resolution":"换了水管"}`,
		capture: map[string]string{"survey": "case.surveyId"}},
	interactionv1.InteractionService_ReopenCase_FullMethodName:       {json: `{"id":"${case}","reason":"又漏了"}`},
	interactionv1.InteractionService_AddCaseComment_FullMethodName:   {json: `{"caseId":"${case}","comment":{"authorId":"u-agent","body":"明天上门"}}`},
	interactionv1.InteractionService_ListCaseComments_FullMethodName: {json: `{"caseId":"${case}"}`},
	interactionv1.InteractionService_CreateBusinessCalendar_FullMethodName: {json: `{"calendar":{"id":"acl-cal","timeZone":"Asia/Shanghai",` +
		`"hours":[{"weekday":1,"startTime":"09:00","endTime":"18:00"}]}}`},
	interactionv1.InteractionService_GetBusinessCalendar_FullMethodName: {json: `{"id":"acl-cal"}`},
	interactionv1.InteractionService_CreateSlaPolicy_FullMethodName: {json: `{"slaPolicy":{"priority":"CASE_PRIORITY_URGENT","calendarId":"acl-cal",` +
		`"firstResponseTarget":"3600s","resolutionTarget":"28800s"}}`},
	interactionv1.InteractionService_CreateTeam_FullMethodName:         {json: `{"team":{"id":"acl-team","managerId":"u-manager"}}`},
	interactionv1.InteractionService_CreateSurvey_FullMethodName:       {json: `{"survey":{"kind":"SURVEY_KIND_NPS","customerId":"${c1}","caseId":"${case}"}}`},
	interactionv1.InteractionService_GetSurvey_FullMethodName:          {json: `{"id":"${survey}"}`},
	interactionv1.InteractionService_AnswerSurvey_FullMethodName:       {json: `{"id":"${survey}","score":4}`},
	interactionv1.InteractionService_CreateFollowupRule_FullMethodName: {json: `{"rule":{"trigger":"FOLLOWUP_TRIGGER_CASE_RESOLVED","offset":"86400s","note":"回访"}}`},
	interactionv1.InteractionService_CreateFollowup_FullMethodName: {json: `{"followup":{"customerId":"${c1}","agentId":"u-agent","dueTime":"2030-01-01T01:00:00Z","channel":"CHANNEL_PHONE"}}`,
		capture: map[string]string{"followup": "followup.id"}},
	interactionv1.InteractionService_CompleteFollowup_FullMethodName: {json: `{"id":"${followup}","summary":"已回访"}`},

	loyaltyv1.LoyaltyService_GetLoyaltyAccount_FullMethodName: {json: `{"customerId":"${c1}","programId":"${program}"}`},
	loyaltyv1.LoyaltyService_ListLedgerEntries_FullMethodName: {json: `{"customerId":"${c1}","programId":"${program}"}`},
	loyaltyv1.LoyaltyService_EnrollMember_FullMethodName:      {json: `{"programId":"${program}","customerId":"${c2}"}`},
	loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName:      {json: `{"customerId":"${c1}","programId":"${program}","points":"500","reason":"补偿","requestId":"acl-adj"}`},
	loyaltyv1.LoyaltyService_RecordEngagement_FullMethodName:  {json: `{"customerId":"${c1}","kind":"check_in","sourceId":"acl-1"}`},
	loyaltyv1.LoyaltyService_CreateProgram_FullMethodName: {json: `{"program":{"name":"ACL 计划","timeZone":"Asia/Shanghai","currencyCode":"CNY",` +
		`"baseRates":[{"currencyCode":"CNY","pointsPerUnit":"1"}],"engagementRules":[{"kind":"check_in","points":"5"}],"tiers":[{"code":"normal","name":"普通"}]}}`,
		capture: map[string]string{"newProgram": "program.id"}},
	loyaltyv1.LoyaltyService_GetProgram_FullMethodName:    {json: `{"id":"${newProgram}"}`},
	loyaltyv1.LoyaltyService_UpdateProgram_FullMethodName: {json: `{"program":{"id":"${newProgram}","name":"ACL 计划二"},"updateMask":"name"}`},
	loyaltyv1.LoyaltyService_CreateReward_FullMethodName: {json: `{"reward":{"programId":"${program}","name":"茶杯","pointsCost":"10","stock":"5"}}`,
		capture: map[string]string{"reward": "reward.id"}},
	loyaltyv1.LoyaltyService_GetReward_FullMethodName:    {json: `{"id":"${reward}"}`},
	loyaltyv1.LoyaltyService_ListRewards_FullMethodName:  {json: `{"programId":"${program}"}`},
	loyaltyv1.LoyaltyService_UpdateReward_FullMethodName: {json: `{"reward":{"id":"${reward}","name":"茶杯二"},"updateMask":"name"}`},
	loyaltyv1.LoyaltyService_RedeemReward_FullMethodName: {json: `{"rewardId":"${reward}","customerId":"${c1}","requestId":"acl-red"}`,
		capture: map[string]string{"redemption": "redemption.id"}},
	loyaltyv1.LoyaltyService_CancelRedemption_FullMethodName: {json: `{"id":"${redemption}"}`},

	segmentationv1.SegmentationService_GetCustomerValue_FullMethodName:     {json: `{"customerId":"${c1}"}`},
	segmentationv1.SegmentationService_StreamSegmentMembers_FullMethodName: {json: `{"segmentId":"${segment}"}`},
	segmentationv1.SegmentationService_CreateSegment_FullMethodName: {json: `{"segment":{"name":"acl_vips","filter":"purchase_count >= 1"}}`,
		capture: map[string]string{"newSegment": "segment.id"}},
	segmentationv1.SegmentationService_GetSegment_FullMethodName:             {json: `{"id":"${newSegment}"}`},
	segmentationv1.SegmentationService_UpdateSegment_FullMethodName:          {json: `{"segment":{"id":"${newSegment}","description":"ACL"},"updateMask":"description"}`},
	segmentationv1.SegmentationService_ListSegmentMembers_FullMethodName:     {json: `{"segmentId":"${segment}"}`},
	segmentationv1.SegmentationService_CheckSegmentMembership_FullMethodName: {json: `{"segmentId":"${segment}","customerId":"${c1}"}`},
	segmentationv1.SegmentationService_DeleteSegment_FullMethodName:          {json: `{"id":"${newSegment}"}`},

	notificationv1.NotificationService_ListMessages_FullMethodName:      {json: `{"customerId":"${c1}"}`},
	notificationv1.NotificationService_ListAgentMessages_FullMethodName: {json: `{"agentId":"u-agent"}`},
	notificationv1.NotificationService_SaveTemplate_FullMethodName: {json: `{"template":{"kind":"acl_offer","channel":"CHANNEL_EMAIL","locale":"zh-CN",` +
		`"subject":"优惠","body":"{{name}}，优惠！退订：{{unsubscribe_url}}"}}`},
	notificationv1.NotificationService_PreviewTemplate_FullMethodName: {json: `{"kind":"acl_offer","channel":"CHANNEL_EMAIL","customerId":"${c1}"}`},
	notificationv1.NotificationService_CreateCampaign_FullMethodName: {json: `{"campaign":{"name":"acl","segmentId":"${segment}","templateKind":"acl_offer",` +
		`"scheduleTime":"2030-01-01T00:00:00Z"}}`, capture: map[string]string{"campaign": "campaign.id"}},
	notificationv1.NotificationService_GetCampaign_FullMethodName:    {json: `{"id":"${campaign}"}`},
	notificationv1.NotificationService_PauseCampaign_FullMethodName:  {json: `{"id":"${campaign}"}`},
	notificationv1.NotificationService_ResumeCampaign_FullMethodName: {json: `{"id":"${campaign}"}`},
	notificationv1.NotificationService_CancelCampaign_FullMethodName: {json: `{"id":"${campaign}"}`},
}
