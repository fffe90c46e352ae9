package domain

import (
	"context"
	"time"
)

// Reader reads the loyalty data, outside or inside a transaction.
type Reader interface {
	// Program returns a program, or ErrNotFound.
	Program(ctx context.Context, id string) (Program, error)
	// Programs returns every program, oldest first.
	Programs(ctx context.Context) ([]Program, error)
	// Member returns a membership, or an AccountNotFoundError.
	Member(ctx context.Context, programID, customerID string) (Member, error)
	// Summary adds up a member's ledger at now, with the tier window
	// starting at windowStart.
	Summary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (Summary, error)
	// MemberSummary is Member and Summary in one round trip.
	MemberSummary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (Member, Summary, error)
	// ExpiryState returns a member's expiring credits, debits and expiries.
	ExpiryState(ctx context.Context, programID, customerID string) (ExpiryState, error)
	// Ledger returns up to limit of a member's entries, newest first,
	// older than the entry beforeID ("" from the newest).
	Ledger(ctx context.Context, programID, customerID, beforeID string, limit int) ([]LedgerEntry, error)
	// Entry returns the entry with cause in the program, or ErrNotFound.
	Entry(ctx context.Context, programID, cause string) (LedgerEntry, error)
	// EarnedOnDay is the purchase points a member earned on a program day.
	EarnedOnDay(ctx context.Context, programID, customerID, day string) (int64, error)
	// PurchaseEarning returns what a purchase earned in a program, or
	// ErrNotFound.
	PurchaseEarning(ctx context.Context, programID, interactionID string) (PurchaseEarning, error)
	// Reward returns a reward, or ErrNotFound.
	Reward(ctx context.Context, id string) (Reward, error)
	// Rewards returns a program's rewards, oldest first.
	Rewards(ctx context.Context, programID string) ([]Reward, error)
	// Redemption returns a redemption, or ErrNotFound.
	Redemption(ctx context.Context, id string) (Redemption, error)
	// RedemptionByRequest returns the redemption made under requestID, or
	// ErrNotFound.
	RedemptionByRequest(ctx context.Context, requestID string) (Redemption, error)
	// ProgramByRequest and RewardByRequest return what a create under
	// requestID made, or ErrNotFound.
	ProgramByRequest(ctx context.Context, requestID string) (Program, error)
	RewardByRequest(ctx context.Context, requestID string) (Reward, error)
}

// Store is the loyalty service's persistence.
type Store interface {
	Reader
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// ExpiryCandidates returns up to limit members of a program with
	// credits expiring after their ExpiredThrough and by through, in
	// customer id order after afterID.
	ExpiryCandidates(ctx context.Context, programID string, through time.Time, afterID string, limit int) ([]string, error)
	// NoticeCandidates returns up to limit members of a program with
	// credits expiring in (from, through], in customer id order after
	// afterID.
	NoticeCandidates(ctx context.Context, programID string, from, through time.Time, afterID string, limit int) ([]string, error)
	// ActiveMembers returns up to limit active members' customer ids in a
	// program, in order after afterID.
	ActiveMembers(ctx context.Context, programID, afterID string, limit int) ([]string, error)
}

// Tx is the work that can happen inside one Store transaction: reads,
// the inbox and outbox every use case shares, and the writes of each area,
// each declared on its own below.
type Tx interface {
	Reader
	ProgramTx
	MemberTx
	LedgerTx
	RewardTx
	// MarkHandled records that consumer handled the event with eventID and
	// reports whether this is the first time; when it is not, the caller
	// must change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// MarkHandledMany is MarkHandled for the events of a batch at once: it
	// returns the ids handled for the first time, the ones to apply.
	MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (first map[string]bool, err error)
	// RecordErasure records that the customer's erasure reached this
	// service; recording it again changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
	// Publish queues events to be published once the transaction commits.
	Publish(ctx context.Context, evs ...Event) error
	// AfterCommit runs fn once the transaction has committed, and never
	// when it rolls back.
	AfterCommit(fn func())
}

// Metrics is told what the use cases booked, once it is committed, for
// the service's metrics (adapters/metrics counts it with OpenTelemetry).
type Metrics interface {
	// PointsCredited counts the points a purchase earned.
	PointsCredited(ctx context.Context, points int64)
}

// ProgramTx is the writes of programs in a Tx.
type ProgramTx interface {
	InsertProgram(ctx context.Context, p Program, requestID string) error
	// EnsureProgram stores p unless a program with its id exists.
	EnsureProgram(ctx context.Context, p Program) error
	SaveProgram(ctx context.Context, p Program) error
}

