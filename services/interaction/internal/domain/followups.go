package domain

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Follow-up triggers and reasons.
const (
	TriggerPurchase     = "purchase"
	TriggerCaseResolved = "case_resolved"
	TriggerWarrantyEnd  = "warranty_end"
	ReasonManual        = "manual"
)

// Follow-up statuses.
const (
	FollowupScheduled = "scheduled"
	FollowupDue       = "due"
	FollowupDone      = "done"
)

// FollowupRule schedules follow-ups (回访) when something happens: a
// purchase of at least MinAmount (due Offset after it), a resolved case
// (Offset after the resolution), a purchase with a warranty (Offset before
// the warranty ends).
type FollowupRule struct {
	ID         string
	Name       string
	Trigger    string
	MinAmount  Money
	Offset     time.Duration
	AgentID    string
	Note       string
	Channel    Channel
	CreateTime time.Time
}

// Validate checks a new rule.
func (r *FollowupRule) Validate() validation.Violations {
	var v validation.Violations
	switch r.Trigger {
	case TriggerPurchase, TriggerCaseResolved, TriggerWarrantyEnd:
	default:
		v.Add("trigger", "is required")
	}
	if !r.MinAmount.IsZero() {
		if r.Trigger == TriggerCaseResolved {
			v.Add("min_amount", "applies to purchases only")
		}
		if !currencyCode.MatchString(r.MinAmount.CurrencyCode) {
			v.Add("min_amount.currency_code", "must be an ISO 4217 code of 3 upper-case letters")
		}
		if r.MinAmount.AmountMinor < 0 || r.MinAmount.AmountMinor > MaxAmountMinor {
			v.Add("min_amount.amount_minor", "must be between 0 and 10^13")
		}
	}
	if r.Offset < 0 {
		v.Add("offset", "must not be negative")
	}
	if r.Offset > 10*365*24*time.Hour {
		v.Add("offset", "must be at most 10 years")
	}
	if !r.Channel.valid() {
		v.Add("channel", "unknown channel")
	}
	checkKey(&v, "agent_id", r.AgentID)
	checkKey(&v, "name", r.Name)
	if utf8.RuneCountInString(r.Note) > MaxSummaryRunes {
		v.Add("note", fmt.Sprintf("must be at most %d characters", MaxSummaryRunes))
	}
	return v
}

// Followup is a scheduled call or visit.
type Followup struct {
	ID            string
	CustomerID    string
	AgentID       string
	Reason        string
	DueTime       time.Time
	Note          string
	Channel       Channel
	Status        string
	RuleID        string
	SourceID      string
	InteractionID string
	CreateTime    time.Time
	CompleteTime  time.Time
}

// Validate checks a follow-up scheduled by hand.
func (f *Followup) Validate() validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, "customer_id", f.CustomerID)
	if f.DueTime.IsZero() {
		v.Add("due_time", "is required")
	}
	if !f.Channel.valid() {
		v.Add("channel", "unknown channel")
	}
	checkKey(&v, "agent_id", f.AgentID)
	if utf8.RuneCountInString(f.Note) > MaxSummaryRunes {
		v.Add("note", fmt.Sprintf("must be at most %d characters", MaxSummaryRunes))
	}
	return v
}

func (r FollowupRule) followup(customer, agent, source string, due, now time.Time) Followup {
	if r.AgentID != "" {
		agent = r.AgentID
	}
	return Followup{CustomerID: customer, AgentID: agent, Reason: r.Trigger, DueTime: due.UTC().Truncate(time.Microsecond),
		Note: r.Note, Channel: r.Channel, Status: FollowupScheduled, RuleID: r.ID, SourceID: source, CreateTime: now}
}

func (r FollowupRule) amountApplies(total Money) bool {
	return r.MinAmount.IsZero() || total.CurrencyCode == r.MinAmount.CurrencyCode && total.AmountMinor >= r.MinAmount.AmountMinor
}

// FollowupsForPurchase returns the follow-ups the rules schedule for a
// recorded interaction (none unless it is a purchase). Ids are left to the
// caller.
func FollowupsForPurchase(rules []FollowupRule, in Interaction, now time.Time) []Followup {
	p := in.Purchase
	if p == nil {
		return nil
	}
	var out []Followup
	for _, r := range rules {
		switch {
		case r.Trigger == TriggerPurchase && r.amountApplies(p.Total):
			out = append(out, r.followup(in.CustomerID, in.AgentID, in.ID, in.OccurTime.Add(r.Offset), now))
		case r.Trigger == TriggerWarrantyEnd && !p.WarrantyEnd.IsZero() && r.amountApplies(p.Total):
			out = append(out, r.followup(in.CustomerID, in.AgentID, in.ID, p.WarrantyEnd.Add(-r.Offset), now))
		}
	}
	return out
}

// FollowupsForCase returns the follow-ups the rules schedule for a case
// resolved at now by agent.
func FollowupsForCase(rules []FollowupRule, c Case, agent string, now time.Time) []Followup {
	var out []Followup
	for _, r := range rules {
		if r.Trigger == TriggerCaseResolved {
			out = append(out, r.followup(c.CustomerID, agent, c.ID, now.Add(r.Offset), now))
		}
	}
	return out
}

// FollowupDueEvent is emitted when a follow-up comes due; notification
// tells its agent.
type FollowupDueEvent struct {
	Followup Followup
}

func (FollowupDueEvent) isEvent() {}
