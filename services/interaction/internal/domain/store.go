package domain

import (
	"context"
	"time"
)

// Customers asks the customer service, which owns customers, about one.
type Customers interface {
	// Resolve returns the id interactions with customer id are kept under:
	// id itself, or the survivor's id when id was merged into another
	// customer. It returns a *CustomerNotFoundError for an unknown customer,
	// a *CustomerErasedError for an erased one, and an error wrapping
	// ErrUnavailable when the customer service cannot be reached.
	Resolve(ctx context.Context, id string) (string, error)
}

// Directory finds customers by phone and creates prospects, for events
// that name a caller rather than a customer.
type Directory interface {
	// FindByPhone returns the id of the customer with the E.164 phone; ""
	// when there is none. Errors wrap ErrUnavailable when the customer
	// service cannot be reached.
	FindByPhone(ctx context.Context, phone string) (string, error)
	// CreateProspect creates a prospect with the phone and name and returns
	// its id; creating twice for one phone returns the first one.
	CreateProspect(ctx context.Context, phone, name string) (string, error)
}

// TimelineQuery selects a page of a customer's timeline.
type TimelineQuery struct {
	CustomerID string
	// Filter is an AIP-160 filter on channel, kind, direction, agent_id,
	// case_id and occur_time; the store reports a bad one as a
	// *validation.Error.
	Filter string
	After  *Cursor
	Limit  int
}

// IdempotencyKey identifies a repeated report: by the caller's request id,
// or by the reporting system's (Source, SourceID). Empty parts are unused.
type IdempotencyKey struct {
	RequestID string
	Source    string
	SourceID  string
}

// Cursor is a position in a customer's timeline, which is ordered by
// (OccurTime desc, ID desc): a page after the cursor holds older entries.
type Cursor struct {
	OccurTime time.Time
	ID        string
}

