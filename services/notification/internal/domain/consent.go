package domain

import (
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ConsentStatus is a customer's answer on being contacted on one channel.
type ConsentStatus string

// The answers. ConsentUnanswered is also what a customer never asked has.
const (
	ConsentUnanswered ConsentStatus = ""
	ConsentOptedIn    ConsentStatus = "OPTED_IN"
	ConsentOptedOut   ConsentStatus = "OPTED_OUT"
)

// Consent is a customer's latest answer for one channel, as the customer
// service reported it.
type Consent struct {
	CustomerID string
	Channel    Channel
	Status     ConsentStatus
	// Source says where the answer came from, e.g. "signup-form".
	Source string
	// UpdateTime is when the customer gave the answer; it orders answers
	// that reach the service out of order.
	UpdateTime time.Time
}

// Validate checks a consent taken from an event, naming fields as the
// ConsentChanged event does.
func (c Consent) Validate() validation.Violations {
	var v validation.Violations
	if !isID(c.CustomerID) {
		v.Add("customer_id", "must be a UUID")
	}
	if !c.Channel.Valid() {
		v.Add("consent.channel", "must be a channel messages go out on")
	}
	switch c.Status {
	case ConsentUnanswered, ConsentOptedIn, ConsentOptedOut:
	default:
		v.Add("consent.status", "unknown status")
	}
	if c.UpdateTime.IsZero() {
		v.Add("consent.update_time", "is required")
	}
	return v
}

// Supersedes reports whether c replaces old, the answer stored for the same
// customer and channel: an answer given later does, an earlier one (a late
// or replayed event) does not. Of two answers given at the same instant
// an opt-out wins, since wrongly keeping quiet harms nobody.
func (c Consent) Supersedes(old Consent) bool {
	if c.UpdateTime.Equal(old.UpdateTime) {
		return c.Status == ConsentOptedOut && old.Status != ConsentOptedOut
	}
	return c.UpdateTime.After(old.UpdateTime)
}

// Consents are a customer's answers by channel; a channel missing is
// unanswered.
type Consents map[Channel]ConsentStatus

// Purpose is why a message is sent, which decides the consent it needs.
type Purpose string

// The purposes.
const (
	// PurposeService messages serve a relationship the customer started
	// (a welcome, a greeting, a case reply, a tier change): they go out on
	// every channel the customer has not opted out of.
	PurposeService Purpose = "service"
	// PurposeMarketing messages promote (campaigns, member days, win-back
	// offers): they need an opt-in on their channel.
	PurposeMarketing Purpose = "marketing"
)

// Refusal returns why a message of purpose may not go out on ch to a
// customer whose answer for ch is status, or "" when it may.
func Refusal(p Purpose, ch Channel, status ConsentStatus) string {
	switch {
	case status == ConsentOptedOut:
		return "customer opted out of " + channelName(ch)
	case p != PurposeService && status != ConsentOptedIn:
		return "customer has not opted in to " + channelName(ch)
	}
	return ""
}

// isConsentRefusal reports whether reason is one Refusal gives.
func isConsentRefusal(reason string) bool {
	return strings.HasPrefix(reason, "customer opted out of ") || strings.HasPrefix(reason, "customer has not opted in to ")
}

func channelName(ch Channel) string { return strings.ToLower(string(ch)) }
