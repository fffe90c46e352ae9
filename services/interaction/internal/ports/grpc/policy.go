package grpc

import (
	"context"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/auth"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// Policy says which roles may call each RPC.
var Policy = auth.Policy{
	interactionv1.InteractionService_RecordInteraction_FullMethodName:      auth.Allow(auth.Feeders...),
	interactionv1.InteractionService_ListInteractions_FullMethodName:       auth.Allow(auth.Readers...),
	interactionv1.InteractionService_IngestEvents_FullMethodName:           auth.Allow(auth.Integration),
	interactionv1.InteractionService_BatchIngestEvents_FullMethodName:      auth.Allow(auth.Integration),
	interactionv1.InteractionService_CreateCase_FullMethodName:             auth.Allow(auth.Feeders...),
	interactionv1.InteractionService_GetCase_FullMethodName:                auth.Allow(auth.Readers...),
	interactionv1.InteractionService_ListCases_FullMethodName:              auth.Allow(auth.Readers...),
	interactionv1.InteractionService_AssignCase_FullMethodName:             auth.Allow(auth.Staff...),
	interactionv1.InteractionService_EscalateCase_FullMethodName:           auth.Allow(auth.Staff...),
	interactionv1.InteractionService_UpdateCaseStatus_FullMethodName:       auth.Allow(auth.Staff...),
	interactionv1.InteractionService_ResolveCase_FullMethodName:            auth.Allow(auth.Staff...),
	interactionv1.InteractionService_ReopenCase_FullMethodName:             auth.Allow(auth.Staff...),
	interactionv1.InteractionService_AddCaseComment_FullMethodName:         auth.Allow(auth.Staff...),
	interactionv1.InteractionService_ListCaseComments_FullMethodName:       auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CreateBusinessCalendar_FullMethodName: auth.Allow(auth.Manager),
	interactionv1.InteractionService_GetBusinessCalendar_FullMethodName:    auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CreateSlaPolicy_FullMethodName:        auth.Allow(auth.Manager),
	interactionv1.InteractionService_ListSlaPolicies_FullMethodName:        auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CreateTeam_FullMethodName:             auth.Allow(auth.Manager),
	interactionv1.InteractionService_CreateSurvey_FullMethodName:           auth.Allow(auth.Manager),
	interactionv1.InteractionService_GetSurvey_FullMethodName:              auth.Allow(auth.Readers...),
	interactionv1.InteractionService_AnswerSurvey_FullMethodName:           auth.Allow(auth.Feeders...),
	// A survey link's signature is its credential (see app.SurveyURL).
	interactionv1.InteractionService_GetSurveyByLink_FullMethodName:    auth.Public(),
	interactionv1.InteractionService_AnswerSurveyByLink_FullMethodName: auth.Public(),
	interactionv1.InteractionService_GetSurveyStats_FullMethodName:     auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CreateFollowupRule_FullMethodName: auth.Allow(auth.Manager),
	interactionv1.InteractionService_ListFollowupRules_FullMethodName:  auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CreateFollowup_FullMethodName:     auth.Allow(auth.Staff...),
	interactionv1.InteractionService_ListFollowups_FullMethodName:      auth.Allow(auth.Readers...),
	interactionv1.InteractionService_CompleteFollowup_FullMethodName:   auth.Allow(auth.Staff...),
}

// ownFilter narrows filter, for an agent or a manager, to the records
// whose field is the caller or, for teamField, one of their teams: the
// cases and follow-ups they work on. Other callers get filter as it is.
func ownFilter(ctx context.Context, filter, field, teamField string) string {
	id, ok := auth.FromContext(ctx)
	if !ok || id.SeesAll() {
		return filter
	}
	terms := []string{field + " = " + quote(id.Subject)}
	if teamField != "" {
		for _, t := range id.Teams {
			terms = append(terms, teamField+" = "+quote(t))
		}
	}
	own := "(" + strings.Join(terms, " OR ") + ")"
	if strings.TrimSpace(filter) == "" {
		return own
	}
	return "(" + filter + ") AND " + own
}

// quote is s as an AIP-160 string literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
