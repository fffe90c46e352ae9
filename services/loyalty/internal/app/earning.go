package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Points books the points members earn and lose: purchases, returns,
// engagement and manual adjustments.
type Points struct{ *core }

// CreditPurchase credits, in every program the buyer is a member of (or
// joins by buying), the points the program's rules give the purchase.
// eventID is the id of the event announcing it: a redelivered event changes
// nothing, and the purchase's cause makes a replay under another event id
// harmless too. A purchase naming a customer merged into another credits
// the survivor.
func (s *Points) CreditPurchase(ctx context.Context, eventID string, pu domain.Purchase) error {
	if err := pu.Validate(); err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	if pu.OccurTime.IsZero() {
		pu.OccurTime = s.now()
	}
	// No inbox mark: a purchase is booked at most once per program by its
	// cause (the purchase's earning row and its ledger entry are unique by
	// interaction id), which covers a redelivered event and a replay under
	// another event id alike, and saves a write on the hottest path.
	credit := pendingCredit{ctx: ctx, purchase: pu}
	if sqldb.InBatch(ctx) {
		// The consumer's batch is the group already; another caller's
		// purchase must not join its transaction.
		if err := s.writeCredits(ctx, []pendingCredit{credit}); err != nil {
			return fmt.Errorf("credit purchase: %w", err)
		}
		return nil
	}
	if err := s.credits.Do(ctx, credit); err != nil {
		return fmt.Errorf("credit purchase: %w", err)
	}
	return nil
}

// CreditPurchases is CreditPurchase for the purchases of a consumer's
// batch, inside its transaction: set-based where the purchases allow (see
// creditPurchasesIn). Any invalid purchase fails them all, and the
// consumer handles them one by one, dead-lettering that one.
func (s *Points) CreditPurchases(ctx context.Context, pus []domain.Purchase) error {
	cs := make([]pendingCredit, len(pus))
	for i, pu := range pus {
		if err := pu.Validate(); err != nil {
			return fmt.Errorf("credit purchase %s: %w", pu.InteractionID, err)
		}
		if pu.OccurTime.IsZero() {
			pu.OccurTime = s.now()
		}
		cs[i] = pendingCredit{ctx: ctx, purchase: pu}
	}
	if err := s.writeCredits(ctx, cs); err != nil {
		return fmt.Errorf("credit %d purchases: %w", len(pus), err)
	}
	return nil
}

// pendingCredit is a purchase waiting for the commit of its group (see
// groupcommit.Group).
type pendingCredit struct {
	ctx      context.Context // the caller's, whose trace the events carry
	purchase domain.Purchase
}

// writeCredits credits purchases in one transaction: under load one
// commit, one outbox write and one WAL flush serve many purchases, where
// each paying for its own kept the machine too busy to answer in time.
func (s *core) writeCredits(ctx context.Context, cs []pendingCredit) error {
	return s.inEveryProgram(ctx, "", "", func(tx domain.Tx, p domain.Program) error {
		if len(cs) == 1 {
			return s.creditPurchaseIn(cs[0].traced(ctx), tx, p, cs[0].purchase)
		}
		return s.creditPurchasesIn(ctx, tx, p, cs)
	})
}

// traced is ctx, the group's or batch's context that bounds the writes,
// carrying the trace of c's caller, which the events of its purchase go
// with.
func (c pendingCredit) traced(ctx context.Context) context.Context {
	return trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(c.ctx))
}

