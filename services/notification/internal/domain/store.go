package domain

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownTemplate is returned when a message asks for a template that
// does not exist.
var ErrUnknownTemplate = errors.New("unknown template")

// Receipt is what a channel answered when it accepted a delivery.
type Receipt struct {
	// ProviderResponse is the provider's answer (status line, message id).
	ProviderResponse string
}

// Sender delivers a message on its channel. An error means the channel did
// not take it: a PermanentError (see Permanent) is final, any other error
// is retried with backoff. The error text is the provider's response.
type Sender interface {
	Send(ctx context.Context, d Delivery) (Receipt, error)
}

// BatchSender is a Sender that takes many deliveries at once (the dev
// sink stores a batch in one statement); results are in input order.
type BatchSender interface {
	SendBatch(ctx context.Context, ds []Delivery) ([]Receipt, []error)
}

// Capper counts messages against the frequency cap. Reserve counts one
// message for each key whose count is below limit and reports, per key,
// whether it did; a key refused stays at its count.
type Capper interface {
	Reserve(ctx context.Context, keys []CapKey, limit int) ([]bool, error)
}

// MemberSource streams the customer ids of a segment's members, page by
// page, in a stable order: a resumed campaign skips what it processed.
type MemberSource interface {
	StreamMembers(ctx context.Context, segmentID string, page func(customerIDs []string) error) error
}

// ConsentWriter records a customer's consent answer in the customer
// service, which owns consents.
type ConsentWriter interface {
	SetConsent(ctx context.Context, customerID string, ch Channel, status ConsentStatus, source string) error
}

// ConsentSync is an opt-out recorded here that the customer service has
// yet to learn of.
type ConsentSync struct {
	ID         string
	CustomerID string
	Channel    Channel
	Status     ConsentStatus
	Source     string
	CreateTime time.Time
}

// MessageSent is the domain event of a message the channel accepted.
type MessageSent struct {
	MessageID  string
	CustomerID string
	AgentID    string
	CampaignID string
	Channel    Channel
	Template   string
}

// MessageFailed is the domain event of a message that failed for good or
// was suppressed.
type MessageFailed struct {
	MessageID  string
	CustomerID string
	CampaignID string
	Channel    Channel
	Template   string
	Reason     string
	Suppressed bool
}

// Event is a domain event: MessageSent or MessageFailed.
type Event interface {
	isEvent()
}

func (MessageSent) isEvent()   {}
func (MessageFailed) isEvent() {}

// SentEvent returns the MessageSent event of m.
func (m Message) SentEvent() MessageSent {
	return MessageSent{MessageID: m.ID, CustomerID: m.CustomerID, AgentID: m.AgentID, CampaignID: m.CampaignID, Channel: m.Channel, Template: m.Template}
}

// FailedEvent returns the MessageFailed event of a failed or suppressed
// message.
func (m Message) FailedEvent() MessageFailed {
	ev := MessageFailed{MessageID: m.ID, CustomerID: m.CustomerID, CampaignID: m.CampaignID, Channel: m.Channel, Template: m.Template, Reason: m.FailureReason}
	if m.Status == StatusSuppressed {
		ev.Reason, ev.Suppressed = m.StatusReason, true
	}
	return ev
}

// Cursor is a position in a message list, newest first: the list continues
// with messages strictly older than (CreateTime, ID).
type Cursor struct {
	CreateTime time.Time
	ID         string
}

