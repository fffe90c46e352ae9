package domain

import (
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

// Spend is a customer's purchase history summed up.
type Spend struct {
	// Trailing is the spend inside the ranking window, in the reporting
	// currency, in minor units.
	Trailing int64
	// Lifetime is all spend ever in the reporting currency.
	Lifetime int64
	// Count counts every purchase, whatever its currency.
	Count int64
	// First and Last are the first and latest purchase times, whatever the
	// currency; zero when there is none.
	First, Last time.Time
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

// CustomerValue is what a customer is worth, computed at ComputeTime.
type CustomerValue struct {
	CustomerID string
	Class      Class
	// TrailingSpend and LifetimeSpend are in the reporting currency.
	TrailingSpend Money
	LifetimeSpend Money
	PurchaseCount int64
	// FirstPurchaseTime and LastPurchaseTime are zero without purchases.
	FirstPurchaseTime time.Time
	LastPurchaseTime  time.Time
	// RevenueShareAbove is the share of trailing revenue held by the
	// customers ranked above, which decided Class.
	RevenueShareAbove float64
	ComputeTime       time.Time
}

// NewCustomerValue combines a customer's spend and standing under a policy.
func NewCustomerValue(customerID string, spend Spend, st Standing, p Policy, now time.Time) CustomerValue {
	return CustomerValue{
		CustomerID:        customerID,
		Class:             Classify(st, p.Cutoffs),
		TrailingSpend:     Money{Currency: p.Currency, Minor: spend.Trailing},
		LifetimeSpend:     Money{Currency: p.Currency, Minor: spend.Lifetime},
		PurchaseCount:     spend.Count,
		FirstPurchaseTime: spend.First,
		LastPurchaseTime:  spend.Last,
		RevenueShareAbove: st.ShareAbove(),
		ComputeTime:       now,
	}
}

// ClassChanged is the domain event raised when a purchase moves its buyer to
// another class.
type ClassChanged struct {
	CustomerID string
	Old, New   Class
}
