package suite_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/auth"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// access is who may call an RPC, as the product decides it: a role that
// may not and one that may. It is written out here, apart from the
// services' policies, so that a change of a policy shows up as a failing
// row. A public RPC needs no token at all.
type access struct {
	forbidden, allowed auth.Role
	public             bool
}

// accessTable has one row per public RPC.
var accessTable = map[string]access{
	customerv1.CustomerService_CreateCustomer_FullMethodName:            {auth.Auditor, auth.Agent, false},
	customerv1.CustomerService_GetCustomer_FullMethodName:               {"", auth.Analyst, false},
	customerv1.CustomerService_ListCustomers_FullMethodName:             {"", auth.Agent, false},
	customerv1.CustomerService_UpdateCustomer_FullMethodName:            {auth.Analyst, auth.Integration, false},
	customerv1.CustomerService_DeleteCustomer_FullMethodName:            {auth.Integration, auth.Agent, false},
	customerv1.CustomerService_UndeleteCustomer_FullMethodName:          {auth.Auditor, auth.Manager, false},
	customerv1.CustomerService_EraseCustomer_FullMethodName:             {auth.Manager, auth.Admin, false},
	customerv1.CustomerService_FindDuplicates_FullMethodName:            {auth.Analyst, auth.Agent, false},
	customerv1.CustomerService_MergeCustomers_FullMethodName:            {auth.Agent, auth.Manager, false},
	customerv1.CustomerService_TransferOwnership_FullMethodName:         {auth.Agent, auth.Manager, false},
	customerv1.CustomerService_ListOwnershipChanges_FullMethodName:      {auth.Analyst, auth.Auditor, false},
	customerv1.CustomerService_SetConsent_FullMethodName:                {auth.Auditor, auth.Integration, false},
	customerv1.CustomerService_CreateRelationship_FullMethodName:        {auth.Analyst, auth.Agent, false},
	customerv1.CustomerService_ListRelationships_FullMethodName:         {"", auth.Auditor, false},
	customerv1.CustomerService_DeleteRelationship_FullMethodName:        {auth.Integration, auth.Manager, false},
	customerv1.CustomerService_CreateAttributeDefinition_FullMethodName: {auth.Manager, auth.Admin, false},
	customerv1.CustomerService_ListAttributeDefinitions_FullMethodName:  {"", auth.Integration, false},
	customerv1.CustomerService_UpdateAttributeDefinition_FullMethodName: {auth.Manager, auth.Admin, false},
	customerv1.CustomerService_DeleteAttributeDefinition_FullMethodName: {auth.Manager, auth.Admin, false},
	customerv1.CustomerService_ListAuditEntries_FullMethodName:          {auth.Manager, auth.Auditor, false},
	customerv1.CustomerService_ImportCustomers_FullMethodName:           {auth.Agent, auth.Integration, false},
	// Exports need the export permission besides the role (exporter).
	customerv1.CustomerService_ExportCustomers_FullMethodName: {auth.Manager, exporter, false},

	interactionv1.InteractionService_RecordInteraction_FullMethodName:      {auth.Analyst, auth.Integration, false},
	interactionv1.InteractionService_ListInteractions_FullMethodName:       {"", auth.Analyst, false},
	interactionv1.InteractionService_IngestEvents_FullMethodName:           {auth.Agent, auth.Integration, false},
	interactionv1.InteractionService_BatchIngestEvents_FullMethodName:      {auth.Manager, auth.Integration, false},
	interactionv1.InteractionService_CreateCase_FullMethodName:             {auth.Auditor, auth.Agent, false},
	interactionv1.InteractionService_GetCase_FullMethodName:                {"", auth.Auditor, false},
	interactionv1.InteractionService_ListCases_FullMethodName:              {"", auth.Agent, false},
	interactionv1.InteractionService_AssignCase_FullMethodName:             {auth.Integration, auth.Manager, false},
	interactionv1.InteractionService_EscalateCase_FullMethodName:           {auth.Integration, auth.Manager, false},
	interactionv1.InteractionService_UpdateCaseStatus_FullMethodName:       {auth.Analyst, auth.Agent, false},
	interactionv1.InteractionService_ResolveCase_FullMethodName:            {auth.Auditor, auth.Agent, false},
	interactionv1.InteractionService_ReopenCase_FullMethodName:             {auth.Integration, auth.Manager, false},
	interactionv1.InteractionService_AddCaseComment_FullMethodName:         {auth.Analyst, auth.Agent, false},
	interactionv1.InteractionService_ListCaseComments_FullMethodName:       {"", auth.Auditor, false},
	interactionv1.InteractionService_CreateBusinessCalendar_FullMethodName: {auth.Agent, auth.Manager, false},
	interactionv1.InteractionService_GetBusinessCalendar_FullMethodName:    {"", auth.Agent, false},
	interactionv1.InteractionService_CreateSlaPolicy_FullMethodName:        {auth.Agent, auth.Manager, false},
	interactionv1.InteractionService_ListSlaPolicies_FullMethodName:        {"", auth.Analyst, false},
	interactionv1.InteractionService_CreateTeam_FullMethodName:             {auth.Agent, auth.Manager, false},
	interactionv1.InteractionService_CreateSurvey_FullMethodName:           {auth.Analyst, auth.Manager, false},
	interactionv1.InteractionService_GetSurvey_FullMethodName:              {"", auth.Integration, false},
	interactionv1.InteractionService_AnswerSurvey_FullMethodName:           {auth.Auditor, auth.Integration, false},
	// The signed survey link is the credential.
	interactionv1.InteractionService_GetSurveyByLink_FullMethodName:    {"", "", true},
	interactionv1.InteractionService_AnswerSurveyByLink_FullMethodName: {"", "", true},
	interactionv1.InteractionService_GetSurveyStats_FullMethodName:     {"", auth.Analyst, false},
	interactionv1.InteractionService_CreateFollowupRule_FullMethodName: {auth.Agent, auth.Manager, false},
	interactionv1.InteractionService_ListFollowupRules_FullMethodName:  {"", auth.Auditor, false},
	interactionv1.InteractionService_CreateFollowup_FullMethodName:     {auth.Integration, auth.Agent, false},
	interactionv1.InteractionService_ListFollowups_FullMethodName:      {"", auth.Agent, false},
	interactionv1.InteractionService_CompleteFollowup_FullMethodName:   {auth.Analyst, auth.Agent, false},

	loyaltyv1.LoyaltyService_GetLoyaltyAccount_FullMethodName: {"", auth.Integration, false},
	loyaltyv1.LoyaltyService_ListLedgerEntries_FullMethodName: {"", auth.Auditor, false},
	loyaltyv1.LoyaltyService_EnrollMember_FullMethodName:      {auth.Analyst, auth.Agent, false},
	loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName:      {auth.Agent, auth.Manager, false},
	loyaltyv1.LoyaltyService_RecordEngagement_FullMethodName:  {auth.Auditor, auth.Integration, false},
	loyaltyv1.LoyaltyService_CreateProgram_FullMethodName:     {auth.Manager, auth.Admin, false},
	loyaltyv1.LoyaltyService_GetProgram_FullMethodName:        {"", auth.Analyst, false},
	loyaltyv1.LoyaltyService_ListPrograms_FullMethodName:      {"", auth.Agent, false},
	loyaltyv1.LoyaltyService_UpdateProgram_FullMethodName:     {auth.Manager, auth.Admin, false},
	loyaltyv1.LoyaltyService_CreateReward_FullMethodName:      {auth.Manager, auth.Admin, false},
	loyaltyv1.LoyaltyService_GetReward_FullMethodName:         {"", auth.Integration, false},
	loyaltyv1.LoyaltyService_ListRewards_FullMethodName:       {"", auth.Agent, false},
	loyaltyv1.LoyaltyService_UpdateReward_FullMethodName:      {auth.Manager, auth.Admin, false},
	loyaltyv1.LoyaltyService_RedeemReward_FullMethodName:      {auth.Auditor, auth.Agent, false},
	loyaltyv1.LoyaltyService_CancelRedemption_FullMethodName:  {auth.Agent, auth.Manager, false},

	segmentationv1.SegmentationService_GetCustomerValue_FullMethodName:       {"", auth.Analyst, false},
	segmentationv1.SegmentationService_StreamSegmentMembers_FullMethodName:   {auth.Agent, auth.Analyst, false},
	segmentationv1.SegmentationService_GetParetoSummary_FullMethodName:       {auth.Agent, auth.Analyst, false},
	segmentationv1.SegmentationService_RecomputeValues_FullMethodName:        {auth.Analyst, auth.Manager, false},
	segmentationv1.SegmentationService_GetModelFit_FullMethodName:            {auth.Integration, auth.Auditor, false},
	segmentationv1.SegmentationService_RefitModel_FullMethodName:             {auth.Analyst, auth.Manager, false},
	segmentationv1.SegmentationService_GetOperation_FullMethodName:           {auth.Analyst, auth.Manager, false},
	segmentationv1.SegmentationService_CreateSegment_FullMethodName:          {auth.Analyst, auth.Manager, false},
	segmentationv1.SegmentationService_GetSegment_FullMethodName:             {"", auth.Agent, false},
	segmentationv1.SegmentationService_ListSegments_FullMethodName:           {"", auth.Analyst, false},
	segmentationv1.SegmentationService_UpdateSegment_FullMethodName:          {auth.Analyst, auth.Manager, false},
	segmentationv1.SegmentationService_DeleteSegment_FullMethodName:          {auth.Agent, auth.Manager, false},
	segmentationv1.SegmentationService_ListSegmentMembers_FullMethodName:     {auth.Agent, auth.Analyst, false},
	segmentationv1.SegmentationService_CheckSegmentMembership_FullMethodName: {"", auth.Integration, false},
	segmentationv1.SegmentationService_ListDemandSeries_FullMethodName:       {auth.Agent, auth.Analyst, false},
	segmentationv1.SegmentationService_ForecastDemand_FullMethodName:         {auth.Integration, auth.Manager, false},
	segmentationv1.SegmentationService_PredictPurchases_FullMethodName:       {auth.Agent, auth.Analyst, false},
	segmentationv1.SegmentationService_ValidateModel_FullMethodName:          {auth.Integration, auth.Auditor, false},

	notificationv1.NotificationService_ListMessages_FullMethodName:      {"", auth.Agent, false},
	notificationv1.NotificationService_GetMessage_FullMethodName:        {"", auth.Auditor, false},
	notificationv1.NotificationService_ListAgentMessages_FullMethodName: {auth.Analyst, auth.Manager, false},
	notificationv1.NotificationService_ListDeadLetters_FullMethodName:   {auth.Agent, auth.Auditor, false},
	notificationv1.NotificationService_RetryMessage_FullMethodName:      {auth.Agent, auth.Manager, false},
	notificationv1.NotificationService_ReportDelivery_FullMethodName:    {auth.Agent, auth.Integration, false},
	notificationv1.NotificationService_SaveTemplate_FullMethodName:      {auth.Agent, auth.Manager, false},
	notificationv1.NotificationService_ListTemplates_FullMethodName:     {"", auth.Analyst, false},
	notificationv1.NotificationService_PreviewTemplate_FullMethodName:   {auth.Analyst, auth.Agent, false},
	notificationv1.NotificationService_CreateCampaign_FullMethodName:    {auth.Agent, auth.Manager, false},
	notificationv1.NotificationService_GetCampaign_FullMethodName:       {"", auth.Analyst, false},
	notificationv1.NotificationService_ListCampaigns_FullMethodName:     {"", auth.Auditor, false},
	notificationv1.NotificationService_PauseCampaign_FullMethodName:     {auth.Analyst, auth.Manager, false},
	notificationv1.NotificationService_ResumeCampaign_FullMethodName:    {auth.Agent, auth.Manager, false},
	notificationv1.NotificationService_CancelCampaign_FullMethodName:    {auth.Integration, auth.Manager, false},
	// A customer follows a signed link, without a token.
	notificationv1.NotificationService_Unsubscribe_FullMethodName:  {"", "", true},
	notificationv1.NotificationService_RunSchedules_FullMethodName: {auth.Manager, auth.Admin, false},
	notificationv1.NotificationService_GetOperation_FullMethodName: {auth.Manager, auth.Admin, false},

	accessv1.AccessService_CreateApiKey_FullMethodName: {auth.Manager, auth.Admin, false},
	accessv1.AccessService_ListApiKeys_FullMethodName:  {auth.Auditor, auth.Admin, false},
	accessv1.AccessService_RevokeApiKey_FullMethodName: {auth.Manager, auth.Admin, false},
	// The key is the credential.
	accessv1.AccessService_ExchangeApiKey_FullMethodName: {"", "", true},
}