// creditPurchasesIn credits cs in p as crediting them one after the other
// would, in a few statements for all: the buyers are locked, in customer
// order (so two groups never wait on each other in a cycle), and their
// ledgers summed in one; each purchase's earning is worked out in memory on
// the member's tier and day as the purchases before it left them; the
// earnings and entries are written in multi-row statements, each changed
// member once. When a buyer is not a plain member (joins by buying, or
// was merged: its purchases count for another member, in turn with that
// member's own), or a parked return waits for one of the purchases (it
// must be applied between them), the purchases are credited one after the
// other instead. A purchase stored already fails them all (a redelivery:
// the group or consumer runs its purchases again one by one, which skip
// it).
func (s *core) creditPurchasesIn(ctx context.Context, tx domain.Tx, p domain.Program, cs []pendingCredit) error {
	oneByOne := func() error {
		for _, c := range cs {
			if err := s.creditPurchaseIn(c.traced(ctx), tx, p, c.purchase); err != nil {
				return err
			}
		}
		return nil
	}
	ids := make([]string, len(cs))
	customers := make([]string, len(cs))
	for i, c := range cs {
		ids[i], customers[i] = c.purchase.InteractionID, c.purchase.CustomerID
	}
	slices.Sort(customers)
	customers = slices.Compact(customers)
	// The members are locked first, in customer order, whichever way the
	// purchases are then credited: one after the other, only buyers who
	// join or were merged are locked in the order of their purchases.
	now := s.now()
	window := p.TierWindowStart(now)
	members, err := tx.LockMemberSummaries(ctx, p.ID, customers, now, window)
	if err != nil {
		return err
	}
	for _, id := range customers {
		if m, ok := members[id]; !ok || m.Member.MergedInto != "" {
			return oneByOne()
		}
	}
	if parked, err := tx.HasParkedReturns(ctx, p.ID, ids); err != nil || parked {
		if err != nil {
			return err
		}
		return oneByOne()
	}
	locked := maps.Clone(members)
	var (
		earnings []domain.PurchaseEarning
		entries  []domain.LedgerEntry
		credited int64
		seen     = make(map[string]bool, len(cs))
		// The purchase points booked on a member's program day, where the
		// program caps them (see Program.Earn).
		today = map[[2]string]int64{}
	)
	for _, c := range cs {
		pu := c.purchase
		if seen[pu.InteractionID] {
			continue // a repeat in the group: booked by its first
		}
		seen[pu.InteractionID] = true
		held := members[pu.CustomerID]
		m, sum := held.Member, held.Summary
		day := [2]string{m.CustomerID, p.Day(pu.OccurTime)}
		if _, ok := today[day]; !ok && p.DayCapPoints > 0 {
			if today[day], err = tx.EarnedOnDay(ctx, p.ID, day[0], day[1]); err != nil {
				return err
			}
		}
		earning, err := p.Earn(pu, p.TierIndex(m.TierCode), today[day])
		if err != nil {
			return err
		}
		earning.CustomerID = m.CustomerID
		earnings = append(earnings, earning)
		e, ok := s.ledger(p).Purchase(m.CustomerID, pu, earning)
		if !ok {
			continue
		}
		entries = append(entries, e)
		today[day] += e.Points
		sum.Add(e, now, window)
		change := m.Upgrade(p, p.QualifiedTier(sum.WindowPoints, sum.WindowSpend), now)
		members[pu.CustomerID] = domain.LockedMember{Member: m, Summary: sum}
		cctx := c.traced(ctx)
		if change.Changed() {
			if err := tx.Publish(cctx, domain.TierChanged{ProgramID: p.ID, CustomerID: m.CustomerID, Old: p.Tier(change.From), New: p.Tier(change.To)}); err != nil {
				return err
			}
		}
		if earning.Points != 0 {
			err := tx.Publish(cctx, domain.PointsEarned{ProgramID: p.ID, CustomerID: m.CustomerID, Points: earning.Points,
				PointsBalance: sum.Spendable(), InteractionID: pu.InteractionID, Cause: e.Cause})
			if err != nil {
				return err
			}
			credited += earning.Points
		}
	}
	stored, err := tx.BookPurchases(ctx, earnings, entries)
	if err != nil {
		return err
	}
	if stored != len(earnings) {
		return fmt.Errorf("%d of %d purchases in program %s were booked already: %w", len(earnings)-stored, len(earnings), p.ID, errBookedMeanwhile)
	}
	for _, id := range customers {
		if m := members[id].Member; m != locked[id].Member {
			if err := tx.SaveMember(ctx, m); err != nil {
				return err
			}
		}
	}
	if credited != 0 {
		tx.AfterCommit(func() { s.metrics.PointsCredited(ctx, credited) })
	}
	return nil
}

// errBookedMeanwhile fails a set of purchases of which some are stored
// already; one by one, each is skipped or booked on its own.
var errBookedMeanwhile = errors.New("purchases booked already")