// Store keeps messages, the customer read model, templates and campaigns.
// Writes go through InTx so that a change, the events it causes and the
// inbox mark of the event that caused it commit together.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// ListMessages returns up to limit of the customer's messages, newest
	// first, after the cursor when it is not nil.
	ListMessages(ctx context.Context, customerID string, after *Cursor, limit int) ([]Message, error)
	// ListAgentMessages is ListMessages for an agent's notices.
	ListAgentMessages(ctx context.Context, agentID string, after *Cursor, limit int) ([]Message, error)
	// ListDeadLetters lists dead-lettered messages, newest first.
	ListDeadLetters(ctx context.Context, after *Cursor, limit int) ([]Message, error)
	// GetMessage returns a message and its attempts; ErrNotFound when
	// there is none.
	GetMessage(ctx context.Context, id string) (Message, []Attempt, error)
	// ClaimDue returns up to limit QUEUED messages due at now, oldest
	// first, and reserves them until now+lease so that another dispatcher
	// (another replica) does not send them at the same time. A message
	// whose claim ran out (its dispatcher crashed) can be claimed again.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// MergedInto returns whom the customer was merged into, "" when it was
	// not.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// ConsentsOf returns the answers of each customer.
	ConsentsOf(ctx context.Context, customerIDs []string) (map[string]Consents, error)
	// Recipient returns the read model of a customer; ok is false when the
	// service has not heard of them (or they were erased).
	Recipient(ctx context.Context, customerID string) (r Recipient, ok bool, err error)
	// Recipients returns the known customers among ids.
	Recipients(ctx context.Context, customerIDs []string) (map[string]Recipient, error)
	// RecipientsByBirthday returns up to limit customers born on one of
	// dates, by id after after.
	RecipientsByBirthday(ctx context.Context, dates []MonthDay, after string, limit int) ([]Recipient, error)
	// RecipientsPage returns up to limit customers by id after after.
	RecipientsPage(ctx context.Context, after string, limit int) ([]Recipient, error)
	// ProgramMembers returns up to limit known members of a loyalty program
	// by id after after.
	ProgramMembers(ctx context.Context, programID, after string, limit int) ([]Recipient, error)
	// SavedTemplates returns every saved template.
	SavedTemplates(ctx context.Context) ([]Template, error)
	// Programs returns the loyalty programs the service knows of.
	Programs(ctx context.Context) ([]LoyaltyProgram, error)
	// Campaign returns a campaign with its counts; ErrNotFound when there
	// is none.
	Campaign(ctx context.Context, id string) (Campaign, error)
	// ListCampaigns returns campaigns newest first, with counts.
	ListCampaigns(ctx context.Context, after *Cursor, limit int) ([]Campaign, error)
	// ClaimCampaign reserves one campaign due to run at now (RUNNING, or
	// SCHEDULED whose time came) that no other runner holds, until
	// now+lease.
	ClaimCampaign(ctx context.Context, now time.Time, lease time.Duration) (Campaign, bool, error)
	// ExistingKeys returns which of keys are idempotency keys of stored
	// messages.
	ExistingKeys(ctx context.Context, keys []string) (map[string]bool, error)
	// PendingConsentSyncs returns opt-outs the customer service has not
	// acknowledged, oldest first.
	PendingConsentSyncs(ctx context.Context, limit int) ([]ConsentSync, error)
}

// Tx is a store transaction: the inbox and outbox every use case shares,
// and the writes of each area, each declared on its own below.
type Tx interface {
	MessageTx
	CustomerTx
	RecipientTx
	TemplateTx
	CampaignTx

	// MarkHandled records that consumer handled eventID; first is false when
	// it already had, and the caller must then change nothing.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
	// MarkHandledMany is MarkHandled for many events in one statement: it
	// returns the ids handled for the first time.
	MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (first map[string]bool, err error)
	// Publish emits evs when, and only when, the transaction commits.
	Publish(ctx context.Context, evs ...Event) error
	// AfterCommit runs fn after a successful commit.
	AfterCommit(fn func())
}

// Metrics is told how many messages reached a status on a channel (queued,
// sent, delivered, failed, suppressed), once the change is committed, for
// the service's metrics (adapters/metrics counts it with OpenTelemetry).
type Metrics interface {
	MessagesReached(ctx context.Context, channel Channel, status Status, n int)
}

// MessageTx is the writes of messages and their deliveries in a Tx.
type MessageTx interface {
	// CreateMessage stores a new message; created is false, and nothing
	// changes, when a message with its idempotency key exists.
	CreateMessage(ctx context.Context, m Message) (created bool, err error)
	// CreateMessages is CreateMessage for many messages in one statement
	// (a consumer batch): of several with one idempotency key the first
	// counts. It returns the messages it stored, in input order.
	CreateMessages(ctx context.Context, ms []Message) (created []Message, err error)
	// InsertMessages stores many new messages at once (a campaign page);
	// their idempotency keys must be new.
	InsertMessages(ctx context.Context, ms []Message) error
	// MarkSent moves QUEUED messages to SENT and returns the ids it moved.
	MarkSent(ctx context.Context, ids []string, sendTime time.Time, attempts int) ([]string, error)
	// MarkFailed moves a QUEUED message to FAILED; ok is false when it is
	// not QUEUED (any more), and nothing changed.
	MarkFailed(ctx context.Context, id, reason string, attempts int, deadLetter bool) (ok bool, err error)
	// MarkSuppressed moves QUEUED messages to SUPPRESSED with reason and
	// returns the ids it moved.
	MarkSuppressed(ctx context.Context, ids []string, reason string) ([]string, error)
	// Reschedule keeps a QUEUED message queued until notBefore, with
	// reason, releasing its claim.
	Reschedule(ctx context.Context, id string, notBefore time.Time, reason string, attempts int) (ok bool, err error)
	// AddAttempts records delivery attempts.
	AddAttempts(ctx context.Context, as []Attempt) error
	// MarkDelivered records a provider's receipt for a SENT message:
	// DELIVERED, or FAILED onto the dead-letter list with reason when
	// delivered is false. It returns the message as changed; ErrNotFound
	// when no SENT message has the id.
	MarkDelivered(ctx context.Context, id string, delivered bool, reason string) (Message, error)
	// Requeue queues a dead-lettered message again with no attempts;
	// ErrNotFound when it is not dead-lettered.
	Requeue(ctx context.Context, id string, now time.Time) error
	// KeyTaken reports whether a message has the idempotency key.
	KeyTaken(ctx context.Context, key string) (bool, error)
}

