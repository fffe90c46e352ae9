package domain

import (
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Money is an exact amount: an ISO 4217 code and integer minor units.
type Money struct {
	Currency string
	Minor    int64
}

// Purchase is one purchase as recorded by the interaction service.
type Purchase struct {
	// InteractionID identifies the purchase; recording it twice is a no-op.
	InteractionID string
	CustomerID    string
	Amount        Money
	OccurTime     time.Time
	// Lines are the products bought, for spend per category and demand.
	Lines []Line
}

// Line is one product line of a purchase or return.
type Line struct {
	Category string
	// Quantity is positive, also on a return (which subtracts it).
	Quantity int64
	// Amount is unit price times quantity, in the purchase's currency.
	Amount int64
}

// Return is (part of) a purchase returned: its refund is subtracted from
// the customer's spend, its lines from demand.
type Return struct {
	InteractionID         string
	CustomerID            string
	PurchaseInteractionID string
	Refund                Money
	OccurTime             time.Time
	Lines                 []Line
}

// Validate checks a return taken from an event, naming fields as the
// ReturnRecorded payload does.
func (r Return) Validate() error {
	var v validation.Violations
	if !IsID(r.InteractionID) {
		v.Add("interaction_id", "must be a UUID")
	}
	if !IsID(r.CustomerID) {
		v.Add("customer_id", "must be a UUID")
	}
	if !isCurrencyCode(r.Refund.Currency) {
		v.Add("refund.currency_code", "must be a three-letter ISO 4217 code")
	}
	if r.Refund.Minor < 0 {
		v.Add("refund.amount_minor", "must not be negative")
	}
	if r.OccurTime.IsZero() {
		v.Add("occur_time", "is required")
	}
	validateLines(&v, r.Lines)
	return v.Err()
}

func validateLines(v *validation.Violations, lines []Line) {
	for i, l := range lines {
		if l.Quantity <= 0 {
			v.Add("lines["+strconv.Itoa(i)+"].quantity", "must be positive")
		}
	}
}

// Validate checks a purchase taken from an event. Field names follow the
// PurchaseRecorded payload.
func (p Purchase) Validate() error {
	var v validation.Violations
	if !IsID(p.InteractionID) {
		v.Add("interaction_id", "must be a UUID")
	}
	if !IsID(p.CustomerID) {
		v.Add("customer_id", "must be a UUID")
	}
	if !isCurrencyCode(p.Amount.Currency) {
		v.Add("total.currency_code", "must be a three-letter ISO 4217 code")
	}
	if p.Amount.Minor < 0 {
		v.Add("total.amount_minor", "must not be negative")
	}
	if p.OccurTime.IsZero() {
		v.Add("occur_time", "is required")
	}
	validateLines(&v, p.Lines)
	return v.Err()
}

// ValidateCustomerID checks a customer id given as input.
func ValidateCustomerID(id string) error {
	var v validation.Violations
	if !IsID(id) {
		v.Add("customer_id", "must be a UUID")
	}
	return v.Err()
}

// IsID reports whether s is a UUID in its canonical 36-character form; the
// other forms uuid.Parse accepts (braces, urn:uuid:) would make one id
// spellable in several ways.
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Window is the closed interval of purchase times, [Since, Until], whose
// spend is ranked, in one currency. Both ends are inclusive so that, as of
// midnight on 1 July, a purchase dated 1 July of the year before is still
// inside "the trailing 12 months".
type Window struct {
	Currency string
	Since    time.Time
	Until    time.Time
}

// Policy says how customers are ranked: in which currency, over how long a
// trailing window, with which cut-offs.
type Policy struct {
	// Currency is the reporting currency. Purchases in other currencies
	// are stored and counted but not ranked, because adding amounts in
	// different currencies needs exchange rates this service does not have.
	Currency string
	// Window is the trailing period whose spend is ranked.
	Window  time.Duration
	Cutoffs Cutoffs
	// Zone is the company's time zone, whose calendar days and months
	// bucket purchases (the store's, see Facts.Zone); nil is UTC.
	Zone *time.Location
}

// Validate rejects a policy that cannot rank anyone.
func (p Policy) Validate() error {
	if !isCurrencyCode(p.Currency) {
		return validation.Violations{{Field: "currency", Description: "must be a three-letter ISO 4217 code"}}.Err()
	}
	if p.Window <= 0 {
		return validation.Violations{{Field: "window", Description: "must be positive"}}.Err()
	}
	if err := p.Cutoffs.Validate(); err != nil {
		return validation.Violations{{Field: "cutoffs", Description: err.Error()}}.Err()
	}
	return nil
}

// WindowAt returns the ranking window ending at now.
func (p Policy) WindowAt(now time.Time) Window {
	return Window{Currency: p.Currency, Since: now.Add(-p.Window), Until: now}
}

// Value is a customer's stored value: the facts and what was computed
// from them at ComputeTime.
type Value struct {
	Facts
	Class      Class
	ShareAbove float64
	RFM        RFM
	// Predicted is false before the first model fit and for customers
	// without purchases.
	Predicted   bool
	Prediction  Prediction
	ComputeTime time.Time
}

// CategorySpend is spend and quantity in one product category, net of
// returns, in the reporting currency.
type CategorySpend struct {
	Category string
	Quantity int64
	Spend    int64
}

// CustomerValue is what a customer is worth, computed at ComputeTime.
type CustomerValue struct {
	CustomerID string
	Class      Class
	// TrailingSpend and LifetimeSpend are in the reporting currency, net
	// of refunds.
	TrailingSpend Money
	LifetimeSpend Money
	Refunds       Money
	PurchaseCount int64
	PurchaseDays  int64
	// FirstPurchaseTime and LastPurchaseTime are zero without purchases.
	FirstPurchaseTime time.Time
	LastPurchaseTime  time.Time
	// RevenueShareAbove is the share of trailing revenue held by the
	// customers ranked above, which decided Class.
	RevenueShareAbove float64
	RFM               RFM
	Predicted         bool
	Prediction        Prediction
	CategorySpends    []CategorySpend
	ComputeTime       time.Time
	// SpendByCurrency is the lifetime spend net of refunds in each
	// currency the customer paid in, none converted: the spends above are
	// the reporting currency's alone.
	SpendByCurrency []Money
}

// NewCustomerValue presents a stored value in the reporting currency.
func NewCustomerValue(v Value, p Policy, cats []CategorySpend) CustomerValue {
	return CustomerValue{
		CustomerID:        v.CustomerID,
		Class:             v.Class,
		TrailingSpend:     Money{Currency: p.Currency, Minor: v.Trailing},
		LifetimeSpend:     Money{Currency: p.Currency, Minor: v.Lifetime},
		Refunds:           Money{Currency: p.Currency, Minor: v.Refunds},
		PurchaseCount:     v.PurchaseCount,
		PurchaseDays:      v.PurchaseDays,
		FirstPurchaseTime: v.First,
		LastPurchaseTime:  v.Last,
		RevenueShareAbove: v.ShareAbove,
		RFM:               v.RFM,
		Predicted:         v.Predicted,
		Prediction:        v.Prediction,
		CategorySpends:    cats,
		ComputeTime:       v.ComputeTime,
	}
}

// ClassChanged is the domain event raised when a customer's ABC class or
// RFM segment changes.
type ClassChanged struct {
	CustomerID     string
	Old, New       Class
	OldRFM, NewRFM string
}