func (s *core) creditPurchaseIn(ctx context.Context, tx domain.Tx, p domain.Program, pu domain.Purchase) error {
	// A member buying, the common case, is locked and summed in one round
	// trip, and the new entry is added to that sum; a customer who joins
	// by buying, or was merged, takes the general path.
	now := s.now()
	window := p.TierWindowStart(now)
	m, sum, err := tx.LockMemberSummary(ctx, p.ID, pu.CustomerID, now, window)
	summed := err == nil && m.MergedInto == ""
	if !summed && (err == nil || isNotFound(err)) {
		m, err = s.resolveMember(ctx, tx, p, pu.CustomerID, p.AutoEnroll, pu.OccurTime)
	}
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var today int64
	if p.DayCapPoints > 0 {
		if today, err = tx.EarnedOnDay(ctx, p.ID, m.CustomerID, p.Day(pu.OccurTime)); err != nil {
			return err
		}
	}
	earning, err := p.Earn(pu, p.TierIndex(m.TierCode), today)
	if err != nil {
		return err
	}
	earning.CustomerID = m.CustomerID
	e, ok := s.ledger(p).Purchase(m.CustomerID, pu, earning)
	if !ok {
		added, err := tx.BookPurchase(ctx, earning, nil)
		if err != nil || !added {
			return err
		}
		return s.applyParkedReturns(ctx, tx, p, pu.InteractionID)
	}
	if added, err := tx.BookPurchase(ctx, earning, &e); err != nil || !added {
		return err
	}
	if summed {
		sum.Add(e, now, window)
		err = s.settleWith(ctx, tx, p, &m, sum, now)
	} else {
		sum, err = s.settle(ctx, tx, p, &m)
	}
	if err != nil {
		return err
	}
	if earning.Points != 0 {
		err = tx.Publish(ctx, domain.PointsEarned{ProgramID: p.ID, CustomerID: m.CustomerID, Points: earning.Points,
			PointsBalance: sum.Spendable(), InteractionID: pu.InteractionID, Cause: e.Cause})
		if err != nil {
			return err
		}
		// Counted once committed: a group or batch that rolls back and
		// runs again credits the purchase once.
		tx.AfterCommit(func() { s.metrics.PointsCredited(ctx, earning.Points) })
	}
	return s.applyParkedReturns(ctx, tx, p, pu.InteractionID)
}

// applyParkedReturns applies the returns of a purchase that arrived before
// it (see reverseIn), now that it is booked.
func (s *core) applyParkedReturns(ctx context.Context, tx domain.Tx, p domain.Program, purchaseID string) error {
	parked, err := tx.TakeParkedReturns(ctx, p.ID, purchaseID)
	if err != nil {
		return err
	}
	for _, r := range parked {
		if err := s.reverseIn(ctx, tx, p, r); err != nil {
			return fmt.Errorf("parked return %s: %w", r.InteractionID, err)
		}
	}
	return nil
}

// ReverseReturn takes back, in every program, the points the returned lines
// of a purchase earned (see PurchaseEarning.Reverse), and their spend. The
// return's cause makes it idempotent. A return of a purchase a program has
// not booked yet (handled out of order, by another replica, or never seen)
// is parked and applied when the purchase is booked (applyParkedReturns):
// its effect is never dropped, whichever order the two arrive in.
func (s *Points) ReverseReturn(ctx context.Context, eventID string, r domain.Return) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("reverse return: %w", err)
	}
	err := s.inEveryProgram(ctx, inboxReturnRecorded, eventID, func(tx domain.Tx, p domain.Program) error {
		return s.reverseIn(ctx, tx, p, r)
	})
	if err != nil {
		return fmt.Errorf("reverse return: %w", err)
	}
	return nil
}

func (s *core) reverseIn(ctx context.Context, tx domain.Tx, p domain.Program, r domain.Return) error {
	m, err := s.resolveMember(ctx, tx, p, r.CustomerID, false, s.now())
	if isNotFound(err) {
		if p.AutoEnroll {
			// The purchase, still on its way, will enroll the buyer.
			return tx.ParkReturn(ctx, p.ID, r, s.now())
		}
		return nil
	}
	if err != nil {
		return err
	}
	cause := domain.CauseReturn(r.InteractionID)
	if _, err := tx.Entry(ctx, p.ID, cause); err == nil {
		return nil
	} else if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	earning, err := tx.PurchaseEarning(ctx, p.ID, r.PurchaseInteractionID)
	if errors.Is(err, domain.ErrNotFound) {
		// The purchase is on its way (another replica, or a redelivery,
		// has it) or never reached the service: the return waits for it
		// and is applied when it is booked, never dropped. Not even when
		// the member joined after the return happened: the join time is
		// when this service learned of the customer, and a purchase made
		// before it is still credited when it arrives.
		return tx.ParkReturn(ctx, p.ID, r, s.now())
	}
	if err != nil {
		return err
	}
	e, ok := s.ledger(p).Return(m.CustomerID, r, &earning)
	if err := tx.SavePurchaseEarning(ctx, earning); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	_, err = tx.AddEntry(ctx, e)
	return err
}

// Engagement is a customer engaging beyond purchases.
type Engagement struct {
	CustomerID string
	Kind       string
	SourceID   string
	OccurTime  time.Time
}

