// Package app holds the loyalty service's use cases: programs, members and
// their ledgers, earning from purchases, returns and engagement, rewards
// and redemptions, tiers, expiry, and the jobs behind them. Every change of
// a member's points runs in one store transaction that holds the member's
// lock, together with its inbox mark and its events.
package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/groupcommit"
	"github.com/guanxi-crm/guanxi/platform/merges"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Inbox consumer names: each consumed event kind is de-duplicated on its
// own, so the same event id seen by two handlers is handled by both.
const (
	inboxCustomerCreated = "loyalty.customer-created"
	inboxReturnRecorded  = "loyalty.return-recorded"
	inboxSurveyAnswered  = "loyalty.survey-answered"
	inboxCustomerMerged  = "loyalty.customer-merged"
	inboxCustomerErased  = "loyalty.customer-erased"
)

// Options configure a Service.
type Options struct {
	// DefaultProgramID is the program of calls that name none.
	DefaultProgramID string
	// Now is the clock; nil means the wall clock.
	Now func() time.Time
	// Metrics counts what is booked (points credited); nil counts nothing.
	Metrics domain.Metrics
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) PointsCredited(context.Context, int64) {}

// programsTTL is how long a replica reuses the programs it read: every
// event applies the rules of every program, and reading them per event
// costs a query. A change made on this replica applies at once, one made
// on another within the TTL.
const programsTTL = time.Second

// Service is the loyalty service's use cases, by area. Each port holds the
// areas it calls; all of them share one store and one cache of programs.
type Service struct {
	// Accounts enrolls members and reads their accounts and ledgers.
	Accounts *Accounts
	// Points books points: purchases, returns, engagement and manual
	// adjustments.
	Points *Points
	// Programs keeps the programs, their earning rules and tiers.
	Programs *Programs
	// Rewards keeps the reward catalog and books redemptions.
	Rewards *Rewards
	// Jobs runs expiry, expiry notices and tier reviews.
	Jobs *Jobs
	// Merges applies the customer service's merges and erasures.
	Merges *Merges
}

// core is what every area of the use cases shares: the store, the clock,
// the cache of programs, and the steps of every change of points (member
// locking, enrollment, tier settlement).
type core struct {
	store     domain.Store
	defaultID string
	now       func() time.Time
	newID     func() (uuid.UUID, error)
	metrics   domain.Metrics

	mu          sync.Mutex
	programs    []domain.Program
	programsAt  time.Time
	programsGen int

	// credits books purchases' points, in groups under load.
	credits *groupcommit.Group[pendingCredit]
}

// cachedPrograms returns every program, read at most programsTTL ago.
func (s *core) cachedPrograms(ctx context.Context, r domain.Reader) ([]domain.Program, error) {
	s.mu.Lock()
	ps, fresh, gen := s.programs, s.programs != nil && time.Since(s.programsAt) < programsTTL, s.programsGen
	s.mu.Unlock()
	if fresh {
		return ps, nil
	}
	// Read without holding the mutex: a reader waiting for a connection
	// while transactions holding connections wait for the mutex would
	// stall them all.
	ps, err := r.Programs(ctx)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []domain.Program{}
	}
	s.mu.Lock()
	if s.programsGen == gen { // not read before a change this replica made
		s.programs, s.programsAt = ps, time.Now()
	}
	s.mu.Unlock()
	return ps, nil
}