// MemberTx is the writes of memberships in a Tx.
type MemberTx interface {
	// TakeMemberNumbers draws the program's next n member numbers at once
	// and returns the last: the numbers are last-n+1..last.
	TakeMemberNumbers(ctx context.Context, programID string, n int) (last int64, err error)
	// Members returns the memberships of customerIDs in a program (those
	// that exist), by customer id.
	Members(ctx context.Context, programID string, customerIDs []string) (map[string]Member, error)
	// InsertMembers stores ms, skipping customers who are members already,
	// and returns the customers stored.
	InsertMembers(ctx context.Context, ms []Member) (stored map[string]bool, err error)
	// LockMember returns a membership and holds it against concurrent
	// changes until the transaction ends, or an AccountNotFoundError.
	// Every change of a member's ledger happens under this lock.
	LockMember(ctx context.Context, programID, customerID string) (Member, error)
	// LockMemberSummary is LockMember with the member's Summary.
	LockMemberSummary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (Member, Summary, error)
	// LockMemberSummaries is LockMemberSummary for several customers, at
	// once, locked in the order given (callers sort them, so that two
	// transactions never wait on each other in a cycle); customers who
	// are no members are left out.
	LockMemberSummaries(ctx context.Context, programID string, customerIDs []string, now, windowStart time.Time) (map[string]LockedMember, error)
	SaveMember(ctx context.Context, m Member) error
	// RepointMerged makes memberships merged into from point at to.
	RepointMerged(ctx context.Context, programID, from, to string) error
}

// LedgerTx is the writes of members' ledgers in a Tx.
type LedgerTx interface {
	// MoveLedger moves every entry of from's membership to to's.
	MoveLedger(ctx context.Context, programID, from, to string) (entries int, points int64, err error)
	// AddEntry appends e unless its cause is booked already, and reports
	// whether it was added.
	AddEntry(ctx context.Context, e LedgerEntry) (bool, error)
	// AddEntries appends es, each unless its cause is booked already.
	AddEntries(ctx context.Context, es []LedgerEntry) error
	// Summaries is Reader.Summary for several members of a program, by
	// customer id.
	Summaries(ctx context.Context, programID string, customerIDs []string, now, windowStart time.Time) (map[string]Summary, error)
	// BookPurchase stores what a purchase earned, with entry when it is not
	// nil, unless the purchase is stored already: the idempotency check of
	// a purchase in a program. It reports whether it stored them.
	BookPurchase(ctx context.Context, earning PurchaseEarning, entry *LedgerEntry) (bool, error)
	// BookPurchases is BookPurchase for several purchases of a program at
	// once: it stores the earnings not stored yet and the entries not
	// booked yet, and returns how many earnings it stored.
	BookPurchases(ctx context.Context, earnings []PurchaseEarning, entries []LedgerEntry) (stored int, err error)
	SavePurchaseEarning(ctx context.Context, e PurchaseEarning) error
	// ParkReturn keeps a return of a purchase the program has not booked
	// yet until the purchase is booked (see TakeParkedReturns); parking it
	// again changes nothing.
	ParkReturn(ctx context.Context, programID string, r Return, at time.Time) error
	// TakeParkedReturns removes the returns parked for a purchase in a
	// program and returns them, oldest first.
	TakeParkedReturns(ctx context.Context, programID, purchaseInteractionID string) ([]Return, error)
	// HasParkedReturns reports whether returns are parked for any of the
	// purchases in a program.
	HasParkedReturns(ctx context.Context, programID string, purchaseInteractionIDs []string) (bool, error)
	// RecordNotice records the expiring notice of a member's points due at
	// expireTime and reports whether it is the first.
	RecordNotice(ctx context.Context, programID, customerID string, expireTime time.Time) (bool, error)
}

// RewardTx is the writes of rewards and redemptions in a Tx.
type RewardTx interface {
	InsertReward(ctx context.Context, r Reward, requestID string) error
	SaveReward(ctx context.Context, r Reward) error
	// TakeStock takes one unit of a reward's stock and reports whether one
	// was left; atomic, whatever else runs.
	TakeStock(ctx context.Context, rewardID string) (bool, error)
	// ReturnStock puts one unit back.
	ReturnStock(ctx context.Context, rewardID string) error
	InsertRedemption(ctx context.Context, r Redemption) error
	SaveRedemption(ctx context.Context, r Redemption) error
}
