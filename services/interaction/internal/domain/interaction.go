// Package domain holds the interaction service's entities and rules: what an
// interaction and a purchase are, what makes one valid, the events recording
// one produces, and the interfaces the service needs from the outside world.
package domain

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Kind is what happened in an interaction.
type Kind string

// The kinds of interaction. KindUnspecified is only an input value: Normalize
// turns it into KindPurchase or KindNote.
const (
	KindUnspecified Kind = ""
	KindPurchase    Kind = "purchase"
	KindCall        Kind = "call"
	KindMessage     Kind = "message"
	KindMeeting     Kind = "meeting"
	KindComplaint   Kind = "complaint"
	KindNote        Kind = "note"
	KindInquiry     Kind = "inquiry"
	KindReturn      Kind = "return"
	KindRepair      Kind = "repair_request"
	KindFeedback    Kind = "feedback"
	KindVisit       Kind = "visit"
	KindSurvey      Kind = "survey_response"
)

// Direction says who started a contact; DirectionUnspecified means not
// known.
type Direction string

// The directions.
const (
	DirectionUnspecified Direction = ""
	DirectionInbound     Direction = "inbound"
	DirectionOutbound    Direction = "outbound"
)

// Channel is where an interaction took place; ChannelUnspecified means the
// reporting system did not say.
type Channel string

// The channels.
const (
	ChannelUnspecified Channel = ""
	ChannelPhone       Channel = "phone"
	ChannelEmail       Channel = "email"
	ChannelSMS         Channel = "sms"
	ChannelWeb         Channel = "web"
	ChannelSocial      Channel = "social"
	ChannelInPerson    Channel = "in_person"
	ChannelFax         Channel = "fax"
	ChannelPartner     Channel = "partner"
	ChannelApp         Channel = "app"
	ChannelCallCenter  Channel = "call_center"
	ChannelWeChat      Channel = "wechat"
	ChannelStore       Channel = "store"
)

// Limits on what one interaction may carry.
const (
	// MaxSummaryRunes bounds the summary: it is a short human note, not a
	// transcript.
	MaxSummaryRunes = 2000
	// MaxFutureSkew is how far ahead of the service's clock an occur time
	// may be; reporting systems' clocks drift and time zones get mixed up,
	// but a purchase next week is a mistake.
	MaxFutureSkew = 24 * time.Hour
	// MaxKeyLength bounds source, source_id and request_id, which are keys.
	MaxKeyLength = 256
	// MaxLines bounds the lines of one purchase.
	MaxLines = 1000
	// MaxDetails bounds the channel-specific details of one interaction,
	// and MaxDetailBytes each key and value.
	MaxDetails     = 50
	MaxDetailBytes = 2000
	// MaxAmountMinor bounds one amount (10^13 minor units: 100 billion
	// yuan), so the sums that loyalty and segmentation keep per customer
	// cannot overflow int64 and refuse an event this service accepted.
	MaxAmountMinor = 10_000_000_000_000
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Money is an exact amount in minor units of one ISO 4217 currency.
type Money struct {
	CurrencyCode string
	AmountMinor  int64
}

// IsZero reports whether m is the zero Money, i.e. no amount was given.
func (m Money) IsZero() bool { return m == Money{} }

// Interaction is one contact with a customer on one channel.
type Interaction struct {
	ID         string
	CustomerID string
	Kind       Kind
	Channel    Channel
	OccurTime  time.Time
	Summary    string
	// Source and SourceID identify the interaction in the system that
	// reported it; together they make a report idempotent.
	Source   string
	SourceID string
	// Purchase is set exactly when Kind is KindPurchase.
	Purchase *Purchase
	// Return is set exactly when Kind is KindReturn.
	Return     *Return
	CreateTime time.Time
	Direction  Direction
	AgentID    string
	TeamID     string
	// CaseID links the interaction to the case it belongs to.
	CaseID string
	// Details are channel-specific facts (call duration, queue, WeChat
	// openid, store id) kept as given.
	Details map[string]string
}

// Return is (part of) a purchase given back.
type Return struct {
	PurchaseInteractionID string
	OrderID               string
	Refund                Money
	Lines                 []PurchaseLine
	Reason                string
}

// Purchase is what a customer bought in one transaction.
type Purchase struct {
	Total   Money
	OrderID string
	Lines   []PurchaseLine
	// WarrantyEnd is when the warranty of what was bought ends; zero when
	// there is none.
	WarrantyEnd time.Time
}

// PurchaseLine is one product of a purchase.
type PurchaseLine struct {
	SKU         string
	ProductName string
	Category    string
	Quantity    int64
	UnitPrice   Money
}

// Normalize fills the defaults of a new interaction: the kind from whether a
// purchase is present, the occur time from now. Times are kept in UTC at
// microsecond precision, the precision they are stored with, so what a
// caller gets back from recording equals what it later lists.
func (in *Interaction) Normalize(now time.Time) {
	if in.Kind == KindUnspecified {
		switch {
		case in.Purchase != nil:
			in.Kind = KindPurchase
		case in.Return != nil:
			in.Kind = KindReturn
		default:
			in.Kind = KindNote
		}
	}
	if in.OccurTime.IsZero() {
		in.OccurTime = now
	}
	in.OccurTime = in.OccurTime.UTC().Truncate(time.Microsecond)
	if in.Purchase != nil && !in.Purchase.WarrantyEnd.IsZero() {
		in.Purchase.WarrantyEnd = in.Purchase.WarrantyEnd.UTC().Truncate(time.Microsecond)
	}
}

// Validate checks a normalized interaction against the rules for a new one;
// now is the service's clock. Field paths are relative to the interaction
// ("purchase.total.amount_minor"); validation.Violations.Nest places them in
// an input.
func (in *Interaction) Validate(now time.Time) validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, "customer_id", in.CustomerID)
	return append(v, in.ValidateContent(now)...)
}

