package domain

import (
	"fmt"
	"math/big"
	"sort"
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

// ABCBounds are where the last full recompute's ranking put the class
// boundaries, so that an event can classify its customer in constant time
// between recomputes, as RFM scores against the recompute's quintiles: a
// customer is class A from trailing spend A up, B from B up, C below (and
// whenever the spend is not positive). Bounds with no revenue (Total 0:
// no recompute yet, or one before the first purchase) are not set, and
// the customer is ranked live against everyone instead.
type ABCBounds struct {
	// A is the least trailing spend ranked class A; B the least ranked A
	// or B (A when class B was empty).
	A, B int64
	// Total is the trailing revenue ranked.
	Total int64
	// Curve samples the ranking, spend descending. It always holds the
	// highest and lowest positive spend and the two boundaries; with at
	// most MaxCurvePoints distinct spends it holds every one, and
	// ShareAbove is exact.
	Curve []CurvePoint `json:",omitempty"`
}

// CurvePoint is one spend level of the ranking: the revenue of the
// customers who spent more than Spend (Above) and of those who spent
// exactly Spend (At).
type CurvePoint struct {
	Spend, Above, At int64
}

// MaxCurvePoints is about how many points ABCBounds keeps of the ranking.
const MaxCurvePoints = 256

// Set reports whether the bounds come from a ranking with revenue.
func (b ABCBounds) Set() bool { return b.Total > 0 && b.A > 0 && b.B > 0 }

// Classify returns the class of a customer who spent spend, by the bounds.
func (b ABCBounds) Classify(spend int64) Class {
	switch {
	case spend <= 0 || !b.Set():
		return ClassC
	case spend >= b.A:
		return ClassA
	case spend >= b.B:
		return ClassB
	default:
		return ClassC
	}
}

// ShareAbove is the share of the ranked revenue held by the customers who
// spent more than spend, read off the curve: exact at a sampled spend
// level, interpolated between the two levels around spend otherwise.
func (b ABCBounds) ShareAbove(spend int64) float64 {
	if b.Total <= 0 || len(b.Curve) == 0 {
		return 0
	}
	// The curve descends: i is the first level at or below spend.
	i := sort.Search(len(b.Curve), func(i int) bool { return b.Curve[i].Spend <= spend })
	var above int64
	switch {
	case i == 0:
		return 0 // at or above the top spender
	case i == len(b.Curve):
		above = b.Total // below every spender
	case b.Curve[i].Spend == spend:
		above = b.Curve[i].Above
	default:
		// Above spend: at least everyone from the level above it up,
		// at most everyone above the level below it.
		hi, lo := b.Curve[i-1], b.Curve[i]
		least, most := hi.Above+hi.At, lo.Above
		frac := float64(spend-lo.Spend) / float64(hi.Spend-lo.Spend)
		above = most - int64(frac*float64(most-least))
	}
	return Standing{Above: above, Total: b.Total}.ShareAbove()
}

// NewABCBounds returns the bounds of a ranking: spends and the classes
// Rank gave them.
func NewABCBounds(spends []int64, classes []Class) ABCBounds {
	var b ABCBounds
	levels := map[int64]int64{} // positive spend -> revenue at that spend
	for i, s := range spends {
		if s <= 0 {
			continue
		}
		b.Total += s
		levels[s] += s
		switch classes[i] {
		case ClassA:
			if b.A == 0 || s < b.A {
				b.A = s
			}
			fallthrough
		case ClassB:
			if b.B == 0 || s < b.B {
				b.B = s
			}
		}
	}
	if b.Total == 0 {
		return ABCBounds{}
	}
	desc := make([]int64, 0, len(levels))
	for s := range levels {
		desc = append(desc, s)
	}
	sort.Slice(desc, func(i, j int) bool { return desc[i] > desc[j] })
	step := max(1, (len(desc)+MaxCurvePoints-1)/MaxCurvePoints)
	var above int64
	for i, s := range desc {
		if i%step == 0 || i == len(desc)-1 || s == b.A || s == b.B {
			b.Curve = append(b.Curve, CurvePoint{Spend: s, Above: above, At: levels[s]})
		}
		above += levels[s]
	}
	return b
}