// exporter stands for an agent holding the export permission.
const exporter auth.Role = "agent+export"

// noRole stands for a caller whose token names no role: every RPC that
// any role may call is forbidden to it.
const noRole auth.Role = ""

// identity is the caller of a role in the table.
func identity(role auth.Role) auth.Identity {
	id := auth.Identity{Subject: "u-" + string(role), Roles: []auth.Role{role}, Teams: []string{"north"}}
	switch role {
	case exporter:
		id.Roles, id.Permissions = []auth.Role{auth.Agent}, []string{auth.PermissionExport}
	case noRole:
		id.Subject, id.Roles = "u-nobody", nil
	}
	return id
}

// publicServices are the services whose every RPC the table must cover.
var publicServices = []protoreflect.FileDescriptor{
	customerv1.File_guanxi_customer_v1_customer_proto,
	interactionv1.File_guanxi_interaction_v1_interaction_proto,
	loyaltyv1.File_guanxi_loyalty_v1_loyalty_proto,
	segmentationv1.File_guanxi_segmentation_v1_segmentation_proto,
	notificationv1.File_guanxi_notification_v1_notification_proto,
	accessv1.File_guanxi_access_v1_access_proto,
}

// passed reports whether a call got past authentication and authorization
// to the handler, which may still refuse the empty request as invalid or
// not find what it names.
func passed(code codes.Code) bool {
	switch code {
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented, codes.Internal, codes.Unavailable:
		return false
	}
	return true
}

