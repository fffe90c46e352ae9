package domain

import (
	"math"
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// Facts are a customer's purchase history summed up: the read model built
// from purchase and return events, from which every value is computed.
// Money is in minor units of the reporting currency; counts and times
// cover purchases in any currency. Days are calendar days in Zone.
type Facts struct {
	CustomerID string
	// PurchaseCount counts purchases; PurchaseDays the days with one
	// (the models' transactions).
	PurchaseCount, PurchaseDays int64
	// SpendDays are the days with a purchase in the reporting currency:
	// the days whose spend is known, which average spend divides by. A
	// day paid only in another currency is a transaction, but its spend
	// is not added, so it must not be counted as a day of zero spend.
	SpendDays int64
	// First and Last are the first and latest purchase; zero without any.
	First, Last time.Time
	// Lifetime and Trailing are spend net of refunds, all time and in
	// the trailing window.
	Lifetime, Trailing int64
	// Refunds are the refunds of returns, all time.
	Refunds int64
	// RepeatSpend is the spend on spend days after the first, before
	// refunds: the Gamma-Gamma model's repeat transactions.
	RepeatSpend int64
	// Version is the version of the customer's stored value these facts
	// were read with (AllFacts; 0 when none was stored): a recompute
	// writes the customer's value only while the stored one is still of
	// this version, so it never overwrites an event's newer update.
	Version int64
	// Zone is the time zone whose calendar days bucket the purchases (the
	// store's); nil is UTC.
	Zone *time.Location
}

// Day is the day number of t's calendar day in zone (nil: UTC), counted
// from 1970-01-01: purchases on one day are one transaction for the
// models, and a day is the company's, not UTC's (a purchase at 23:30 in
// Shanghai is on that day, not the next).
func Day(t time.Time, zone *time.Location) int64 {
	if zone == nil {
		zone = time.UTC
	}
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // a multiple of 86400
}

// DayStart is when t's calendar day in zone (nil: UTC) begins.
func DayStart(t time.Time, zone *time.Location) time.Time {
	if zone == nil {
		zone = time.UTC
	}
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

// MonthIndex is year*12 + month-1 of t's calendar month in zone (nil: UTC).
func MonthIndex(t time.Time, zone *time.Location) int {
	if zone == nil {
		zone = time.UTC
	}
	t = t.In(zone)
	return t.Year()*12 + int(t.Month()) - 1
}

// History is the customer's history for the models, observed up to and
// including the day of until, with values in major units (minor / scale).
// The inputs are guarded at their boundaries: observation never ends
// before the last purchase (a purchase stamped after until, from a clock
// ahead of ours, is observed up to itself), and the mean spend is over the
// spend days only, 0 without a repeat one, never negative.
func (f Facts) History(until time.Time, scale float64) model.History {
	if f.PurchaseDays == 0 {
		return model.History{}
	}
	h := model.NewHistory(int(f.PurchaseDays), Day(f.First, f.Zone), Day(f.Last, f.Zone), max(Day(until, f.Zone), Day(f.Last, f.Zone)), 0)
	if repeat := f.SpendDays - 1; repeat > 0 && f.RepeatSpend > 0 && scale > 0 {
		h.MeanValue = float64(f.RepeatSpend) / scale / float64(repeat)
	}
	h.Spends = int(max(f.SpendDays-1, 0))
	return h
}

// RFM names and scores.

// The RFM segment names.
const (
	RFMChampions          = "champions"
	RFMLoyal              = "loyal"
	RFMPotentialLoyalists = "potential_loyalists"
	RFMNewCustomers       = "new_customers"
	RFMPromising          = "promising"
	RFMNeedAttention      = "need_attention"
	RFMAboutToSleep       = "about_to_sleep"
	RFMAtRisk             = "at_risk"
	RFMCannotLoseThem     = "cannot_lose_them"
	RFMHibernating        = "hibernating"
	RFMLost               = "lost"
)

// RFMSegments lists the segment names.
func RFMSegments() []string {
	return []string{RFMChampions, RFMLoyal, RFMPotentialLoyalists, RFMNewCustomers, RFMPromising,
		RFMNeedAttention, RFMAboutToSleep, RFMAtRisk, RFMCannotLoseThem, RFMHibernating, RFMLost}
}

// RFM is a customer's recency, frequency and monetary scores, 1 to 5 (0
// when the customer has no purchase), and the named segment.
type RFM struct {
	R, F, M int
	Segment string
}

// Quintiles are the lower bounds of scores 2 to 5 of one measure: a value
// scores 1 plus the number of bounds it reaches. Empty until a population
// has been scored.
type Quintiles []float64

// unreachable is the bound of a score no value reaches (JSON has no +Inf).
const unreachable = math.MaxFloat64

// NewQuintiles computes the bounds from the values of a population so
// that a value scores k+1 when at least k fifths of the population is
// strictly below it. Equal values share the lower score: when most
// customers bought once, they all have frequency 1, not some 1 and some 3
// by an arbitrary order.
func NewQuintiles(values []float64) Quintiles {
	if len(values) == 0 {
		return nil
	}
	s := slices.Clone(values)
	slices.Sort(s)
	n := float64(len(s))
	q := make(Quintiles, 4)
	i := 0
	for k := range q {
		need := float64(k+1) * n / 5
		// The first value with at least need values strictly below it
		// starts a group of equal values at an index >= need.
		for i < len(s) && (float64(i) < need || (i > 0 && s[i] == s[i-1])) {
			i++
		}
		if i < len(s) {
			q[k] = s[i]
		} else {
			q[k] = unreachable
		}
	}
	return q
}

// Score returns 1 to 5, or 0 without bounds.
func (q Quintiles) Score(v float64) int {
	if len(q) == 0 {
		return 0
	}
	score := 1
	for _, b := range q {
		if v >= b {
			score++
		}
	}
	return score
}

// RFMBounds are the quintiles of the three measures over the customers
// with purchases, as of the last full recompute.
type RFMBounds struct {
	// Recency is over the day of the last purchase (later is better), so
	// the bounds stay meaningful between recomputes.
	Recency, Frequency, Monetary Quintiles
	// ABC are the recompute's class boundaries, for the same use.
	ABC         ABCBounds
	ComputeTime time.Time
}

// NewRFMBounds computes the bounds over the facts with purchases.
func NewRFMBounds(facts []Facts, now time.Time) RFMBounds {
	var r, f, m []float64
	for _, x := range facts {
		if x.PurchaseCount == 0 {
			continue
		}
		r = append(r, float64(Day(x.Last, x.Zone)))
		f = append(f, float64(x.PurchaseDays))
		m = append(m, float64(x.Lifetime))
	}
	return RFMBounds{Recency: NewQuintiles(r), Frequency: NewQuintiles(f), Monetary: NewQuintiles(m), ComputeTime: now}
}

// Score scores a customer's facts; a customer without purchases has no
// scores and no segment.
func (b RFMBounds) Score(f Facts) RFM {
	if f.PurchaseCount == 0 || len(b.Recency) == 0 {
		return RFM{}
	}
	r := RFM{
		R: b.Recency.Score(float64(Day(f.Last, f.Zone))),
		F: b.Frequency.Score(float64(f.PurchaseDays)),
		M: b.Monetary.Score(float64(f.Lifetime)),
	}
	r.Segment = RFMSegment(r.R, r.F, r.M)
	return r
}

// RFMSegment names the segment of recency score r against the mean of
// the frequency and monetary scores, on the usual R x FM grid.
func RFMSegment(r, f, m int) string {
	fm := (f + m + 1) / 2 // rounded half up
	switch {
	case r == 0:
		return ""
	case r <= 2 && fm <= 2:
		if r == 1 && fm == 1 {
			return RFMLost
		}
		return RFMHibernating
	case r <= 2 && fm <= 4:
		return RFMAtRisk
	case r <= 2:
		return RFMCannotLoseThem
	case r == 3 && fm <= 2:
		return RFMAboutToSleep
	case r == 3 && fm == 3:
		return RFMNeedAttention
	case r == 5 && fm >= 4:
		return RFMChampions
	case fm >= 4:
		return RFMLoyal
	case fm >= 2:
		return RFMPotentialLoyalists
	case r == 5:
		return RFMNewCustomers
	default:
		return RFMPromising
	}
}
