package domain

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/merges"
)

// ErrMergeConflict means a merge contradicts an earlier one (see
// merges.ErrConflict).
var ErrMergeConflict = merges.ErrConflict

// MaxMergeHops bounds how many merges a lookup follows (see
// merges.MaxHops).
const MaxMergeHops = merges.MaxHops

// Merge is one customer folded into another: the merged customer's
// messages and consents become the survivor's, and events naming the
// merged customer later count for the survivor. Its rules (validation, when
// it still moves anything) are the ones every service applies.
type Merge = merges.Merge

// ReasonMerged is the status reason of a message queued for a customer
// merged into another before it went out, which the survivor does not
// get: it has its own of the kind (a welcome, a greeting of the day), the
// day was the merged record's birthday, or the survivor is unknown here.
const ReasonMerged = "customer merged into another record before sending"

// ReaddressKey returns the idempotency key a queued message of the merged
// customer takes when it goes to the survivor instead. Keys that name the
// customer (welcome, birthday, holiday and member-day greetings, campaign
// messages) name the survivor, so the survivor still gets one message of
// each, and a taken key says they have theirs; keys of an event keep
// theirs.
func ReaddressKey(key string, m Merge) string {
	return strings.ReplaceAll(key, m.MergedID, m.SurvivorID)
}

// BornOn reports whether r's birthday is the local date of t in r's zone
// (29 February counting on 28 February of other years).
func (r Recipient) BornOn(t time.Time) bool {
	for _, md := range BirthdayDates(t.In(r.Location())) {
		if md.Month == r.BirthMonth && md.Day == r.BirthDay {
			return true
		}
	}
	return false
}

// Erasure is a customer's personal data being erased everywhere: here the
// addresses and texts of their messages (see Message.Erase), their
// profile, and what the channels kept of them.
type Erasure = merges.Erasure

// Failure reasons erasure leaves.
const (
	// ReasonErased is the failure reason of a message still queued when its
	// customer was erased: it is never sent.
	ReasonErased = "customer's personal data erased before sending"
	// ReasonRemoved replaces a channel's failure reason on erasure, since
	// a channel's refusal may quote the address.
	ReasonRemoved = "failure reason removed with the customer's personal data"
)

// Erase removes the personal data of m, a message to an erased customer:
// the address, and the subject and body, which carry the name. A message
// still queued fails with ReasonErased, and queued reports that it did, so
// the caller publishes its MessageFailed. The reasons this service writes
// itself name no one and stay; a channel's own (which may quote the
// address) goes.
func (m *Message) Erase() (queued bool) {
	m.Address, m.Subject, m.Body, m.HTMLBody, m.UnsubscribeURL = "", "", "", "", ""
	if m.Status == StatusQueued {
		m.Status = StatusFailed
		m.FailureReason = ReasonErased
		m.StatusReason = ""
		return true
	}
	if !ownReason(m.FailureReason) {
		m.FailureReason = ReasonRemoved
	}
	if !ownReason(m.StatusReason) {
		m.StatusReason = ReasonRemoved
	}
	return false
}

// ownReason reports whether reason is one this service writes, which names
// no one.
func ownReason(reason string) bool {
	switch reason {
	case "", ReasonNoContact, ReasonNoTemplate, ReasonErased, ReasonRemoved, ReasonCampaignCancelled, ReasonUnknownCustomer,
		ReasonMissedDay, ReasonMerged:
		return true
	}
	return isConsentRefusal(reason) || strings.HasPrefix(reason, "frequency cap: ") || strings.HasPrefix(reason, "deferred: quiet hours ")
}

// ReasonUnknownCustomer is the failure reason of a campaign message to a
// segment member the service has no profile of.
const ReasonUnknownCustomer = "customer unknown to the notification service"

func isID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