// ValidateContent is Validate without the customer, for ingested events
// whose customer is found by phone afterwards.
func (in *Interaction) ValidateContent(now time.Time) validation.Violations {
	var v validation.Violations
	if !in.Kind.valid() {
		v.Add("kind", fmt.Sprintf("unknown kind %q", string(in.Kind)))
	}
	if !in.Channel.valid() {
		v.Add("channel", fmt.Sprintf("unknown channel %q", string(in.Channel)))
	}
	if in.OccurTime.After(now.Add(MaxFutureSkew)) {
		v.Add("occur_time", "must not be more than 24h in the future")
	}
	if n := utf8.RuneCountInString(in.Summary); n > MaxSummaryRunes {
		v.Add("summary", fmt.Sprintf("must be at most %d characters, got %d", MaxSummaryRunes, n))
	}
	checkKey(&v, "source", in.Source)
	checkKey(&v, "source_id", in.SourceID)
	if in.SourceID != "" && in.Source == "" {
		v.Add("source", "is required when source_id is set")
	}
	switch {
	case in.Kind == KindPurchase && in.Purchase == nil:
		v.Add("purchase", "is required for a purchase")
	case in.Kind != KindPurchase && in.Purchase != nil:
		v.Add("purchase", "is only allowed on a purchase")
	case in.Purchase != nil:
		in.Purchase.validate(&v)
	}
	switch {
	case in.Kind == KindReturn && in.Return == nil:
		v.Add("return", "is required for a return")
	case in.Kind != KindReturn && in.Return != nil:
		v.Add("return", "is only allowed on a return")
	case in.Return != nil:
		in.Return.validate(&v)
	}
	if !in.Direction.valid() {
		v.Add("direction", fmt.Sprintf("unknown direction %q", string(in.Direction)))
	}
	checkKey(&v, "agent_id", in.AgentID)
	checkKey(&v, "team_id", in.TeamID)
	if in.CaseID != "" && uuid.Validate(in.CaseID) != nil {
		v.Add("case_id", "must be a UUID")
	}
	if len(in.Details) > MaxDetails {
		v.Add("details", fmt.Sprintf("must have at most %d entries", MaxDetails))
	}
	for k, val := range in.Details {
		if k == "" || len(k) > MaxDetailBytes || len(val) > MaxDetailBytes {
			v.Add("details", fmt.Sprintf("keys must be 1 to %d bytes and values at most %d", MaxDetailBytes, MaxDetailBytes))
			break
		}
	}
	return v
}

func (r *Return) validate(v *validation.Violations) {
	if r.PurchaseInteractionID == "" && r.OrderID == "" {
		v.Add("return.purchase_interaction_id", "is required when order_id is empty")
	}
	if r.PurchaseInteractionID != "" && uuid.Validate(r.PurchaseInteractionID) != nil {
		v.Add("return.purchase_interaction_id", "must be a UUID")
	}
	checkKey(v, "return.order_id", r.OrderID)
	checkMoney(v, "return.refund", r.Refund)
	if len(r.Lines) > MaxLines {
		v.Add("return.lines", fmt.Sprintf("must have at most %d lines", MaxLines))
		return
	}
	checkLines(v, "return.lines", r.Lines, r.Refund.CurrencyCode)
	if utf8.RuneCountInString(r.Reason) > MaxSummaryRunes {
		v.Add("return.reason", fmt.Sprintf("must be at most %d characters", MaxSummaryRunes))
	}
}

