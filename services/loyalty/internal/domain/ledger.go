package domain

import "time"

// EntryKind is what a ledger entry did.
type EntryKind string

// Entry kinds.
const (
	KindEarn     EntryKind = "earn"
	KindRedeem   EntryKind = "redeem"
	KindExpire   EntryKind = "expire"
	KindAdjust   EntryKind = "adjust"
	KindReverse  EntryKind = "reverse"
	KindTransfer EntryKind = "transfer"
)

// Sources say more precisely what booked an entry.
const (
	SourcePurchase   = "purchase"
	SourceEngagement = "engagement"
	SourceWelcome    = "welcome"
	SourceReturn     = "return"
	SourceRedemption = "redemption"
	SourceCancel     = "cancel"
	SourceManual     = "manual"
	SourceExpiry     = "expiry"
	SourceMerge      = "merge"
)

// LedgerEntry is one append-only change of a member's points. The balance
// is never stored: it is the sum of the entries. Cause is unique in the
// program, which makes every credit and debit idempotent by what caused it.
type LedgerEntry struct {
	ID         string
	ProgramID  string
	CustomerID string
	// OriginCustomerID is the member the entry was booked for; it differs
	// from CustomerID once a merge moved the entry to the survivor.
	OriginCustomerID string
	Kind             EntryKind
	Source           string
	// Points is the change of the balance; negative when points leave.
	Points int64
	// LifetimePoints is the change of lifetime points: earned points, and
	// the reversal of returned ones.
	LifetimePoints int64
	// SpendMinor is the spend it adds to tier qualification (negative for
	// returns), in minor units of the program currency.
	SpendMinor    int64
	Cause         string
	OrderID       string
	InteractionID string
	RuleIDs       []string
	Actor         string
	Reason        string
	CounterpartID string
	// Day is the program day of a purchase's points, for the day cap.
	Day           string
	OccurTime     time.Time
	CreateTime    time.Time
	AvailableTime time.Time
	// ExpireTime is zero for points that never expire.
	ExpireTime time.Time
}

// Causes of entries: each names the one thing that may book it.
func CausePurchase(interactionID string) string { return "purchase:" + interactionID }

// CauseReturn is the cause of a return's reversal.
func CauseReturn(interactionID string) string { return "return:" + interactionID }

// CauseWelcome is the cause of a member's welcome bonus.
func CauseWelcome(customerID string) string { return "welcome:" + customerID }

// CauseEngagement is the cause of an engagement's points.
func CauseEngagement(kind, sourceID, customerID string) string {
	return "engagement:" + kind + ":" + sourceID + ":" + customerID
}

// CauseRedeem is the cause of a redemption's debit.
func CauseRedeem(redemptionID string) string { return "redeem:" + redemptionID }

// CauseCancel is the cause of a cancelled redemption's refund.
func CauseCancel(redemptionID string) string { return "cancel:" + redemptionID }

// CauseAdjust is the cause of a manual adjustment.
func CauseAdjust(requestID string) string { return "adjust:" + requestID }

// CauseMerge is the cause of the transfer entry a merge books.
func CauseMerge(mergedID string) string { return "merge:" + mergedID }

// CauseExpire is the cause of the expiry of a member's points due at t.
func CauseExpire(customerID string, t time.Time) string {
	return "expire:" + customerID + ":" + t.UTC().Format(time.RFC3339)
}

// Summary is a member's ledger added up at a moment.
type Summary struct {
	// Total is the sum of every entry.
	Total int64
	// Pending is the part of Total earned but not spendable yet.
	Pending  int64
	Lifetime int64
	// WindowPoints and WindowSpend are the qualifying points and spend
	// within the tier window.
	WindowPoints int64
	WindowSpend  int64
}

// LockedMember is a member held for a change of its ledger, with the
// Summary of its entries (see MemberTx.LockMemberSummaries).
type LockedMember struct {
	Member  Member
	Summary Summary
}

// Add counts e in the summary as it stands at now with the tier window
// starting at windowStart, as summing the ledger after appending e would.
func (s *Summary) Add(e LedgerEntry, now, windowStart time.Time) {
	s.Total += e.Points
	if e.Points > 0 && micros(e.AvailableTime) > micros(now) {
		s.Pending += e.Points
	}
	s.Lifetime += e.LifetimePoints
	if micros(e.OccurTime) >= micros(windowStart) {
		switch e.Source {
		case SourcePurchase, SourceReturn, SourceEngagement:
			s.WindowPoints += e.LifetimePoints
		}
		s.WindowSpend += e.SpendMinor
	}
}

// micros is t as stored: whole microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// Spendable is the balance that can be spent now.
func (s Summary) Spendable() int64 { return s.Total - s.Pending }
