package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// Followups keeps follow-up rules, schedules and completes follow-ups,
// and announces the ones that fall due.
type Followups struct{ *core }

// CreateFollowupRule stores a rule; it applies to what happens from now on.
func (s *Followups) CreateFollowupRule(ctx context.Context, r domain.FollowupRule) (domain.FollowupRule, error) {
	if err := r.Validate().Nest("rule").Err(); err != nil {
		return r, fmt.Errorf("create followup rule: %w", err)
	}
	var err error
	if r.ID, err = newID(); err != nil {
		return r, err
	}
	r.CreateTime = s.clock()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.InsertFollowupRule(ctx, r) }); err != nil {
		return r, fmt.Errorf("create followup rule: %w", err)
	}
	s.rules.forget()
	return r, nil
}

// rulesTTL is how long a replica reuses the follow-up rules it read:
// every purchase is matched against them, and they change rarely. A rule
// created on this replica applies at once, one created on another within
// the TTL.
const rulesTTL = time.Second

// rulesCache holds the follow-up rules last read.
type rulesCache struct {
	mu    sync.Mutex
	rules []domain.FollowupRule
	at    time.Time
	gen   int // bumped by forget, so a read older than a change is not kept
}

// get returns the rules, read at most rulesTTL ago.
func (c *rulesCache) get(ctx context.Context, read func(context.Context) ([]domain.FollowupRule, error)) ([]domain.FollowupRule, error) {
	c.mu.Lock()
	rules, fresh, gen := c.rules, c.rules != nil && time.Since(c.at) < rulesTTL, c.gen
	c.mu.Unlock()
	if fresh {
		return rules, nil
	}
	// Read without the mutex: concurrent callers waiting for it while the
	// read waits for a connection would stall every purchase.
	rules, err := read(ctx)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = []domain.FollowupRule{}
	}
	c.mu.Lock()
	if c.gen == gen {
		c.rules, c.at = rules, time.Now()
	}
	c.mu.Unlock()
	return rules, nil
}

// forget drops the cache after this replica changed the rules.
func (c *rulesCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules = nil
	c.gen++
}

// ListFollowupRules returns every rule.
func (s *Followups) ListFollowupRules(ctx context.Context) ([]domain.FollowupRule, error) {
	return s.store.ListFollowupRules(ctx)
}

// scheduleFollowups gives ids to the follow-ups rules produced and stores
// them inside tx.
func scheduleFollowups(ctx context.Context, tx domain.Tx, fs []domain.Followup) error {
	if len(fs) == 0 {
		return nil
	}
	for i := range fs {
		id, err := newID()
		if err != nil {
			return err
		}
		fs[i].ID = id
	}
	return tx.InsertFollowups(ctx, fs)
}

// purchaseRules returns the rules that may apply to purchases, loaded only
// when some interaction is a purchase.
func (s *core) purchaseRules(ctx context.Context, ins ...domain.Interaction) ([]domain.FollowupRule, error) {
	for _, in := range ins {
		if in.Purchase != nil {
			return s.rules.get(ctx, s.store.ListFollowupRules)
		}
	}
	return nil, nil
}

// CreateFollowup schedules a follow-up by hand.
func (s *Followups) CreateFollowup(ctx context.Context, f domain.Followup) (domain.Followup, error) {
	if err := f.Validate().Nest("followup").Err(); err != nil {
		return f, fmt.Errorf("create followup: %w", err)
	}
	customerID, err := s.resolveCustomer(ctx, f.CustomerID)
	if err != nil {
		return f, fmt.Errorf("create followup: %w", err)
	}
	now := s.clock()
	f.CustomerID, f.Reason, f.Status, f.CreateTime = customerID, domain.ReasonManual, domain.FollowupScheduled, now
	f.DueTime = f.DueTime.UTC().Truncate(time.Microsecond)
	fs := []domain.Followup{f}
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return scheduleFollowups(ctx, tx, fs) }); err != nil {
		return f, fmt.Errorf("create followup: %w", err)
	}
	return fs[0], nil
}

// ListFollowups is the input of Followups.ListFollowups.
type ListFollowups struct {
	Filter   string
	PageSize int
	After    *domain.Cursor
}

// FollowupPage is one page of follow-ups.
type FollowupPage struct {
	Followups []domain.Followup
	Next      *domain.Cursor
}