// checkMoney checks a required positive amount.
func checkMoney(v *validation.Violations, field string, m Money) {
	if m.IsZero() {
		v.Add(field, "is required")
		return
	}
	if !currencyCode.MatchString(m.CurrencyCode) {
		v.Add(field+".currency_code", "must be an ISO 4217 code of 3 upper-case letters")
	}
	if m.AmountMinor <= 0 {
		v.Add(field+".amount_minor", "must be positive")
	} else if m.AmountMinor > MaxAmountMinor {
		v.Add(field+".amount_minor", fmt.Sprintf("must be at most %d", MaxAmountMinor))
	}
}

func checkLines(v *validation.Violations, prefix string, lines []PurchaseLine, currency string) {
	for i, l := range lines {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		if l.Quantity <= 0 {
			v.Add(field+".quantity", "must be positive")
		}
		if l.UnitPrice.CurrencyCode != currency {
			v.Add(field+".unit_price.currency_code", fmt.Sprintf("must be the total's currency %q", currency))
		}
		if l.UnitPrice.AmountMinor < 0 {
			v.Add(field+".unit_price.amount_minor", "must not be negative")
		} else if l.UnitPrice.AmountMinor > MaxAmountMinor {
			v.Add(field+".unit_price.amount_minor", fmt.Sprintf("must be at most %d", MaxAmountMinor))
		}
	}
}

func (p *Purchase) validate(v *validation.Violations) {
	checkMoney(v, "purchase.total", p.Total)
	checkKey(v, "purchase.order_id", p.OrderID)
	if len(p.Lines) > MaxLines {
		v.Add("purchase.lines", fmt.Sprintf("must have at most %d lines", MaxLines))
		return
	}
	checkLines(v, "purchase.lines", p.Lines, p.Total.CurrencyCode)
}

func (k Kind) valid() bool {
	switch k {
	case KindPurchase, KindCall, KindMessage, KindMeeting, KindComplaint, KindNote,
		KindInquiry, KindReturn, KindRepair, KindFeedback, KindVisit, KindSurvey:
		return true
	}
	return false
}

func (c Channel) valid() bool {
	switch c {
	case ChannelUnspecified, ChannelPhone, ChannelEmail, ChannelSMS, ChannelWeb, ChannelSocial,
		ChannelInPerson, ChannelFax, ChannelPartner, ChannelApp, ChannelCallCenter, ChannelWeChat, ChannelStore:
		return true
	}
	return false
}

func (d Direction) valid() bool {
	switch d {
	case DirectionUnspecified, DirectionInbound, DirectionOutbound:
		return true
	}
	return false
}

// ValidateCustomerID checks a customer id given as input (to record or to
// list): present and a UUID. field names it in the violation.
func ValidateCustomerID(field, id string) validation.Violations {
	var v validation.Violations
	checkCustomerID(&v, field, id)
	return v
}

// ValidateRequestID checks an idempotency key given with a record request.
func ValidateRequestID(field, id string) validation.Violations {
	var v validation.Violations
	checkKey(&v, field, id)
	return v
}

func checkCustomerID(v *validation.Violations, field, id string) {
	if id == "" {
		v.Add(field, "is required")
		return
	}
	if err := uuid.Validate(id); err != nil {
		v.Add(field, "must be a UUID")
	}
}

func checkKey(v *validation.Violations, field, s string) {
	if len(s) > MaxKeyLength {
		v.Add(field, fmt.Sprintf("must be at most %d bytes", MaxKeyLength))
	}
}

// KindNames are the stored names of the kinds, for filters.
func KindNames() []string {
	return []string{string(KindPurchase), string(KindCall), string(KindMessage), string(KindMeeting),
		string(KindComplaint), string(KindNote), string(KindInquiry), string(KindReturn), string(KindRepair),
		string(KindFeedback), string(KindVisit), string(KindSurvey)}
}

// ChannelNames are the stored names of the channels, for filters.
func ChannelNames() []string {
	return []string{string(ChannelPhone), string(ChannelEmail), string(ChannelSMS), string(ChannelWeb),
		string(ChannelSocial), string(ChannelInPerson), string(ChannelFax), string(ChannelPartner),
		string(ChannelApp), string(ChannelCallCenter), string(ChannelWeChat), string(ChannelStore)}
}

// DirectionNames are the stored names of the directions, for filters.
func DirectionNames() []string {
	return []string{string(DirectionInbound), string(DirectionOutbound)}
}
