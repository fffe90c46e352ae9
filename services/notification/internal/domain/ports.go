package domain

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownTemplate is returned when a message asks for a template that
// does not exist.
var ErrUnknownTemplate = errors.New("unknown template")

// Sender delivers a message on its channel. An error means the channel
// refused it; its text becomes the message's failure reason.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// MessageSent is the domain event of a message the channel accepted.
type MessageSent struct {
	MessageID  string
	CustomerID string
	Channel    Channel
	Template   string
}

// MessageFailed is the domain event of a message that could not be
// delivered.
type MessageFailed struct {
	MessageID  string
	CustomerID string
	Channel    Channel
	Reason     string
}

// Event is a domain event: MessageSent or MessageFailed.
type Event interface {
	isEvent()
}

func (MessageSent) isEvent()   {}
func (MessageFailed) isEvent() {}

// FailedEvent returns the MessageFailed event of a failed message.
func (m Message) FailedEvent() MessageFailed {
	return MessageFailed{MessageID: m.ID, CustomerID: m.CustomerID, Channel: m.Channel, Reason: m.FailureReason}
}

// Cursor is a position in a customer's message list, newest first: the
// list continues with messages strictly older than (CreateTime, ID).
type Cursor struct {
	CreateTime time.Time
	ID         string
}

// Store keeps messages. Writes go through InTx so that a change, the
// events it causes and the inbox mark of the event that caused it commit
// together.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// ListMessages returns up to limit of the customer's messages, newest
	// first, after the cursor when it is not nil.
	ListMessages(ctx context.Context, customerID string, after *Cursor, limit int) ([]Message, error)
	// ClaimQueued returns up to limit QUEUED messages, oldest first, and
	// reserves them until now+lease so that another dispatcher (another
	// replica) does not send them at the same time. A message whose claim
	// ran out (its dispatcher crashed) can be claimed again.
	ClaimQueued(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// ConsentStatus returns the customer's answer for ch; ConsentUnanswered
	// when there is none.
	ConsentStatus(ctx context.Context, customerID string, ch Channel) (ConsentStatus, error)
}

// Tx is a store transaction.
type Tx interface {
	// MarkHandled records that consumer handled eventID; first is false when
	// it already had, and the caller must then change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// CreateMessage stores a new message.
	CreateMessage(ctx context.Context, m Message) error
	// MarkSent moves a QUEUED message to SENT; ok is false when the message
	// is not QUEUED (any more), and nothing changed.
	MarkSent(ctx context.Context, id string, sendTime time.Time) (ok bool, err error)
	// MarkFailed moves a QUEUED message to FAILED with reason; ok is false
	// when the message is not QUEUED (any more), and nothing changed.
	MarkFailed(ctx context.Context, id, reason string) (ok bool, err error)
	// Publish emits ev when, and only when, the transaction commits.
	Publish(ctx context.Context, ev Event) error
	// AfterCommit runs fn after a successful commit.
	AfterCommit(fn func())

	// MergedInto is Store.MergedInto inside the transaction.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// MergeCustomer moves the merged customer's messages to the survivor,
	// remembers the merge and re-points the customers merged into the
	// merged one at the survivor. Consents are moved by the caller.
	MergeCustomer(ctx context.Context, m Merge) error
	// Consents returns the customer's stored answers.
	Consents(ctx context.Context, customerID string) ([]Consent, error)
	// SaveConsent stores c as the customer's answer for its channel,
	// replacing the one stored.
	SaveConsent(ctx context.Context, c Consent) error
	// DeleteConsents removes the customer's answers.
	DeleteConsents(ctx context.Context, customerID string) error
	// Erased reports whether the customer was erased.
	Erased(ctx context.Context, customerID string) (bool, error)
	// RecordErasure remembers the customer as erased; recording it again
	// changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
	// LockMessages returns all the customer's messages and holds them
	// against the dispatcher until the transaction ends.
	LockMessages(ctx context.Context, customerID string) ([]Message, error)
	// SaveErased stores the address, texts, status and failure reason of a
	// message Message.Erase changed.
	SaveErased(ctx context.Context, m Message) error
	// ForgetDeliveries removes the personal data of what channels kept of
	// the customer's messages.
	ForgetDeliveries(ctx context.Context, customerID string) error
}
