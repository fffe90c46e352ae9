package domain

import (
	"math/big"

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
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0,
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

// minorPerUnit is 10^exponent of the currency, as a big integer.
func minorPerUnit(code string) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(MinorUnitExponent(code))), nil)
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

func checkCurrency(vs *validation.Violations, field, code string) {
	if !isCurrencyCode(code) {
		vs.Add(field, "must be a three-letter ISO 4217 code")
	}
}