func (e Engagement) validate() error {
	var vs validation.Violations
	if err := domain.ValidateCustomerID("customer_id", e.CustomerID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	switch e.Kind {
	case domain.EngagementSurveyAnswered, domain.EngagementReview, domain.EngagementReferral, domain.EngagementCheckIn:
	default:
		vs.Add("kind", "must be survey_answered, review, referral or check_in")
	}
	if strings.TrimSpace(e.SourceID) == "" {
		vs.Add("source_id", "is required")
	}
	return vs.Err()
}

// AwardEngagementEvent awards an engagement announced by an event.
func (s *Points) AwardEngagementEvent(ctx context.Context, eventID string, e Engagement) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("award engagement: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, inboxSurveyAnswered, eventID)
		if err != nil || !first {
			return err
		}
		_, err = s.award(ctx, tx, e)
		return err
	})
	if err != nil {
		return fmt.Errorf("award engagement: %w", err)
	}
	return nil
}

// RecordEngagement awards an engagement reported through the API; the
// same kind and source id earn once, and return the entries they booked.
func (s *Points) RecordEngagement(ctx context.Context, e Engagement) ([]domain.LedgerEntry, error) {
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("record engagement: %w", err)
	}
	var out []domain.LedgerEntry
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		var err error
		out, err = s.award(ctx, tx, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record engagement: %w", err)
	}
	return out, nil
}

func (s *Points) award(ctx context.Context, tx domain.Tx, en Engagement) ([]domain.LedgerEntry, error) {
	if en.OccurTime.IsZero() {
		en.OccurTime = s.now()
	}
	programs, err := s.cachedPrograms(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []domain.LedgerEntry
	for _, p := range programs {
		points := p.EngagementPoints(en.Kind)
		if points <= 0 {
			continue
		}
		m, err := s.resolveMember(ctx, tx, p, en.CustomerID, p.AutoEnroll, en.OccurTime)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e := s.ledger(p).Engagement(m.CustomerID, en.CustomerID, en.Kind, en.SourceID, points, en.OccurTime)
		cause := e.Cause
		added, err := tx.AddEntry(ctx, e)
		if err != nil {
			return nil, err
		}
		if !added {
			if e, err = tx.Entry(ctx, p.ID, cause); err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		out = append(out, e)
		sum, err := s.settle(ctx, tx, p, &m)
		if err != nil {
			return nil, err
		}
		if err := tx.Publish(ctx, domain.PointsEarned{ProgramID: p.ID, CustomerID: m.CustomerID, Points: points,
			PointsBalance: sum.Spendable(), Cause: cause}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Adjustment is a manual change of a member's points.
type Adjustment struct {
	ProgramID  string
	CustomerID string
	Points     int64
	Reason     string
	Actor      string
	RequestID  string
}

// AdjustPoints books a manual adjustment, naming who and why; a debit may
// not take the spendable balance below zero. The request id is the
// adjustment's cause: the same id books once and returns that entry.
func (s *Points) AdjustPoints(ctx context.Context, a Adjustment) (domain.LedgerEntry, error) {
	a.ProgramID = s.programID(a.ProgramID)
	var vs validation.Violations
	if err := domain.ValidateCustomerID("customer_id", a.CustomerID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := domain.ValidateID("program_id", a.ProgramID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if a.Points == 0 {
		vs.Add("points", "must not be zero")
	}
	if strings.TrimSpace(a.Reason) == "" {
		vs.Add("reason", "is required")
	}
	if strings.TrimSpace(a.RequestID) == "" {
		vs.Add("request_id", "is required")
	}
	if strings.TrimSpace(a.Actor) == "" {
		vs.Add("actor", "is required (x-guanxi-actor)")
	}
	if err := vs.Err(); err != nil {
		return domain.LedgerEntry{}, fmt.Errorf("adjust points: %w", err)
	}
	var out domain.LedgerEntry
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		p, err := tx.Program(ctx, a.ProgramID)
		if err != nil {
			return err
		}
		cause := domain.CauseAdjust(a.RequestID)
		if out, err = tx.Entry(ctx, p.ID, cause); err == nil {
			return nil
		}
		m, err := s.resolveMember(ctx, tx, p, a.CustomerID, false, s.now())
		if err != nil {
			return err
		}
		e, err := s.ledger(p).Adjust(m.CustomerID, a.Points, cause, func() (domain.Summary, error) {
			now := s.now()
			return tx.Summary(ctx, p.ID, m.CustomerID, now, p.TierWindowStart(now))
		})
		if err != nil {
			return err
		}
		e.OriginCustomerID, e.Actor, e.Reason = a.CustomerID, a.Actor, a.Reason
		if _, err := tx.AddEntry(ctx, e); err != nil {
			return err
		}
		out = e
		return nil
	})
	if err != nil {
		return domain.LedgerEntry{}, fmt.Errorf("adjust points: %w", err)
	}
	return out, nil
}
