package domain

import (
	"context"
	"time"
)

// Profile is what segments may filter on from the customer service's
// events; no personal data.
type Profile struct {
	CustomerID     string
	Kind           string
	Type           string
	LifecycleStage string
	OwnerID        string
	TeamID         string
	Tags           []string
	// Attributes by name: Text is the value as text, Number is set for
	// numeric attributes.
	Attributes map[string]Attribute
}

// Attribute is one custom attribute's value.
type Attribute struct {
	Text   string
	Number *float64
}

// DemandRow is one category's demand in one month.
type DemandRow struct {
	Category string
	// Month is year*12 + month-1.
	Month    int
	Quantity int64
	Revenue  int64
}

// Reader answers the questions the value rules ask of stored data.
type Reader interface {
	// CustomerExists reports whether the customer is registered.
	CustomerExists(ctx context.Context, customerID string) (bool, error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not (or is unknown).
	MergedInto(ctx context.Context, customerID string) (string, error)
	// Facts sums up one customer's purchases and returns; Trailing covers
	// w, spend is in w.Currency.
	Facts(ctx context.Context, customerID string, w Window) (Facts, error)
	// FactsOf is Facts for many customers at once, by customer id.
	FactsOf(ctx context.Context, customerIDs []string, w Window) (map[string]Facts, error)
	// Rankings returns the standing of customers who spent each of spends
	// in w: the sum of the spend in w of the customers who spent strictly
	// more, and the spend in w of all customers.
	Rankings(ctx context.Context, w Window, spends []int64) (map[int64]Standing, error)
	// Value returns the stored value of a customer; ok is false when none
	// was computed yet.
	Value(ctx context.Context, customerID string) (v Value, ok bool, err error)
	// CategorySpends returns a customer's spend per category in currency.
	CategorySpends(ctx context.Context, customerID, currency string) ([]CategorySpend, error)
	// SpendByCurrency returns a customer's lifetime spend net of refunds
	// in each currency paid in, by currency code, none converted.
	SpendByCurrency(ctx context.Context, customerID string) ([]Money, error)
	// CurrentFit returns the latest model fit; ok is false before the first.
	CurrentFit(ctx context.Context) (fit ModelFit, ok bool, err error)
	// RFMBounds returns the bounds of the last recompute (empty before it).
	RFMBounds(ctx context.Context) (RFMBounds, error)
	// Segments returns every segment (without member counts).
	Segments(ctx context.Context) ([]Segment, error)
}

// Tx is one storage transaction: every change made through it, the inbox
// mark and the published events commit or roll back together.
type Tx interface {
	Reader
	// MarkHandled records that consumer handled eventID and reports whether
	// this is the first time; on false the caller must change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// MarkHandledMany is MarkHandled for many events: it returns the ids
	// handled for the first time.
	MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (first map[string]bool, err error)
	// RegisterCustomer makes the customer known; registering a known
	// customer changes nothing.
	RegisterCustomer(ctx context.Context, customerID string, at time.Time) error
	// RegisterCustomers is RegisterCustomer for many customers, by id.
	RegisterCustomers(ctx context.Context, at map[string]time.Time) error
	// LockCustomers is LockMergedInto for many registered customers, taking
	// their locks in id order; unregistered ones are left out.
	LockCustomers(ctx context.Context, customerIDs []string) (mergedInto map[string]string, err error)
	// RecordPurchase stores a purchase and its lines and reports false,
	// changing nothing, when its interaction id is already stored.
	RecordPurchase(ctx context.Context, p Purchase) (recorded bool, err error)
	// RecordReturn stores a return likewise.
	RecordReturn(ctx context.Context, r Return) (recorded bool, err error)
	// RecordHistory stores many purchases and returns, returning the
	// interaction ids it stored (the others were stored before).
	RecordHistory(ctx context.Context, ps []Purchase, rs []Return) (recorded map[string]bool, err error)
	// Publish emits evs when the transaction commits.
	Publish(ctx context.Context, evs ...Event) error
	// LockMergedInto is MergedInto, holding the registered customer's row
	// against concurrent merges until the transaction ends.
	LockMergedInto(ctx context.Context, customerID string) (string, error)
	// MergeCustomer moves the purchases, returns, lines and profile of from
	// to to, marks from as merged into to, re-points the customers merged
	// into from at to, and drops from's value.
	MergeCustomer(ctx context.Context, from, to string) error
	// RecordErasure records that the customer's erasure reached this
	// service and drops the profile fields held for segments; recording it
	// again changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
	// PutProfiles replaces the profiles of distinct customers.
	PutProfiles(ctx context.Context, ps []Profile) error
	// PutValue stores a customer's value after a change to its history,
	// giving it a new version.
	PutValue(ctx context.Context, v Value) error
	// PutValues is PutValue for distinct customers.
	PutValues(ctx context.Context, vs []Value) error
	// UpdateValues stores the values of a recompute: each customer's only
	// where the stored value is still of the version its facts were read
	// with (Facts.Version; 0: where none is stored and the customer is
	// still registered and not merged away). It returns the previous class
	// and segment of the customers whose class or segment it changed.
	UpdateValues(ctx context.Context, vs []Value) (map[string]ClassAndSegment, error)
	// PutRFMBounds stores the bounds of a recompute.
	PutRFMBounds(ctx context.Context, b RFMBounds) error
	// PutFit stores a model fit, which becomes current.
	PutFit(ctx context.Context, f ModelFit) error
	// Matching returns which of the customers' values and profiles match
	// the segment's filter.
	Matching(ctx context.Context, seg Segment, customerIDs []string) (map[string]bool, error)
	// MatchingCustomers returns every customer matching the segment.
	MatchingCustomers(ctx context.Context, seg Segment) ([]string, error)
	// SegmentMembers returns every member of a segment.
	SegmentMembers(ctx context.Context, segmentID string) ([]string, error)
	// SetMembers adds (member true) or removes customers from a segment.
	SetMembers(ctx context.Context, segmentID string, customerIDs []string, member bool) error
	// IsMember reports whether the customer is in the segment.
	IsMember(ctx context.Context, segmentID, customerID string) (bool, error)
	// MembersAmong returns which of the customers are in the segment.
	MembersAmong(ctx context.Context, segmentID string, customerIDs []string) (map[string]bool, error)
	// CustomerSegments returns the segments a customer is in.
	CustomerSegments(ctx context.Context, customerID string) ([]string, error)
	// CreateSegment stores a new segment; ErrConflict when the name is
	// taken. A request id seen before returns that segment's id instead
	// (created false).
	CreateSegment(ctx context.Context, seg Segment, requestID string) (id string, created bool, err error)
	// UpdateSegment stores a changed segment (ErrConflict on a taken name).
	UpdateSegment(ctx context.Context, seg Segment) error
	// DeleteSegment removes a segment and its members.
	DeleteSegment(ctx context.Context, id string) error
	// Segment returns one segment with its member count, or ErrNotFound.
	Segment(ctx context.Context, id string) (Segment, error)
}

// Store is the service's storage.
type Store interface {
	Reader
	// InTx runs fn in one transaction, committing when it returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// CheckFilter compiles a segment filter, returning a validation error
	// naming segment.filter when it is not valid.
	CheckFilter(filter string) error
	// AllFacts sums up every registered customer not merged away, with
	// purchases up to and including the day of until; Trailing covers w.
	AllFacts(ctx context.Context, w Window, until time.Time) ([]Facts, error)
	// Values returns every stored value's customer, class and segment.
	Values(ctx context.Context) (map[string]ClassAndSegment, error)
	// TrailingSpends returns every stored value's trailing spend.
	TrailingSpends(ctx context.Context) ([]int64, error)
	// HasRevenue reports whether any purchase in w.Currency falls in w.
	HasRevenue(ctx context.Context, w Window) (bool, error)
	// Segment returns one segment with its member count, or ErrNotFound.
	Segment(ctx context.Context, id string) (Segment, error)
	// ListSegments returns up to limit segments after the name after.
	ListSegments(ctx context.Context, after string, limit int) ([]Segment, error)
	// IsMember reports whether the customer is in the segment.
	IsMember(ctx context.Context, segmentID, customerID string) (bool, error)
	// Members returns up to limit members of a segment after the customer
	// id after, in id order.
	Members(ctx context.Context, segmentID, after string, limit int) ([]string, error)
	// Demand returns monthly demand per category in currency, of one
	// category or all ("").
	Demand(ctx context.Context, category, currency string) ([]DemandRow, error)
}

// ClassAndSegment is the part of a value whose change is announced.
type ClassAndSegment struct {
	Class Class
	RFM   string
}