// program returns a program from the cache, or reads it when the cache
// does not know it (created on another replica a moment ago).
func (s *core) program(ctx context.Context, id string) (domain.Program, error) {
	ps, err := s.cachedPrograms(ctx, s.store)
	if err != nil {
		return domain.Program{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return s.store.Program(ctx, id)
}

// forgetPrograms drops the cache after this replica changed a program.
func (s *core) forgetPrograms() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.programs = nil
	s.programsGen++
}

// New returns a Service over store.
func New(store domain.Store, opts Options) (*Service, error) {
	if err := domain.ValidateID("default program id", opts.DefaultProgramID); err != nil {
		return nil, fmt.Errorf("new loyalty service: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &core{
		store:     store,
		defaultID: opts.DefaultProgramID,
		// Stored times have microsecond precision; keep ours the same so
		// what we return equals what we read back.
		now:     func() time.Time { return now().UTC().Truncate(time.Microsecond) },
		newID:   uuid.NewV7,
		metrics: opts.Metrics,
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	s.credits = groupcommit.New(s.writeCredits)
	return &Service{
		Accounts: &Accounts{s},
		Points:   &Points{s},
		Programs: &Programs{s},
		Rewards:  &Rewards{s},
		Jobs:     &Jobs{s},
		Merges:   &Merges{s},
	}, nil
}

// DefaultProgramID is the program of calls that name none.
func (s *Accounts) DefaultProgramID() string { return s.defaultID }

func (s *core) id() string {
	id, err := s.newID()
	if err != nil {
		// uuid.NewV7 fails only when the system's randomness does; nothing
		// here can go on without it.
		return uuid.NewString()
	}
	return id.String()
}

func (s *core) programID(id string) string {
	if id == "" {
		return s.defaultID
	}
	return id
}

// resolveMember locks the membership of customerID in p, or, when that
// customer was merged into another, the survivor's. Locking before
// following the link matters on PostgreSQL: a merge committing meanwhile
// holds the merged row's lock, and the lock returns the row as the merge
// left it. With enroll, a customer (or survivor) who is no member joins.
func (s *core) resolveMember(ctx context.Context, tx domain.Tx, p domain.Program, customerID string, enroll bool, at time.Time) (domain.Member, error) {
	id := customerID
	for range merges.MaxHops {
		m, err := tx.LockMember(ctx, p.ID, id)
		var nf *domain.AccountNotFoundError
		switch {
		case errors.As(err, &nf) && enroll:
			if _, err := s.enroll(ctx, tx, p, id, at); err != nil {
				return domain.Member{}, err
			}
			return tx.LockMember(ctx, p.ID, id)
		case err != nil:
			return domain.Member{}, err
		case m.MergedInto == "":
			return m, nil
		}
		id = m.MergedInto
	}
	return domain.Member{}, fmt.Errorf("member %s: merged-into links form a cycle: %w", customerID, domain.ErrMergeConflict)
}

// enroll makes customerID a member of p and credits the welcome bonus; it
// reports whether the customer joined now (false: was a member already).
func (s *core) enroll(ctx context.Context, tx domain.Tx, p domain.Program, customerID string, at time.Time) (bool, error) {
	if _, err := tx.Member(ctx, p.ID, customerID); err == nil {
		return false, nil
	}
	joined, err := s.join(ctx, tx, p, []string{customerID}, at)
	if err != nil {
		return false, err
	}
	evs, ok := joined[customerID]
	if !ok {
		return false, nil
	}
	return true, tx.Publish(ctx, evs...)
}

// join makes customerIDs, none of them a member of p when read, members of
// p at once: one draw of member numbers, which follow each other in the
// order given as if each had joined alone in turn, one insert, their
// welcome bonuses in one write and their balances in one read. It returns
// the events to publish for each customer who joined (one who joined
// meanwhile in another transaction did not, and keeps that membership, as
// enrolling alone would): MemberEnrolled, and PointsEarned for a welcome
// bonus. The caller publishes them, so that a batch can publish in its
// events' order.
func (s *core) join(ctx context.Context, tx domain.Tx, p domain.Program, customerIDs []string, at time.Time) (map[string][]domain.Event, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	last, err := tx.TakeMemberNumbers(ctx, p.ID, len(customerIDs))
	if err != nil {
		return nil, err
	}
	first := last - int64(len(customerIDs)) + 1
	ms := make([]domain.Member, len(customerIDs))
	for i, id := range customerIDs {
		ms[i] = domain.NewMember(p, id, first+int64(i), at)
	}
	stored, err := tx.InsertMembers(ctx, ms)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]domain.Event, len(stored))
	var welcomes []domain.LedgerEntry
	ledger := s.ledger(p)
	for _, m := range ms {
		if !stored[m.CustomerID] {
			continue
		}
		// The notification service learns the program's members from this,
		// to tell them of its member days.
		out[m.CustomerID] = []domain.Event{domain.MemberEnrolled{ProgramID: p.ID, CustomerID: m.CustomerID, Tier: p.Tier(0)}}
		if e, ok := ledger.Welcome(m.CustomerID, at); ok {
			welcomes = append(welcomes, e)
		}
	}
	if len(welcomes) == 0 {
		return out, nil
	}
	if err := tx.AddEntries(ctx, welcomes); err != nil {
		return nil, err
	}
	welcomed := make([]string, len(welcomes))
	for i, e := range welcomes {
		welcomed[i] = e.CustomerID
	}
	bals, err := tx.Summaries(ctx, p.ID, welcomed, at, p.TierWindowStart(at))
	if err != nil {
		return nil, err
	}
	for _, e := range welcomes {
		out[e.CustomerID] = append(out[e.CustomerID], domain.PointsEarned{ProgramID: p.ID, CustomerID: e.CustomerID,
			Points: e.Points, PointsBalance: bals[e.CustomerID].Spendable(), Cause: e.Cause})
	}
	return out, nil
}

// ledger builds the entries of program p (see domain.Ledger).
func (s *core) ledger(p domain.Program) domain.Ledger {
	return domain.Ledger{Program: p, Now: s.now, NewID: s.id}
}

// settle runs after points change: it lifts the member to the tier the
// rolling window now qualifies for (publishing TierChanged), and returns
// the ledger summary after the change.
func (s *core) settle(ctx context.Context, tx domain.Tx, p domain.Program, m *domain.Member) (domain.Summary, error) {
	now := s.now()
	sum, err := tx.Summary(ctx, p.ID, m.CustomerID, now, p.TierWindowStart(now))
	if err != nil {
		return sum, err
	}
	return sum, s.settleWith(ctx, tx, p, m, sum, now)
}

// settleWith is settle with the member's summary at now known.
func (s *core) settleWith(ctx context.Context, tx domain.Tx, p domain.Program, m *domain.Member, sum domain.Summary, now time.Time) error {
	before := *m
	change := m.Upgrade(p, p.QualifiedTier(sum.WindowPoints, sum.WindowSpend), now)
	if *m != before {
		if err := tx.SaveMember(ctx, *m); err != nil {
			return err
		}
	}
	if change.Changed() {
		return tx.Publish(ctx, domain.TierChanged{ProgramID: p.ID, CustomerID: m.CustomerID, Old: p.Tier(change.From), New: p.Tier(change.To)})
	}
	return nil
}

// isNotFound reports whether err says a member is missing.
func isNotFound(err error) bool {
	var nf *domain.AccountNotFoundError
	return errors.As(err, &nf)
}

// inEveryProgram runs apply for every program in one transaction. When
// inbox is set, an event already handled under it changes nothing.
func (s *core) inEveryProgram(ctx context.Context, inbox, eventID string, apply func(domain.Tx, domain.Program) error) error {
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		if inbox != "" {
			first, err := tx.MarkHandled(ctx, inbox, eventID)
			if err != nil || !first {
				return err
			}
		}
		programs, err := s.cachedPrograms(ctx, tx)
		if err != nil {
			return err
		}
		for _, p := range programs {
			if err := apply(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}