// TestEveryRPCChecksItsCaller is issue 4's table: every public RPC, through
// gRPC and (where it has a route) REST, refuses a call without a token
// (Unauthenticated, 401), refuses a role that may not call it
// (PermissionDenied, 403) and lets a role that may call it through.
func TestEveryRPCChecksItsCaller(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()

	// Connections live as long as the whole test, shared by its subtests.
	outer := t
	conns := map[string]*grpc.ClientConn{}
	connAs := func(service string, role *auth.Role) *grpc.ClientConn {
		t := outer
		key := service
		if role != nil {
			key += "/" + string(*role)
		}
		if c, ok := conns[key]; ok {
			return c
		}
		var c *grpc.ClientConn
		if role == nil {
			c = anonymousConn(t, e, service)
		} else {
			c = dialAs(t, e, service, identity(*role))
		}
		conns[key] = c
		return c
	}

	fixtures := accessFixtures(t, e)
	calls, okCalls, public := 0, 0, 0
	var reachedOnly []string
	for _, file := range publicServices {
		svc := file.Services().Get(0)
		name := strings.TrimSuffix(string(svc.Name()), "Service")
		service := strings.ToLower(name)
		for i := range svc.Methods().Len() {
			m := svc.Methods().Get(i)
			full := "/" + string(svc.FullName()) + "/" + string(m.Name())
			row, ok := accessTable[full]
			if !ok {
				t.Errorf("%s has no row in the access table", full)
				continue
			}
			t.Run(name+"/"+string(m.Name()), func(t *testing.T) {
				anon := invoke(t, connAs(service, nil), full, m)
				if row.public {
					public++
					if !passed(anon) {
						t.Errorf("gRPC without a token: %v, want through (public)", anon)
					}
				} else if anon != codes.Unauthenticated {
					t.Errorf("gRPC without a token: %v, want Unauthenticated", anon)
				}
				if !row.public {
					forbidden := row.forbidden
					if got := invoke(t, connAs(service, &forbidden), full, m); got != codes.PermissionDenied {
						t.Errorf("gRPC as %q: %v, want PermissionDenied", forbidden, got)
					}
					allowed := row.allowed
					in := dynamicpb.NewMessage(m.Input())
					spec, valid := validRequests[full]
					if valid {
						fill(t, spec.json, fixtures, in)
					}
					got, out := invokeWith(t, connAs(service, &allowed), full, m, in)
					switch {
					case valid && got != codes.OK:
						t.Errorf("gRPC as %q with a valid request: %v, want OK", allowed, got)
					case !passed(got):
						t.Errorf("gRPC as %q: %v, want through", allowed, got)
					}
					calls++
					if got == codes.OK {
						okCalls++
						capture(t, spec.capture, out, fixtures)
					} else {
						reachedOnly = append(reachedOnly, string(m.Name())+" "+got.String())
					}
				}

				rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if !ok || rule == nil {
					return // stream-only RPCs have no route
				}
				method, path := route(rule)
				if got := restStatus(t, e, method, path, ""); row.public && got == http.StatusUnauthorized || !row.public && got != http.StatusUnauthorized {
					t.Errorf("REST %s %s without a token: %d", method, path, got)
				}
				if row.public {
					return
				}
				if got := restStatus(t, e, method, path, testTokenOf(t, e, row.forbidden)); got != http.StatusForbidden {
					t.Errorf("REST %s %s as %q: %d, want 403", method, path, row.forbidden, got)
				}
				if got := restStatus(t, e, method, path, testTokenOf(t, e, row.allowed)); got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
					t.Errorf("REST %s %s as %q: %d, want through", method, path, row.allowed, got)
				}
			})
		}
	}
	if len(accessTable) != calls+public {
		t.Errorf("the table has %d rows, the services %d RPCs", len(accessTable), calls+public)
	}
	t.Logf("%d RPCs checked through gRPC and REST; as the allowed role %d succeeded (%d with a valid request), the rest reached their handler: %v", calls+public, okCalls, len(validRequests), reachedOnly)
}