// ListFollowups returns follow-ups soonest due first.
func (s *Followups) ListFollowups(ctx context.Context, q ListFollowups) (FollowupPage, error) {
	if q.PageSize < 0 {
		var v validation.Violations
		v.Add("page_size", "must not be negative")
		return FollowupPage{}, fmt.Errorf("list followups: %w", v.Err())
	}
	size := pageSize(q.PageSize)
	list, err := s.store.ListFollowups(ctx, domain.FollowupQuery{Filter: q.Filter, After: q.After, Limit: size + 1})
	if err != nil {
		return FollowupPage{}, fmt.Errorf("list followups: %w", err)
	}
	page := FollowupPage{Followups: list}
	if len(list) > size {
		page.Followups = list[:size]
		last := list[size-1]
		page.Next = &domain.Cursor{OccurTime: last.DueTime, ID: last.ID}
	}
	return page, nil
}

// CompleteFollowup is the input of Followups.CompleteFollowup.
type CompleteFollowup struct {
	ID      string
	Summary string
	Kind    domain.Kind
	Channel domain.Channel
	AgentID string
}

// CompleteFollowup records the call or visit made on the customer's
// timeline and closes the follow-up.
func (s *Followups) CompleteFollowup(ctx context.Context, cmd CompleteFollowup) (domain.Followup, error) {
	v := domain.ValidateCustomerID("id", cmd.ID)
	if cmd.Kind == domain.KindUnspecified {
		cmd.Kind = domain.KindCall
	}
	if len(cmd.Summary) > 4*domain.MaxSummaryRunes {
		v.Add("summary", fmt.Sprintf("must be at most %d characters", domain.MaxSummaryRunes))
	}
	if err := v.Err(); err != nil {
		return domain.Followup{}, fmt.Errorf("complete followup: %w", err)
	}
	now := s.clock()
	var out domain.Followup
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		f, err := tx.LockFollowup(ctx, cmd.ID)
		if err != nil {
			return err
		}
		if f.Status == domain.FollowupDone {
			return &domain.PreconditionError{Msg: "the follow-up was completed already"}
		}
		in := domain.Interaction{CustomerID: f.CustomerID, Kind: cmd.Kind, Channel: cmd.Channel, Direction: domain.DirectionOutbound,
			Summary: cmd.Summary, AgentID: cmd.AgentID, OccurTime: now, CreateTime: now,
			Details: map[string]string{"followup_id": f.ID, "followup_reason": f.Reason}}
		if in.Channel == domain.ChannelUnspecified {
			in.Channel = f.Channel
		}
		if in.AgentID == "" {
			in.AgentID = f.AgentID
		}
		if in.Summary == "" {
			in.Summary = f.Note
		}
		if v := in.ValidateContent(now); len(v) > 0 {
			return v.Err()
		}
		if in.ID, err = newID(); err != nil {
			return err
		}
		if err := tx.Insert(ctx, domain.Keyed{Interaction: in}); err != nil {
			return err
		}
		for _, ev := range domain.RecordedEvents(in) {
			if err := tx.Publish(ctx, ev); err != nil {
				return err
			}
		}
		f.Status, f.InteractionID, f.CompleteTime = domain.FollowupDone, in.ID, now
		out = f
		return tx.UpdateFollowup(ctx, f)
	})
	if err != nil {
		return domain.Followup{}, fmt.Errorf("complete followup: %w", err)
	}
	return out, nil
}

// CheckFollowups marks scheduled follow-ups due by now as due and
// publishes interaction.followup.due for each. It returns how many.
func (s *Followups) CheckFollowups(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.clock()
		due, err := s.store.DueFollowups(ctx, now, slaBatch)
		if err != nil {
			return n, fmt.Errorf("check followups: %w", err)
		}
		for _, d := range due {
			err := s.store.InTx(ctx, func(tx domain.Tx) error {
				f, err := tx.LockFollowup(ctx, d.ID)
				if err != nil || f.Status != domain.FollowupScheduled {
					return err
				}
				f.Status = domain.FollowupDue
				if err := tx.UpdateFollowup(ctx, f); err != nil {
					return err
				}
				return tx.Publish(ctx, domain.FollowupDueEvent{Followup: f})
			})
			if err != nil {
				return n, fmt.Errorf("check followups: %w", err)
			}
			n++
		}
		if len(due) < slaBatch {
			return n, nil
		}
	}
}

// RunScheduled checks SLAs and due follow-ups once (the service runs it
// once per interval across its replicas); a failure of one check does not
// skip the other.
func (s *Service) RunScheduled(ctx context.Context) error {
	_, slaErr := s.Cases.CheckSLA(ctx)
	_, followupErr := s.Followups.CheckFollowups(ctx)
	return errors.Join(slaErr, followupErr)
}
