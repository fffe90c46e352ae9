// Package domain holds the notification service's rules: which channel
// reaches a customer, which text they get in which language, and how a
// message moves from queued to sent or failed. It knows nothing of proto,
// SQL or NATS; the interfaces it needs are declared here and implemented by
// the adapters.
package domain

import (
	"strings"
	"time"
)

// Channel is how a message reaches the customer.
type Channel string

// The channels a message can go out on. Customers answer for WeChat and
// app push too, so their consents are kept, though no message chooses
// those channels yet.
const (
	// ChannelNone marks a message that has no channel because the customer
	// cannot be reached.
	ChannelNone   Channel = ""
	ChannelEmail  Channel = "EMAIL"
	ChannelSMS    Channel = "SMS"
	ChannelWeChat Channel = "WECHAT"
	ChannelPush   Channel = "PUSH"
)

// Valid reports whether c is a channel messages go out on.
func (c Channel) Valid() bool {
	switch c {
	case ChannelEmail, ChannelSMS, ChannelWeChat, ChannelPush:
		return true
	}
	return false
}

// Status is where a message is in its delivery.
type Status string

// The states of a message. QUEUED moves to SENT or FAILED exactly once.
const (
	StatusQueued Status = "QUEUED"
	StatusSent   Status = "SENT"
	StatusFailed Status = "FAILED"
)

// TemplateWelcome is the template of the message every new customer gets.
const TemplateWelcome = "welcome"

// ReasonNoContact is the failure reason of a message to a customer with
// neither an email address nor a phone number.
const ReasonNoContact = "no email or phone to reach the customer"

// Recipient is what the service needs of a customer to write to them. It is
// used to render and address a message and is not stored on its own: only
// the rendered message keeps the name (in its text) and the address.
type Recipient struct {
	CustomerID string
	Name       string
	Email      string
	Phone      string
	// Locale is a BCP 47 tag such as "zh-CN"; empty means the default
	// market's language, Chinese.
	Locale string
}

// Message is one message to one customer.
type Message struct {
	ID         string
	CustomerID string
	Channel    Channel
	// Address is the email address or phone number the message goes to;
	// empty when the customer cannot be reached.
	Address       string
	Template      string
	Subject       string
	Body          string
	Status        Status
	FailureReason string
	CreateTime    time.Time
	// SendTime is when the channel accepted the message; zero until then.
	SendTime time.Time
}

// Delivery is what a channel is asked to deliver.
type Delivery struct {
	MessageID string
	Channel   Channel
	Address   string
	// Template is carried so a channel can log what kind of message it
	// handled without logging its personal content.
	Template string
	Subject  string
	Body     string
}

// Delivery returns what the channel needs to deliver m.
func (m Message) Delivery() Delivery {
	return Delivery{
		MessageID: m.ID,
		Channel:   m.Channel,
		Address:   m.Address,
		Template:  m.Template,
		Subject:   m.Subject,
		Body:      m.Body,
	}
}

// ChooseChannel picks how to reach r with a message of purpose p, given
// r's consents: email when they have an address, otherwise SMS when they
// have a phone, skipping a channel the consents refuse. ok is false when no
// channel is left; refusal then says why the preferred reachable channel
// was refused, and is empty when r has neither address nor phone.
func ChooseChannel(r Recipient, p Purpose, consents Consents) (ch Channel, address, refusal string, ok bool) {
	candidates := []struct {
		ch      Channel
		address string
	}{
		{ChannelEmail, strings.TrimSpace(r.Email)},
		{ChannelSMS, strings.TrimSpace(r.Phone)},
	}
	for _, c := range candidates {
		if c.address == "" {
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

// NewMessage renders template name for r and addresses it on a channel r's
// consents allow. A recipient that cannot be reached still gets a message,
// recorded as FAILED with ReasonNoContact, or with the consent refusal when
// every channel that reaches them is refused, so the attempt is visible in
// their history.
func NewMessage(id string, r Recipient, name string, templates *Templates, consents Consents, now time.Time) (Message, error) {
	subject, body, err := templates.Render(name, r)
	if err != nil {
		return Message{}, err
	}
	m := Message{
		ID:         id,
		CustomerID: r.CustomerID,
		Template:   name,
		Subject:    subject,
		Body:       body,
		Status:     StatusQueued,
		CreateTime: now.UTC(),
	}
	ch, address, refusal, ok := ChooseChannel(r, PurposeOf(name), consents)
	if !ok {
		m.Status = StatusFailed
		m.FailureReason = ReasonNoContact
		if refusal != "" {
			m.FailureReason = refusal
		}
		return m, nil
	}
	m.Channel = ch
	m.Address = address
	return m, nil
}