// Store keeps interactions.
type Store interface {
	// InTx runs fn in one transaction: what fn writes and publishes is
	// committed together or not at all.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// FindByKey returns the interaction recorded under key's request id,
	// else under its (source, source_id); ErrNotFound when there is none.
	FindByKey(ctx context.Context, key IdempotencyKey) (Interaction, error)
	// ListByCustomer returns up to limit interactions of a customer, newest
	// first, after the cursor when it is not nil.
	ListByCustomer(ctx context.Context, customerID string, after *Cursor, limit int) ([]Interaction, error)
	// Timeline returns up to q.Limit interactions of q.CustomerID matching
	// q.Filter, newest first, after q.After.
	Timeline(ctx context.Context, q TimelineQuery) ([]Interaction, error)
	// FindBySourceKeys returns what was recorded under each of the keys
	// that are taken.
	FindBySourceKeys(ctx context.Context, keys []SourceKey) (map[SourceKey]Recorded, error)
	// FindOrders returns the purchase recorded under each of the order
	// keys that are taken.
	FindOrders(ctx context.Context, keys []OrderKey) (map[OrderKey]RecordedOrder, error)
	// ResolveCustomers follows the known merges of each id to its
	// survivor and reports which survivors were erased.
	ResolveCustomers(ctx context.Context, ids []string) (survivors map[string]string, erased map[string]bool, err error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not.
	MergedInto(ctx context.Context, customerID string) (string, error)
	CaseStore
	FollowupStore
}

// Tx is the write side of Store inside one transaction.
type Tx interface {
	CaseTx
	FollowupTx
	// Insert stores new interactions, each under its key and, for a
	// purchase, its OrderKey; ErrDuplicate when a key (request id, source
	// pair or order) is already taken, and then none is stored.
	Insert(ctx context.Context, ins ...Keyed) error
	// InsertBatch stores new interactions, keyed by their source pairs
	// (and purchases by their OrderKey), in bulk; ErrDuplicate when one of
	// the keys is already taken (the whole batch then fails).
	InsertBatch(ctx context.Context, ins []Interaction) error
	// Publish emits events that are delivered if and only if the
	// transaction commits (transactional outbox).
	Publish(ctx context.Context, evs ...Event) error
	// MarkHandled records that consumer handled eventID and reports whether
	// this is the first time; on false the caller must change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// MergedInto is Store.MergedInto inside the transaction.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// MergeCustomer moves the timeline of m.MergedID to m.SurvivorID,
	// remembers the merge, and re-points the customers merged into the
	// merged one at the survivor.
	MergeCustomer(ctx context.Context, m Merge) error
	// EraseCustomer removes from every interaction of the customer what
	// Erasure says is personal, and remembers the customer as erased
	// (recording it again changes nothing). It returns how many
	// interactions it anonymized.
	EraseCustomer(ctx context.Context, e Erasure, recordTime time.Time) (int64, error)
}

// Keyed is an interaction to store under its idempotency key.
type Keyed struct {
	Interaction Interaction
	Key         IdempotencyKey
}

// CaseQuery selects a page of cases, newest first.
type CaseQuery struct {
	// Filter is an AIP-160 filter (see ListCasesRequest); the store reports
	// a bad one as a *validation.Error.
	Filter string
	// CustomerID and OpenOnly narrow the cases further when set.
	CustomerID string
	OpenOnly   bool
	After      *Cursor // by create time and id
	Limit      int
}

// CaseStore reads cases, their comments, SLA policies, calendars and
// teams.
type CaseStore interface {
	GetCase(ctx context.Context, id string) (Case, error)
	// FindCaseByRequest returns the case created under the request id.
	FindCaseByRequest(ctx context.Context, requestID string) (Case, error)
	ListCases(ctx context.Context, q CaseQuery) ([]Case, error)
	// DueCases returns up to limit open, unpaused cases with a target
	// due by now that is not yet marked breached.
	DueCases(ctx context.Context, now time.Time, limit int) ([]Case, error)
	ListComments(ctx context.Context, caseID string) ([]Comment, error)
	GetCalendar(ctx context.Context, id string) (BusinessCalendar, error)
	// FindSLAPolicy returns the policy for the priority and class, else
	// the one for the priority and any class; ErrNotFound when neither.
	FindSLAPolicy(ctx context.Context, p Priority, class string) (SLAPolicy, error)
	ListSLAPolicies(ctx context.Context) ([]SLAPolicy, error)
	GetTeam(ctx context.Context, id string) (Team, error)
	GetInteraction(ctx context.Context, id string) (Interaction, error)
	GetSurvey(ctx context.Context, id string) (Survey, error)
}

// CaseTx writes cases and what belongs to them inside a transaction.
type CaseTx interface {
	// LockCase reads a case for update.
	LockCase(ctx context.Context, id string) (Case, error)
	// InsertCase stores a new case and gives it the next case number;
	// ErrDuplicate when the request id is taken.
	InsertCase(ctx context.Context, c *Case, requestID string) error
	UpdateCase(ctx context.Context, c Case) error
	InsertComment(ctx context.Context, c Comment) error
	// PutCalendar stores a calendar, replacing one with the same id.
	PutCalendar(ctx context.Context, c BusinessCalendar) error
	// InsertSLAPolicy stores a policy; ErrConflict when one exists for its
	// priority and class.
	InsertSLAPolicy(ctx context.Context, p SLAPolicy) error
	// PutTeam stores a team, replacing one with the same id.
	PutTeam(ctx context.Context, t Team) error
	// LinkInteraction puts an interaction on a case.
	LinkInteraction(ctx context.Context, interactionID, caseID string) error
	InsertSurvey(ctx context.Context, s Survey) error
	// LockSurvey reads a survey for update.
	LockSurvey(ctx context.Context, id string) (Survey, error)
	UpdateSurvey(ctx context.Context, s Survey) error
}

// FollowupQuery selects follow-ups, soonest due first.
type FollowupQuery struct {
	// Filter is an AIP-160 filter on agent_id, customer_id, status, reason
	// and due_time.
	Filter      string
	CustomerID  string
	PendingOnly bool
	After       *Cursor // by due time and id
	Limit       int
}

// SurveyQuery selects answered surveys.
type SurveyQuery struct {
	Kind       string
	Start, End time.Time // zero for no bound
}

// FollowupStore reads surveys, follow-up rules and follow-ups.
type FollowupStore interface {
	AnsweredSurveys(ctx context.Context, q SurveyQuery) ([]Survey, error)
	ListFollowupRules(ctx context.Context) ([]FollowupRule, error)
	ListFollowups(ctx context.Context, q FollowupQuery) ([]Followup, error)
	// DueFollowups returns up to limit scheduled follow-ups due by now.
	DueFollowups(ctx context.Context, now time.Time, limit int) ([]Followup, error)
	GetFollowup(ctx context.Context, id string) (Followup, error)
}

// FollowupTx writes follow-up rules and follow-ups.
type FollowupTx interface {
	InsertFollowupRule(ctx context.Context, r FollowupRule) error
	InsertFollowups(ctx context.Context, fs []Followup) error
	LockFollowup(ctx context.Context, id string) (Followup, error)
	UpdateFollowup(ctx context.Context, f Followup) error
}
