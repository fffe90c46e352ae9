package domain

import (
	"regexp"
	"slices"
)

// Kind is a kind of message: what triggers it and which variables its
// templates may use. The built-in kinds are the triggers the service
// knows; any other valid name is a campaign's own kind, a marketing one.
type Kind struct {
	Name    string
	Purpose Purpose
	// Agent kinds go to an agent, not to a customer.
	Agent bool
	// Variables are the names a template of the kind may use.
	Variables []string
	// Required are variables every template of the kind must use (a
	// survey invitation without the survey link is no invitation).
	Required []string
	// CapExempt kinds answer something the customer did (a resolved
	// complaint) and do not count against, nor stop at, frequency caps.
	CapExempt bool
	// Dated kinds greet the customer on a day ("today is member day"):
	// they go out on that day in the customer's time zone or not at all
	// (see Message.DayEnds).
	Dated bool
}

// The built-in kinds.
const (
	KindWelcome          = "welcome"
	KindBirthday         = "birthday"
	KindHoliday          = "holiday"
	KindMemberDay        = "member_day"
	KindTierChanged      = "tier_changed"
	KindPointsExpiring   = "points_expiring"
	KindCaseResolved     = "case_resolved"
	KindSurveyInvitation = "survey_invitation"
	KindFollowupDue      = "followup_due"
	KindCaseEscalated    = "case_escalated"
	KindWinBack          = "win_back"
)

// TemplateWelcome is the kind of the message every new customer gets.
const TemplateWelcome = KindWelcome

// Variables every customer kind provides.
const (
	VarName           = "name"
	VarUnsubscribeURL = "unsubscribe_url"
)

var customerVars = []string{VarName, VarUnsubscribeURL}

// Variables of agent notices about a customer: the customer's id, their
// name as the service knows it (empty while it does not), and a link to
// their record on the REST edge.
const (
	VarCustomerID   = "customer_id"
	VarCustomerName = "customer_name"
	VarCustomerURL  = "customer_url"
)

var builtinKinds = map[string]Kind{
	KindWelcome:          {Name: KindWelcome, Purpose: PurposeService, Variables: customerVars},
	KindBirthday:         {Name: KindBirthday, Purpose: PurposeService, Dated: true, Variables: customerVars},
	KindHoliday:          {Name: KindHoliday, Purpose: PurposeService, Dated: true, Variables: append(slices.Clone(customerVars), "holiday_name")},
	KindMemberDay:        {Name: KindMemberDay, Purpose: PurposeMarketing, Dated: true, Variables: append(slices.Clone(customerVars), "member_day_name", "program_id")},
	KindTierChanged:      {Name: KindTierChanged, Purpose: PurposeService, Variables: append(slices.Clone(customerVars), "tier_name", "tier_code", "program_id"), Required: []string{"tier_name"}},
	KindPointsExpiring:   {Name: KindPointsExpiring, Purpose: PurposeService, Variables: append(slices.Clone(customerVars), "points", "expire_date", "points_balance"), Required: []string{"points"}},
	KindCaseResolved:     {Name: KindCaseResolved, Purpose: PurposeService, CapExempt: true, Variables: append(slices.Clone(customerVars), "case_number", "case_subject", "resolution"), Required: []string{"case_number"}},
	KindSurveyInvitation: {Name: KindSurveyInvitation, Purpose: PurposeService, CapExempt: true, Variables: append(slices.Clone(customerVars), "case_number", "survey_url"), Required: []string{"survey_url"}},
	KindFollowupDue:      {Name: KindFollowupDue, Purpose: PurposeService, Agent: true, CapExempt: true, Variables: []string{"agent_id", VarCustomerID, VarCustomerName, VarCustomerURL, "reason", "due_time", "note"}, Required: []string{VarCustomerID}},
	KindCaseEscalated: {Name: KindCaseEscalated, Purpose: PurposeService, Agent: true, CapExempt: true, Variables: []string{"agent_id",
		VarCustomerID, VarCustomerName, VarCustomerURL, "case_id", "case_number", "case_subject", "priority", "why", "cause", "target",
		"reason", "escalated_by", "assignee_id", "team_id"}, Required: []string{"case_number"}},
	KindWinBack: {Name: KindWinBack, Purpose: PurposeMarketing, Variables: customerVars},
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// LookupKind returns the kind named name: a built-in one, or a campaign
// kind (marketing, customer variables) for any other valid name.
func LookupKind(name string) (Kind, bool) {
	if k, ok := builtinKinds[name]; ok {
		return k, true
	}
	if !kindName.MatchString(name) {
		return Kind{}, false
	}
	return Kind{Name: name, Purpose: PurposeMarketing, Variables: customerVars}, true
}

// PurposeOf returns the purpose of kind name.
func PurposeOf(name string) Purpose {
	k, ok := LookupKind(name)
	if !ok {
		return PurposeMarketing
	}
	return k.Purpose
}

// Provides reports whether the kind has variable v.
func (k Kind) Provides(v string) bool { return slices.Contains(k.Variables, v) }

// RequiredFor returns the variables a template of k on ch must use:
// marketing email must carry its unsubscribe link.
func (k Kind) RequiredFor(ch Channel) []string {
	req := slices.Clone(k.Required)
	if k.Purpose == PurposeMarketing && ch == ChannelEmail {
		req = append(req, VarUnsubscribeURL)
	}
	return req
}
