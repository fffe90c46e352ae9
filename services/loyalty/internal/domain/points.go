package domain

import (
	"fmt"
	"math"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Money is an exact amount: an ISO 4217 currency code and an integer number
// of the currency's minor units.
type Money struct {
	CurrencyCode string
	AmountMinor  int64
}

// minorUnitExponents lists the ISO 4217 currencies whose minor unit is not
// the hundredth; every other currency has two decimals.
var minorUnitExponents = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0,
	"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}

// MinorUnitExponent returns how many decimals currency code has: 12850 CNY
// minor units (exponent 2) is 128.50 yuan, 12850 JPY (exponent 0) is 12850 yen.
func MinorUnitExponent(code string) int {
	if e, ok := minorUnitExponents[code]; ok {
		return e
	}
	return 2
}

// WholeUnits returns the amount rounded down to whole currency units.
// Non-positive amounts have no whole units.
func (m Money) WholeUnits() int64 {
	if m.AmountMinor <= 0 {
		return 0
	}
	div := int64(1)
	for range MinorUnitExponent(m.CurrencyCode) {
		div *= 10
	}
	return m.AmountMinor / div
}

// PointsForPurchase returns the points a purchase of total earns: whole
// currency units times pointsPerUnit, so 128.50 CNY at one point per unit
// earns 128. Zero and negative totals (and fractions of a unit) earn
// nothing; returns are handled separately.
func PointsForPurchase(total Money, pointsPerUnit int64) (int64, error) {
	units := total.WholeUnits()
	if units == 0 || pointsPerUnit <= 0 {
		return 0, nil
	}
	if units > math.MaxInt64/pointsPerUnit {
		return 0, fmt.Errorf("points for %d units: %w", units, ErrPointsOverflow)
	}
	return units * pointsPerUnit, nil
}

// Purchase is what the loyalty service needs to know of a recorded
// purchase.
type Purchase struct {
	InteractionID string
	CustomerID    string
	Total         Money
}

// Validate checks the purchase, naming fields as the PurchaseRecorded event
// does.
func (p Purchase) Validate() error {
	var vs validation.Violations
	if p.InteractionID == "" {
		vs.Add("interaction_id", "is required")
	}
	checkUUID(&vs, "customer_id", p.CustomerID)
	if !isCurrencyCode(p.Total.CurrencyCode) {
		vs.Add("total.currency_code", "must be a three-letter ISO 4217 code")
	}
	return vs.Err()
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
