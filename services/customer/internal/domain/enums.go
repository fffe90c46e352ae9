package domain

import "strconv"

// CustomerType tells people from organizations.
type CustomerType int

// The customer types. The zero value of each enum in this file is what a
// caller sends when it does not say; normalization turns it into the
// default.
const (
	TypeUnspecified CustomerType = iota
	TypePerson
	TypeOrganization
)

var typeNames = []string{"unspecified", "person", "organization"}

// String returns the lowercase name of t, which is also its stored form.
func (t CustomerType) String() string { return enumName(typeNames, int(t), "CustomerType") }

// Kind is the customer's role towards the company.
type Kind int

// The kinds.
const (
	KindUnspecified Kind = iota
	KindEndCustomer
	KindDistributor
	KindSupplier
	KindPartner
	KindProspect
	KindStakeholder
)

var kindNames = []string{"unspecified", "end_customer", "distributor", "supplier", "partner", "prospect", "stakeholder"}

// String returns the lowercase name of k, which is also its stored form.
func (k Kind) String() string { return enumName(kindNames, int(k), "Kind") }

// Stage is where the customer is in the relationship.
type Stage int

// The lifecycle stages.
const (
	StageUnspecified Stage = iota
	StageProspect
	StageActive
	StageAtRisk
	StageLapsed
	StageWonBack
)

var stageNames = []string{"unspecified", "prospect", "active", "at_risk", "lapsed", "won_back"}

// String returns the lowercase name of s, which is also its stored form.
func (s Stage) String() string { return enumName(stageNames, int(s), "Stage") }

var stateNames = []string{"", "active", "deleted", "erased", "merged"}

// String returns the lowercase name of s, which is also its stored form.
func (s State) String() string { return enumName(stateNames, int(s), "State") }

// ParseType, ParseKind, ParseStage and ParseState read the stored names.
func ParseType(s string) (CustomerType, bool) { return parseEnum[CustomerType](typeNames, s) }

// ParseKind reads a stored kind name.
func ParseKind(s string) (Kind, bool) { return parseEnum[Kind](kindNames, s) }

// ParseStage reads a stored stage name.
func ParseStage(s string) (Stage, bool) { return parseEnum[Stage](stageNames, s) }

// ParseState reads a stored state name.
func ParseState(s string) (State, bool) { return parseEnum[State](stateNames, s) }

// KindNames and StageNames are the valid names, for filters and messages.
func KindNames() []string { return kindNames[1:] }

// StageNames lists the valid stage names.
func StageNames() []string { return stageNames[1:] }

// TypeNames lists the valid type names.
func TypeNames() []string { return typeNames[1:] }

func enumName(names []string, v int, typ string) string {
	if v > 0 && v < len(names) || v == 0 && names[0] != "" {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(v) + ")"
}

func parseEnum[T ~int](names []string, s string) (T, bool) {
	for i, n := range names {
		if i > 0 && n == s {
			return T(i), true
		}
	}
	return 0, false
}
