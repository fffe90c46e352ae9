// Package domain holds the notification service's rules: which channel
// reaches a customer, which text they get in which language, when a
// message may go out (consent, quiet hours, caps, retries), and how
// campaigns and scheduled greetings run. It knows nothing of proto, SQL or
// NATS; the interfaces it needs are declared here and implemented by the
// adapters.
package domain

import (
	"strings"
	"sync"
	"time"
)

// Channel is how a message reaches its recipient.
type Channel string

// The channels. Customers answer for WeChat and app push too, so their
// consents are kept, though no message chooses those channels yet.
const (
	// ChannelNone marks a message that has no channel because the customer
	// cannot be reached.
	ChannelNone    Channel = ""
	ChannelEmail   Channel = "EMAIL"
	ChannelSMS     Channel = "SMS"
	ChannelWeChat  Channel = "WECHAT"
	ChannelPush    Channel = "PUSH"
	ChannelWebhook Channel = "WEBHOOK"
)

// Valid reports whether c is a channel customers answer consent for.
func (c Channel) Valid() bool {
	switch c {
	case ChannelEmail, ChannelSMS, ChannelWeChat, ChannelPush:
		return true
	}
	return false
}

// Status is where a message is in its delivery.
type Status string

// The states of a message. QUEUED moves to SENT, FAILED or SUPPRESSED
// once; SENT may become DELIVERED when the provider reports it.
const (
	StatusQueued     Status = "QUEUED"
	StatusSent       Status = "SENT"
	StatusDelivered  Status = "DELIVERED"
	StatusFailed     Status = "FAILED"
	StatusSuppressed Status = "SUPPRESSED"
)

// ReasonNoContact is the failure reason of a message to a customer with
// neither an email address nor a phone number.
const ReasonNoContact = "no email or phone to reach the customer"

// ReasonNoTemplate is the failure reason of a message whose kind has no
// template on any channel that reaches the customer.
const ReasonNoTemplate = "no template of the kind on a channel that reaches the customer"

// Recipient is what the service keeps of a customer to write to them: the
// read model built from customer events. Erasure removes it.
type Recipient struct {
	CustomerID string
	Name       string
	Email      string
	Phone      string
	// Locale is a BCP 47 tag such as "zh-CN"; empty means the default
	// market's language, Chinese.
	Locale string
	// TimeZone is an IANA zone; empty means DefaultTimeZone.
	TimeZone string
	// BirthMonth and BirthDay are 0 when the birthday is unknown.
	BirthMonth int
	BirthDay   int
}

// DefaultTimeZone is the zone of a customer who named none.
const DefaultTimeZone = "Asia/Shanghai"

// Location returns the recipient's time zone, DefaultTimeZone when it is
// empty or unknown.
func (r Recipient) Location() *time.Location {
	return LoadLocation(r.TimeZone)
}

// LoadLocation loads an IANA zone, DefaultTimeZone when it is empty or
// unknown. Zones are parsed once and kept: a campaign asks for the same
// few zones a hundred thousand times.
func LoadLocation(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if name != "" && err == nil {
		locations.Store(name, loc)
		return loc
	}
	if loc, err = time.LoadLocation(DefaultTimeZone); err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	if name == "" {
		locations.Store(name, loc)
	}
	return loc
}

// locations caches LoadLocation by name: only real zones (and ""), so
// junk in a profile cannot grow it.
var locations sync.Map

