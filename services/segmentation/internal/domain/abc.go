package domain

import (
	"fmt"
	"math/big"
	"strconv"
)

// Class is a customer's ABC (Pareto) class.
type Class int

// The ABC classes. ClassUnspecified is the zero value and never the result
// of Classify.
const (
	ClassUnspecified Class = iota
	ClassA
	ClassB
	ClassC
)

// String returns "A", "B", "C" or "unspecified".
func (c Class) String() string {
	switch c {
	case ClassA:
		return "A"
	case ClassB:
		return "B"
	case ClassC:
		return "C"
	default:
		return "unspecified"
	}
}

// Default cut-offs: customers ranked above hold less than 70% of revenue for
// class A, less than 90% for class B.
const (
	DefaultClassACutoff = 0.7
	DefaultClassBCutoff = 0.9
)

// Cutoffs are the shares of revenue that separate the classes.
type Cutoffs struct {
	// A: a customer is class A when the customers ranked above hold less
	// than this share of revenue.
	A float64
	// B: otherwise class B when they hold less than this share.
	B float64
}

// DefaultCutoffs returns the 70% / 90% cut-offs.
func DefaultCutoffs() Cutoffs {
	return Cutoffs{A: DefaultClassACutoff, B: DefaultClassBCutoff}
}

// Validate requires 0 < A < B <= 1; anything else would make a class empty
// by construction or put every customer in one class.
func (c Cutoffs) Validate() error {
	if !(c.A > 0 && c.A < c.B && c.B <= 1) {
		return fmt.Errorf("abc cut-offs: want 0 < A < B <= 1, got A=%v B=%v", c.A, c.B)
	}
	return nil
}

// Standing is where a customer's trailing spend sits among all customers'
// trailing spend, in minor units of the reporting currency.
type Standing struct {
	// Spend is the customer's own trailing spend.
	Spend int64
	// Above is the sum of the trailing spend of the customers ranked above,
	// i.e. with strictly greater spend.
	Above int64
	// Total is the trailing spend of all customers.
	Total int64
}

// ShareAbove is Above / Total: the share of revenue held by the customers
// ranked above (0 when there is no revenue at all).
func (s Standing) ShareAbove() float64 {
	if s.Total <= 0 {
		return 0
	}
	share, _ := new(big.Rat).SetFrac(big.NewInt(s.Above), big.NewInt(s.Total)).Float64()
	return share
}

// Classify applies the Pareto rule to a customer's standing. Customers are
// ranked by trailing spend; the customer is class A when the customers
// ranked above hold less than c.A of the revenue, B when they hold less than
// c.B, and C otherwise and whenever the customer spent nothing.
//
// "Ranked above" means strictly greater spend, so customers with equal spend
// share one class: a tie never splits across a boundary by an arbitrary
// order such as id or insertion time.
//
// The comparison is exact: the cut-off is taken as the decimal it was
// written as (0.7 is 7/10, not the nearest binary fraction), so a customer
// whose predecessors hold exactly 70% is B, as the rule says.
func Classify(s Standing, c Cutoffs) Class {
	if s.Spend <= 0 || s.Total <= 0 {
		return ClassC
	}
	switch {
	case shareBelow(s.Above, s.Total, c.A):
		return ClassA
	case shareBelow(s.Above, s.Total, c.B):
		return ClassB
	default:
		return ClassC
	}
}

// shareBelow reports whether above/total < cutoff, exactly.
func shareBelow(above, total int64, cutoff float64) bool {
	limit := decimalRat(cutoff)
	if limit == nil {
		return false
	}
	share := new(big.Rat).SetFrac(big.NewInt(above), big.NewInt(total))
	return share.Cmp(limit) < 0
}

// decimalRat returns the shortest decimal that round-trips to f as an exact
// rational, which is the number a person meant when writing "0.7". It
// returns nil for NaN and infinities, which Cutoffs.Validate rejects.
func decimalRat(f float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok {
		return nil
	}
	return r
}