// anonymousConn connects to service name of e without credentials.
func anonymousConn(t *testing.T, e suite.Endpoints, name string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(serviceAddr(t, e, name), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// invoke calls method m with an empty request and returns the status code.
func invoke(t *testing.T, conn *grpc.ClientConn, full string, m protoreflect.MethodDescriptor) codes.Code {
	t.Helper()
	code, _ := invokeWith(t, conn, full, m, dynamicpb.NewMessage(m.Input()))
	return code
}

// invokeWith calls method m with in (a stream sends it as its one
// message, an empty client stream none) and returns the status code and
// the first answer.
func invokeWith(t *testing.T, conn *grpc.ClientConn, full string, m protoreflect.MethodDescriptor, in proto.Message) (codes.Code, proto.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := dynamicpb.NewMessage(m.Output())
	if !m.IsStreamingClient() && !m.IsStreamingServer() {
		return status.Code(conn.Invoke(ctx, full, in, out)), out
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: m.IsStreamingServer(), ClientStreams: m.IsStreamingClient()}, full)
	if err != nil {
		return status.Code(err), out
	}
	if !m.IsStreamingClient() || proto.Size(in) > 0 {
		if err := stream.SendMsg(in); err != nil && !errors.Is(err, io.EOF) {
			return status.Code(err), out
		}
	}
	if err := stream.CloseSend(); err != nil {
		return status.Code(err), out
	}
	err = stream.RecvMsg(out)
	if errors.Is(err, io.EOF) {
		return codes.OK, out
	}
	return status.Code(err), out
}

// placeholder is a ${name} in a valid request.
var placeholder = regexp.MustCompile(`\$\{(\w+)\}`)

// fill unmarshals the protojson template into msg, its placeholders
// replaced by fixtures.
func fill(t *testing.T, template string, fixtures map[string]string, msg proto.Message) {
	t.Helper()
	text := placeholder.ReplaceAllStringFunc(template, func(p string) string {
		name := placeholder.FindStringSubmatch(p)[1]
		v, ok := fixtures[name]
		if !ok {
			t.Fatalf("no fixture %s (yet) for %s", name, template)
		}
		return v
	})
	if err := protojson.Unmarshal([]byte(text), msg); err != nil {
		t.Fatalf("request %s: %v", text, err)
	}
}

// capture keeps the values at the dotted paths of paths in the answer as
// fixtures for later calls.
func capture(t *testing.T, paths map[string]string, answer proto.Message, fixtures map[string]string) {
	t.Helper()
	if len(paths) == 0 {
		return
	}
	raw, err := protojson.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for name, path := range paths {
		var v any = doc
		for _, key := range strings.Split(path, ".") {
			obj, _ := v.(map[string]any)
			v = obj[key]
		}
		s, ok := v.(string)
		if !ok || s == "" {
			t.Fatalf("answer %s has no %s", raw, path)
		}
		fixtures[name] = s
	}
}

// accessFixtures creates, as an admin, what the valid requests name: the
// customers of the agent's team "north" (c2 and c3 organizations, one
// person already deleted), a relationship, a loyalty program with the first customer enrolled, and a
// segment.
func accessFixtures(t *testing.T, e suite.Endpoints) map[string]string {
	t.Helper()
	api := adminClient(t, e)
	f := map[string]string{}
	for _, name := range []string{"c1", "c2", "c3", "cDel", "cDeleted", "cErase", "cM1", "cM2"} {
		kind := "PERSON"
		if name == "c2" || name == "c3" {
			kind = "ORGANIZATION"
		}
		f[name] = api.mustDo("POST", "/v1/customers", `{"displayName":"`+name+`","type":"CUSTOMER_TYPE_`+kind+`","ownerId":"u-agent","teamId":"north"}`)["id"].(string)
	}
	api.mustDo("DELETE", "/v1/customers/"+f["cDeleted"], "")
	f["rel"] = api.mustDo("POST", "/v1/relationships", `{"fromCustomerId":"`+f["c1"]+`","toCustomerId":"`+f["c2"]+`","type":"RELATIONSHIP_TYPE_WORKS_AT"}`)["id"].(string)
	f["program"] = api.mustDo("POST", "/v1/programs", `{"name":"ACL fixture","timeZone":"Asia/Shanghai","currencyCode":"CNY",`+
		`"baseRates":[{"currencyCode":"CNY","pointsPerUnit":"1"}],"engagementRules":[{"kind":"check_in","points":"5"}],"tiers":[{"code":"normal","name":"普通"}]}`)["id"].(string)
	api.mustDo("POST", "/v1/programs/"+f["program"]+"/members", `{"customerId":"`+f["c1"]+`"}`)
	f["segment"] = api.mustDo("POST", "/v1/segments", `{"name":"acl_fixture","filter":"purchase_count >= 0"}`)["id"].(string)
	return f
}

// pathParam is a variable of a route's path template.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// route is the method and a concrete path of rule, its variables filled
// with a well-formed id that names nothing.
func route(rule *annotations.HttpRule) (string, string) {
	var method, path string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		method, path = http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		method, path = http.MethodPost, p.Post
	case *annotations.HttpRule_Put:
		method, path = http.MethodPut, p.Put
	case *annotations.HttpRule_Patch:
		method, path = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Delete:
		method, path = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		method, path = p.Custom.GetKind(), p.Custom.GetPath()
	}
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	return method, pathParam.ReplaceAllStringFunc(path, func(param string) string {
		// {name=segmentation/operations/*} is a name of that form.
		if _, pattern, ok := strings.Cut(strings.Trim(param, "{}"), "="); ok {
			return strings.ReplaceAll(pattern, "*", id)
		}
		return id
	})
}

// testTokenOf is a token of e for the caller of role.
func testTokenOf(t *testing.T, e suite.Endpoints, role auth.Role) string {
	t.Helper()
	return clientAs(t, e, identity(role)).token
}

// restStatus sends an empty JSON request with token ("" for none) and
// returns the status.
func restStatus(t *testing.T, e suite.Endpoints, method, path, token string) int {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet && method != http.MethodDelete {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, e.HTTP+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