// Message is one message to one customer or agent.
type Message struct {
	ID         string
	CustomerID string
	// AgentID is set, and CustomerID empty, for a notice to an agent.
	AgentID    string
	CampaignID string
	Channel    Channel
	// Address is the email address, phone number or agent id the message
	// goes to; empty when the customer cannot be reached.
	Address string
	// Template is the message's kind.
	Template string
	Locale   string
	Subject  string
	Body     string
	// HTMLBody is the email's HTML part, "" for text only.
	HTMLBody string
	// UnsubscribeURL is the one-click unsubscribe link of an email,
	// sent in its List-Unsubscribe header; "" for none.
	UnsubscribeURL string
	Status         Status
	// FailureReason says why a FAILED message failed.
	FailureReason string
	// StatusReason says why a message is SUPPRESSED, or why a QUEUED one
	// waits (quiet hours, a retry).
	StatusReason string
	CreateTime   time.Time
	// SendTime is when the channel accepted the message; zero until then.
	SendTime time.Time
	// NotBefore is the earliest time the message may go out.
	NotBefore time.Time
	// TimeZone is the recipient's, for quiet hours.
	TimeZone string
	// IdempotencyKey makes the trigger that created the message create it
	// once ("birthday:<customer>:2025"); empty for none.
	IdempotencyKey string
	Attempts       int
	DeadLetter     bool
	// Vars are the event's values the message was rendered with (not the
	// customer's own), kept so a queued message can be rendered again for
	// the survivor of a merge.
	Vars Vars
}

// Delivery is what a channel is asked to deliver.
type Delivery struct {
	MessageID  string
	CustomerID string
	AgentID    string
	Channel    Channel
	Address    string
	// Template is carried so a channel can log what kind of message it
	// handled without logging its personal content.
	Template string
	Locale   string
	Subject  string
	Body     string
	// HTMLBody, when set, goes with Body as an email's HTML part.
	HTMLBody string
	// UnsubscribeURL, when set, is an email's List-Unsubscribe link
	// (RFC 2369, one-click per RFC 8058).
	UnsubscribeURL string
}

// Delivery returns what the channel needs to deliver m.
func (m Message) Delivery() Delivery {
	return Delivery{
		MessageID:  m.ID,
		CustomerID: m.CustomerID,
		AgentID:    m.AgentID,
		Channel:    m.Channel,
		Address:    m.Address,
		Template:   m.Template,
		Locale:     m.Locale,
		Subject:    m.Subject,
		Body:       m.Body,
		HTMLBody:   m.HTMLBody,

		UnsubscribeURL: m.UnsubscribeURL,
	}
}

// ChooseChannel picks how to reach r with a message of purpose p, given
// r's consents: email when they have an address, otherwise SMS when they
// have a phone, skipping a channel the consents refuse. ok is false when no
// channel is left; refusal then says why the preferred reachable channel
// was refused, and is empty when r has neither address nor phone.
func ChooseChannel(r Recipient, p Purpose, consents Consents) (ch Channel, address, refusal string, ok bool) {
	return chooseChannel(r, p, consents, nil)
}

func chooseChannel(r Recipient, p Purpose, consents Consents, usable func(Channel) bool) (ch Channel, address, refusal string, ok bool) {
	candidates := []struct {
		ch      Channel
		address string
	}{
		{ChannelEmail, strings.TrimSpace(r.Email)},
		{ChannelSMS, strings.TrimSpace(r.Phone)},
	}
	for _, c := range candidates {
		if c.address == "" || (usable != nil && !usable(c.ch)) {
			continue
		}
		if why := Refusal(p, c.ch, consents[c.ch]); why != "" {
			if refusal == "" {
				refusal = why
			}
			continue
		}
		return c.ch, c.address, "", true
	}
	return ChannelNone, "", refusal, false
}

// Draft is what a trigger asks for: a message of Kind to Recipient.
type Draft struct {
	ID        string
	Kind      Kind
	Recipient Recipient
	// Vars are the event's values; the customer's own (name) are added.
	Vars Vars
	// NotBefore delays the message (a greeting at the morning hour).
	NotBefore      time.Time
	IdempotencyKey string
	CampaignID     string
	// UnsubscribeURL makes the link for a channel; locale is the
	// template locale the link's page should speak.
	UnsubscribeURL func(customerID string, ch Channel, locale string) string
	// Skip, when set, is why a message that could go out is not sent: it
	// is kept SUPPRESSED with this reason (a dated greeting that would
	// miss its day).
	Skip string
}