// CustomerTx is what a Tx does with a customer's merge, erasure and
// consents, and with the messages they change.
type CustomerTx interface {
	// MergedInto is Store.MergedInto inside the transaction.
	MergedInto(ctx context.Context, customerID string) (string, error)
	// MergedIntoMany returns whom each merged customer among ids was
	// merged into; the others are missing.
	MergedIntoMany(ctx context.Context, customerIDs []string) (map[string]string, error)
	// MergeCustomer moves the merged customer's messages and memberships
	// to the survivor, removes the merged read model, remembers the merge
	// and re-points the customers merged into the merged one at the
	// survivor. Consents are moved by the caller.
	MergeCustomer(ctx context.Context, m Merge) error
	// Consents returns the customers' stored answers and holds them
	// against other writers until the transaction ends (taken in id
	// order, so two transactions cannot deadlock on them).
	Consents(ctx context.Context, customerIDs []string) ([]Consent, error)
	// SaveConsents stores each of cs as its customer's answer for its
	// channel, replacing the one stored; of several for one customer and
	// channel the last counts.
	SaveConsents(ctx context.Context, cs []Consent) error
	// DeleteConsents removes the customer's answers.
	DeleteConsents(ctx context.Context, customerID string) error
	// Erased reports whether the customer was erased.
	Erased(ctx context.Context, customerID string) (bool, error)
	// ErasedAmong returns the erased customers among ids.
	ErasedAmong(ctx context.Context, customerIDs []string) (map[string]bool, error)
	// RecordErasure remembers the customer as erased; recording it again
	// changes nothing.
	RecordErasure(ctx context.Context, e Erasure, recordTime time.Time) error
	// LockMessages returns all the customer's messages and holds them
	// against the dispatcher until the transaction ends.
	LockMessages(ctx context.Context, customerID string) ([]Message, error)
	// LockQueued returns the customer's QUEUED messages, with the values
	// each was rendered with, held against the dispatcher until the
	// transaction ends.
	LockQueued(ctx context.Context, customerID string) ([]Message, error)
	// SaveReaddressed stores a QUEUED message rendered again for another
	// recipient (customer, channel, address, texts, status, reasons, zone,
	// idempotency key).
	SaveReaddressed(ctx context.Context, m Message) error
	// SaveErased stores the address, texts, status and reasons of a
	// message Message.Erase changed.
	SaveErased(ctx context.Context, m Message) error
	// ForgetDeliveries removes the personal data of what channels kept of
	// the customer's messages: the sink's copies and provider responses.
	ForgetDeliveries(ctx context.Context, customerID string) error
	// AddConsentSync records an opt-out to pass on to the customer service.
	AddConsentSync(ctx context.Context, s ConsentSync) error
	// DoneConsentSync removes a passed-on opt-out.
	DoneConsentSync(ctx context.Context, id string) error
}

// RecipientTx is the writes of the read model of customers and loyalty
// programs that messages are addressed from, in a Tx.
type RecipientTx interface {
	// SaveRecipients stores the customers' read models; of several for
	// one customer the last counts.
	SaveRecipients(ctx context.Context, rs []Recipient) error
	// DeleteRecipient removes the customer's read model and memberships.
	DeleteRecipient(ctx context.Context, customerID string) error
	// SaveMember records the customer as a member of a loyalty program.
	SaveMember(ctx context.Context, customerID, programID, tierCode, tierName string) error
	// AddMember records the customer as a member of a loyalty program
	// unless they are recorded (keeping the tier recorded).
	AddMember(ctx context.Context, customerID, programID, tierCode, tierName string) error
	// AddMembers is AddMember for several memberships at once; of several
	// for one customer and program the first counts.
	AddMembers(ctx context.Context, ms []ProgramMember) error
	// SaveProgram stores a loyalty program unless the stored one changed
	// later; stored says whether it did.
	SaveProgram(ctx context.Context, p LoyaltyProgram) (stored bool, err error)
}

// TemplateTx is the writes of message templates in a Tx.
type TemplateTx interface {
	// SaveTemplate creates or replaces a template.
	SaveTemplate(ctx context.Context, t Template) error
}

// CampaignTx is the writes of campaigns in a Tx.
type CampaignTx interface {
	// CreateCampaign stores a new campaign.
	CreateCampaign(ctx context.Context, c Campaign) error
	// CampaignByRequestID finds the campaign created with requestID.
	CampaignByRequestID(ctx context.Context, requestID string) (Campaign, bool, error)
	// LockCampaign returns a campaign for update; ErrNotFound when there
	// is none.
	LockCampaign(ctx context.Context, id string) (Campaign, error)
	// UpdateCampaign stores a campaign's state, progress and times; a
	// runner passes claimUntil to extend its claim (zero leaves it).
	UpdateCampaign(ctx context.Context, c Campaign, claimUntil time.Time) error
	// ReleaseCampaign ends a runner's claim on the campaign.
	ReleaseCampaign(ctx context.Context, id string) error
	// SuppressCampaignQueued suppresses the campaign's QUEUED messages with
	// reason and returns them.
	SuppressCampaignQueued(ctx context.Context, campaignID, reason string) ([]Message, error)
}
