package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// ErrUnknownRecipient means an event names a customer whose profile has not
// reached the service yet; the event is retried until it has.
var ErrUnknownRecipient = errors.New("customer not yet known to the notification service")

// Triggers queues the messages that interaction, loyalty and segmentation
// events ask for, and keeps the loyalty programs they name.
type Triggers struct{ *core }

// Notice is one message an event asks for.
type Notice struct {
	Kind string
	Vars domain.Vars
}

// Membership is a loyalty program membership an event reveals.
type Membership struct {
	ProgramID string
	TierCode  string
	TierName  string
	// Joined marks an enrollment: it records the member without changing
	// a tier a tier change may have recorded first.
	Joined bool
}

// Notify queues the notices an event asks for to a customer (the survivor,
// for a merged one), each on a channel the customer's consents allow.
// eventID and consumer make a redelivered event change nothing; the
// idempotency key of each message makes the same event under another id
// change nothing either. An erased customer gets nothing. member, when
// not nil, is recorded for member days.
func (s *Triggers) Notify(ctx context.Context, consumer, eventID, customerID string, member *Membership, notices ...Notice) error {
	var v validation.Violations
	checkUUID(&v, "customer_id", customerID)
	if err := v.Err(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	survivor, err := survivorVia(ctx, s.store.MergedInto, customerID)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	r, known, err := s.store.Recipient(ctx, survivor)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	consents, err := s.store.ConsentsOf(ctx, []string{survivor})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	templates, err := s.templates(ctx)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, consumer, eventID)
		if err != nil || !first {
			return err
		}
		erased, err := tx.Erased(ctx, survivor)
		if err != nil || erased {
			return err
		}
		if member != nil && member.ProgramID != "" {
			save := tx.SaveMember
			if member.Joined {
				save = tx.AddMember
			}
			if err := save(ctx, survivor, member.ProgramID, member.TierCode, member.TierName); err != nil {
				return err
			}
		}
		if len(notices) == 0 {
			return nil
		}
		if !known {
			return ErrUnknownRecipient
		}
		for _, n := range notices {
			kind, ok := domain.LookupKind(n.Kind)
			if !ok {
				return fmt.Errorf("kind %q: %w", n.Kind, domain.ErrUnknownTemplate)
			}
			id, err := newID()
			if err != nil {
				return err
			}
			msg := domain.NewMessage(domain.Draft{
				ID: id, Kind: kind, Recipient: r, Vars: n.Vars, UnsubscribeURL: s.unsubscribeURL,
				IdempotencyKey: "event:" + eventID + ":" + n.Kind,
			}, templates, consents[survivor], now)
			if err := s.createMessages(ctx, tx, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// NotifyAgent queues a notice of an agent kind to an agent, by webhook. A
// notice about a customer (vars name a customer_id) names them as an agent
// knows them: see aboutCustomer.
func (s *Triggers) NotifyAgent(ctx context.Context, consumer, eventID, agentID, kindName string, vars domain.Vars) error {
	var v validation.Violations
	if agentID == "" {
		v.Add("agent_id", "is required")
	}
	kind, ok := domain.LookupKind(kindName)
	if !ok || !kind.Agent {
		v.Add("kind", "is not an agent notice")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("notify agent: %w", err)
	}
	templates, err := s.templates(ctx)
	if err != nil {
		return fmt.Errorf("notify agent: %w", err)
	}
	if vars, err = s.aboutCustomer(ctx, vars); err != nil {
		return fmt.Errorf("notify agent: %w", err)
	}
	id, err := newID()
	if err != nil {
		return fmt.Errorf("notify agent: %w", err)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, consumer, eventID)
		if err != nil || !first {
			return err
		}
		msg := domain.NewAgentMessage(id, agentID, kind, vars, templates, "event:"+eventID+":"+kindName, now)
		return s.createMessages(ctx, tx, msg)
	})
	if err != nil {
		return fmt.Errorf("notify agent: %w", err)
	}
	return nil
}

// aboutCustomer adds to the variables of an agent notice naming a customer
// the customer's name and a link to their record: a UUID alone tells an
// agent nothing. The name comes from the recipients this service keeps
// from customer events, so the notice needs no call to the customer
// service (and adds no audited read); a merged customer is named as the
// survivor, and one not known yet (or erased) by id alone. The name goes
// into the notice only, never into a log.
func (s *Triggers) aboutCustomer(ctx context.Context, vars domain.Vars) (domain.Vars, error) {
	id := vars[domain.VarCustomerID]
	if id == "" {
		return vars, nil
	}
	survivor, err := survivorVia(ctx, s.store.MergedInto, id)
	if err != nil {
		return nil, err
	}
	r, known, err := s.store.Recipient(ctx, survivor)
	if err != nil {
		return nil, err
	}
	out := make(domain.Vars, len(vars)+2)
	maps.Copy(out, vars)
	out[domain.VarCustomerID] = survivor
	if known {
		out[domain.VarCustomerName] = r.Name
	}
	if s.opts.PublicURL != "" {
		out[domain.VarCustomerURL] = strings.TrimSuffix(s.opts.PublicURL, "/") + "/v1/customers/" + url.PathEscape(survivor)
	}
	return out, nil
}

// Enrolment is an event announcing a customer's enrolment in a loyalty
// program.
type Enrolment struct {
	EventID string
	Member  domain.ProgramMember
}

// AddMembers records the enrolments of a consumer's batch as Notify records
// each one's membership (the survivor's, for a merged customer; none for
// an erased one), in one transaction and set-based: the inbox, merges,
// erasures and memberships a statement each for all. An enrolment asks for
// no notice, so a backlog of an import's enrolments is kept up with at the
// speed of the customers it follows.
func (s *Triggers) AddMembers(ctx context.Context, evs []Enrolment) error {
	var v validation.Violations
	for _, ev := range evs {
		checkUUID(&v, "customer_id", ev.Member.CustomerID)
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		handled, err := firstHandled(ctx, tx, ConsumerLoyalty, evs, func(ev Enrolment) string { return ev.EventID })
		if err != nil {
			return err
		}
		var todo []domain.ProgramMember
		for _, ev := range handled {
			if ev.Member.ProgramID != "" {
				todo = append(todo, ev.Member)
			}
		}
		named := make([]string, len(todo))
		for i, m := range todo {
			named[i] = m.CustomerID
		}
		survivors, err := merges.ResolveAll(ctx, tx.MergedIntoMany, named)
		if err != nil {
			return err
		}
		for i := range todo {
			todo[i].CustomerID = survivors[todo[i].CustomerID]
		}
		erased, err := tx.ErasedAmong(ctx, unique(slices.Collect(maps.Values(survivors))))
		if err != nil {
			return err
		}
		todo = slices.DeleteFunc(todo, func(m domain.ProgramMember) bool { return erased[m.CustomerID] })
		if len(todo) == 0 {
			return nil
		}
		return tx.AddMembers(ctx, todo)
	})
	if err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	return nil
}

// ChangeProgram keeps the loyalty program an event announced (its name and
// member-day rules) unless the one kept changed later. eventID makes a
// redelivered event change nothing.
func (s *Triggers) ChangeProgram(ctx context.Context, eventID string, p domain.LoyaltyProgram) error {
	if err := p.Validate().Err(); err != nil {
		return fmt.Errorf("change program: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerLoyalty, eventID)
		if err != nil || !first {
			return err
		}
		_, err = tx.SaveProgram(ctx, p)
		return err
	})
	if err != nil {
		return fmt.Errorf("change program: %w", err)
	}
	return nil
}
