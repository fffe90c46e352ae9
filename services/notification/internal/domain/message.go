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

// The channels a message can go out on.
const (
	// ChannelNone marks a message that has no channel because the customer
	// cannot be reached.
	ChannelNone  Channel = ""
	ChannelEmail Channel = "EMAIL"
	ChannelSMS   Channel = "SMS"
)

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

// ChooseChannel picks how to reach r: email when they have an address,
// otherwise SMS when they have a phone. ok is false when neither is known.
func ChooseChannel(r Recipient) (ch Channel, address string, ok bool) {
	if email := strings.TrimSpace(r.Email); email != "" {
		return ChannelEmail, email, true
	}
	if phone := strings.TrimSpace(r.Phone); phone != "" {
		return ChannelSMS, phone, true
	}
	return ChannelNone, "", false
}

// NewMessage renders template name for r and addresses it. A recipient that
// cannot be reached still gets a message, recorded as FAILED with
// ReasonNoContact, so the attempt is visible in their history.
func NewMessage(id string, r Recipient, name string, templates *Templates, now time.Time) (Message, error) {
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
	ch, address, ok := ChooseChannel(r)
	if !ok {
		m.Status = StatusFailed
		m.FailureReason = ReasonNoContact
		return m, nil
	}
	m.Channel = ch
	m.Address = address
	return m, nil
}