// NewMessage renders d on a channel the recipient's consents allow and
// that has a template of the kind. A recipient that cannot be reached
// still gets a message so the attempt shows in their history: FAILED with
// ReasonNoContact, or SUPPRESSED with the consent refusal when every
// channel that reaches them is refused.
func NewMessage(d Draft, templates *TemplateSet, consents Consents, now time.Time) Message {
	r := d.Recipient
	m := Message{
		ID:             d.ID,
		CustomerID:     r.CustomerID,
		CampaignID:     d.CampaignID,
		Template:       d.Kind.Name,
		Locale:         TemplateLocale(r.Locale),
		Status:         StatusQueued,
		CreateTime:     now.UTC(),
		NotBefore:      d.NotBefore.UTC(),
		TimeZone:       r.TimeZone,
		IdempotencyKey: d.IdempotencyKey,
		Vars:           d.Vars,
	}
	if m.NotBefore.IsZero() || m.NotBefore.Before(m.CreateTime) {
		m.NotBefore = m.CreateTime
	}
	usable := func(ch Channel) bool { return templates.Has(d.Kind.Name, ch) }
	ch, address, refusal, ok := chooseChannel(r, d.Kind.Purpose, consents, usable)
	// The text is rendered even for a message that does not go out, on the
	// channel it would have used, so the history shows what was meant.
	textChannel := ch
	if !ok {
		textChannel = ChannelEmail
		if strings.TrimSpace(r.Email) == "" && strings.TrimSpace(r.Phone) != "" {
			textChannel = ChannelSMS
		}
	}
	if t, found := templates.Find(d.Kind.Name, textChannel, r.Locale); found {
		m.Locale = t.Locale
		vars := DraftVars(d, textChannel)
		// Saved templates were validated: rendering cannot fail.
		m.Subject, m.Body, _ = t.Render(vars)
		if textChannel == ChannelEmail {
			m.HTMLBody, _ = t.RenderHTML(vars)
			m.UnsubscribeURL = vars[VarUnsubscribeURL]
		}
	}
	switch {
	case ok && d.Skip != "":
		m.Channel, m.Address = ch, address
		m.Status, m.StatusReason = StatusSuppressed, d.Skip
	case ok:
		m.Channel, m.Address = ch, address
	case refusal != "":
		m.Status = StatusSuppressed
		m.StatusReason = refusal
	case strings.TrimSpace(r.Email) == "" && strings.TrimSpace(r.Phone) == "":
		m.Status = StatusFailed
		m.FailureReason = ReasonNoContact
	default:
		m.Status = StatusFailed
		m.FailureReason = ReasonNoTemplate
	}
	return m
}

// DraftVars returns the values d renders with on ch: its event values, the
// customer's name (a polite stand-in when unknown) and unsubscribe link.
func DraftVars(d Draft, ch Channel) Vars {
	vars := make(Vars, len(d.Vars)+2)
	for k, v := range d.Vars {
		vars[k] = v
	}
	name := strings.TrimSpace(d.Recipient.Name)
	if name == "" {
		name = "尊敬的客户"
		if LanguageFor(d.Recipient.Locale) == LanguageEnglish {
			name = "valued customer"
		}
	}
	vars[VarName] = name
	if d.UnsubscribeURL != nil && d.Recipient.CustomerID != "" {
		vars[VarUnsubscribeURL] = d.UnsubscribeURL(d.Recipient.CustomerID, ch, TemplateLocale(d.Recipient.Locale))
	}
	return vars
}

// NewAgentMessage renders a notice of an agent kind to agentID, delivered
// by webhook.
func NewAgentMessage(id, agentID string, kind Kind, vars Vars, templates *TemplateSet, idempotencyKey string, now time.Time) Message {
	m := Message{
		ID:             id,
		AgentID:        agentID,
		Channel:        ChannelWebhook,
		Address:        agentID,
		Template:       kind.Name,
		Locale:         LocaleChinese,
		Status:         StatusQueued,
		CreateTime:     now.UTC(),
		NotBefore:      now.UTC(),
		IdempotencyKey: idempotencyKey,
	}
	t, ok := templates.Find(kind.Name, ChannelWebhook, LocaleChinese)
	if !ok {
		m.Status = StatusFailed
		m.FailureReason = ReasonNoTemplate
		return m
	}
	m.Subject, m.Body, _ = t.Render(vars)
	return m
}
