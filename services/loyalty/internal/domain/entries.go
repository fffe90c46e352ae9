package domain

import (
	"fmt"
	"time"
)

// Ledger builds the entries that change members' points in one program.
// It holds the arithmetic of the ledger (signs, pending periods, expiry
// times, lifetime points and spend) and its rules (no debit beyond the
// spendable balance, reversals bounded by what the purchase earned,
// expiries in the order the plan gives), so use cases only read what it
// needs and store what it returns.
type Ledger struct {
	Program Program
	// Now is the clock; entries are created at the moment it returns.
	Now func() time.Time
	// NewID returns a new entry id.
	NewID func() string
}

// credit is a positive entry of points earned at `at`, with the program's
// pending period and expiry.
func (l Ledger) credit(customerID string, kind EntryKind, source string, points int64, cause string, at time.Time) LedgerEntry {
	now := l.Now()
	// The pending period runs from when the points were earned, but never
	// from a moment still ahead (a producer's clock may run fast).
	return LedgerEntry{
		ID: l.NewID(), ProgramID: l.Program.ID, CustomerID: customerID, Kind: kind, Source: source, Points: points, Cause: cause,
		OccurTime: at, CreateTime: now, AvailableTime: l.Program.AvailableTime(minTime(at, now)), ExpireTime: l.Program.ExpireTime(at),
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// debit is a negative entry, effective at once and never expiring.
func (l Ledger) debit(customerID string, kind EntryKind, source string, points int64, cause string) LedgerEntry {
	now := l.Now()
	return LedgerEntry{
		ID: l.NewID(), ProgramID: l.Program.ID, CustomerID: customerID, Kind: kind, Source: source, Points: -points, Cause: cause,
		OccurTime: now, CreateTime: now, AvailableTime: now,
	}
}

// Welcome is the welcome bonus of a customer joining at `at`; it counts
// toward lifetime points. ok is false when the program gives none.
func (l Ledger) Welcome(customerID string, at time.Time) (e LedgerEntry, ok bool) {
	if l.Program.WelcomePoints == 0 {
		return LedgerEntry{}, false
	}
	e = l.credit(customerID, KindEarn, SourceWelcome, l.Program.WelcomePoints, CauseWelcome(customerID), at)
	e.LifetimePoints = l.Program.WelcomePoints
	return e, true
}

// Spend is the part of an amount that counts as spend in the program:
// all of it in the program's currency, none in another or when the
// program counts no spend.
func (l Ledger) Spend(m Money) int64 {
	if l.Program.CurrencyCode != "" && m.CurrencyCode == l.Program.CurrencyCode {
		return m.AmountMinor
	}
	return 0
}

// Purchase is the entry crediting memberID with what earning gives
// purchase pu (earned by its buyer, who may have been merged into the
// member since), and the spend it adds. ok is false when the purchase
// earns no points and adds no spend: nothing is booked.
func (l Ledger) Purchase(memberID string, pu Purchase, earning PurchaseEarning) (e LedgerEntry, ok bool) {
	spend := l.Spend(pu.Total)
	if earning.Points == 0 && spend == 0 {
		return LedgerEntry{}, false
	}
	e = l.credit(memberID, KindEarn, SourcePurchase, earning.Points, CausePurchase(pu.InteractionID), pu.OccurTime)
	e.OriginCustomerID = pu.CustomerID
	e.LifetimePoints, e.SpendMinor = earning.Points, spend
	e.OrderID, e.InteractionID, e.RuleIDs, e.Day = pu.OrderID, pu.InteractionID, earning.RuleIDs, earning.Day
	return e, true
}

// Return takes back from memberID what the returned lines of a purchase
// earned (see PurchaseEarning.Reverse, which bounds it by what is left to
// reverse and updates earning), and the refund's spend. ok is false when
// nothing is taken back.
func (l Ledger) Return(memberID string, r Return, earning *PurchaseEarning) (e LedgerEntry, ok bool) {
	points := earning.Reverse(r)
	spend := l.Spend(r.Refund)
	if points == 0 && spend == 0 {
		return LedgerEntry{}, false
	}
	e = l.debit(memberID, KindReverse, SourceReturn, points, CauseReturn(r.InteractionID))
	e.OriginCustomerID = r.CustomerID
	e.LifetimePoints, e.SpendMinor = -points, -spend
	e.OrderID, e.InteractionID = r.OrderID, r.InteractionID
	if !r.OccurTime.IsZero() {
		e.OccurTime = r.OccurTime
	}
	return e, true
}

// Engagement credits memberID with the points an engagement of kind
// (reported under sourceID for originID, who may have been merged into
// the member since) earns at `at`.
func (l Ledger) Engagement(memberID, originID, kind, sourceID string, points int64, at time.Time) LedgerEntry {
	e := l.credit(memberID, KindEarn, SourceEngagement, points, CauseEngagement(kind, sourceID, originID), at)
	e.OriginCustomerID, e.LifetimePoints, e.Reason = originID, points, kind
	return e
}

// Adjust is a manual change of memberID's points by an agent: a credit
// is spendable at once, and a debit may not take the spendable balance
// below zero (ErrInsufficientPoints). balance is read only for a debit.
func (l Ledger) Adjust(memberID string, points int64, cause string, balance func() (Summary, error)) (LedgerEntry, error) {
	if points > 0 {
		e := l.credit(memberID, KindAdjust, SourceManual, points, cause, l.Now())
		e.AvailableTime = e.OccurTime // an agent's credit has no pending period
		return e, nil
	}
	sum, err := balance()
	if err != nil {
		return LedgerEntry{}, err
	}
	if sum.Spendable() < -points {
		return LedgerEntry{}, fmt.Errorf("debit %d points from a spendable balance of %d: %w", -points, sum.Spendable(), ErrInsufficientPoints)
	}
	return l.debit(memberID, KindAdjust, SourceManual, -points, cause), nil
}

// CheckRedeem refuses a redemption of reward r that would take the
// member's spendable balance, summed in sum, below zero.
func (l Ledger) CheckRedeem(r Reward, sum Summary) error {
	if sum.Spendable() < r.PointsCost {
		return fmt.Errorf("reward costs %d points, spendable balance is %d: %w", r.PointsCost, sum.Spendable(), ErrInsufficientPoints)
	}
	return nil
}

// Redeem debits the member of redemption rd with its points; originID is
// the customer who redeemed, who may have been merged into the member.
func (l Ledger) Redeem(rd Redemption, originID string) LedgerEntry {
	e := l.debit(rd.CustomerID, KindRedeem, SourceRedemption, rd.Points, CauseRedeem(rd.ID))
	e.OriginCustomerID = originID
	return e
}

// Refund gives memberID back the points of cancelled redemption rd at
// now; they are spendable at once, as they were when spent.
func (l Ledger) Refund(memberID string, rd Redemption, now time.Time) LedgerEntry {
	e := l.credit(memberID, KindReverse, SourceCancel, rd.Points, CauseCancel(rd.ID), now)
	e.OriginCustomerID, e.AvailableTime = rd.CustomerID, now
	return e
}

// Expire is the expiry entries of memberID for plan (see
// ExpiryState.Plan), in the plan's order, each effective at the moment
// its points expired.
func (l Ledger) Expire(memberID string, plan []Expiration) []LedgerEntry {
	out := make([]LedgerEntry, 0, len(plan))
	for _, x := range plan {
		e := l.debit(memberID, KindExpire, SourceExpiry, x.Points, CauseExpire(memberID, x.ExpireTime))
		e.OccurTime = x.ExpireTime
		out = append(out, e)
	}
	return out
}
