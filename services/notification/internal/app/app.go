// Package app holds the notification service's use cases: turning customer,
// loyalty, interaction and segmentation events into messages, scanning for
// birthdays, holidays and member days, running campaigns, keeping
// templates, and dispatching queued messages to their channels.
package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Inbox names of the event consumers; each is also its durable JetStream
// consumer name.
const (
	ConsumerCustomers    = "notification-customers"
	ConsumerInteractions = "notification-interactions"
	ConsumerLoyalty      = "notification-loyalty"
	ConsumerSegmentation = "notification-segmentation"
)

// Page sizes of the List methods (DESIGN.md section 5).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Waker is told that a message was queued, so it is sent at once rather
// than at the next poll.
type Waker interface {
	Wake()
}

// Options configure a Service; zero values are usable.
type Options struct {
	// Waker is woken after a commit that queued messages; nil when nothing
	// dispatches in this process.
	Waker Waker
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Calendar gives the holidays of a year; nil means none. Member days
	// come from the loyalty programs the store keeps.
	Calendar domain.HolidayCalendar
	// QuietHours are the dispatcher's: a dated greeting whose day ends in
	// them before it could go out is skipped when it is scanned for.
	QuietHours domain.QuietHours
	// MorningHour is the local hour greetings go out at (default 9).
	MorningHour int
	// Signer signs unsubscribe links; nil disables the links.
	Signer *domain.UnsubscribeSigner
	// PublicURL is the base of unsubscribe links, e.g.
	// "https://crm.example.com"; the link is PublicURL+"/unsubscribe?token=".
	PublicURL string
	// ConsentSyncWaker is woken when an unsubscribe link recorded an
	// opt-out to pass on.
	ConsentSyncWaker Waker
	// CampaignWaker is woken when a campaign is created or resumed.
	CampaignWaker Waker
	// Metrics counts messages by channel and status; nil counts nothing.
	Metrics domain.Metrics
}

// countOnCommit tells metrics, once tx commits, that ms reached their
// statuses, counted by channel and status. A nil metrics counts nothing.
func countOnCommit(ctx context.Context, tx domain.Tx, metrics domain.Metrics, ms ...domain.Message) {
	if metrics == nil || len(ms) == 0 {
		return
	}
	type key struct {
		channel domain.Channel
		status  domain.Status
	}
	counts := map[key]int{}
	for _, m := range ms {
		counts[key{m.Channel, m.Status}]++
	}
	tx.AfterCommit(func() {
		for k, n := range counts {
			metrics.MessagesReached(ctx, k.channel, k.status, n)
		}
	})
}

// Service is the notification service's use cases, by area. Each port
// holds the areas it calls; all of them share one store and one set of
// options.
type Service struct {
	// Messages reads messages and the dead-letter list, retries messages
	// and records delivery receipts.
	Messages *Messages
	// Customers keeps the read model of customers and their consents, and
	// applies merges, erasures and unsubscribe links.
	Customers *Customers
	// Triggers turns interaction, loyalty and segmentation events into
	// messages.
	Triggers *Triggers
	// Schedules scans for birthdays, holidays and member days.
	Schedules *Schedules
	// Templates keeps and previews message templates.
	Templates *Templates
	// Campaigns creates and steers campaigns (CampaignRunner runs them).
	Campaigns *Campaigns

	core *core
}

// core is what every area of the use cases shares: the store, the options
// and the clock.
type core struct {
	store domain.Store
	opts  Options
	now   func() time.Time
}

// Messages reads customers', agents' and dead-lettered messages, retries
// them and records providers' delivery receipts.
type Messages struct{ *core }

// NewService returns a Service.
func NewService(store domain.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MorningHour <= 0 || opts.MorningHour > 23 {
		opts.MorningHour = 9
	}
	if opts.Calendar == nil {
		opts.Calendar = noHolidays{}
	}
	s := &core{store: store, opts: opts, now: opts.Now}
	return &Service{
		Messages:  &Messages{s},
		Customers: &Customers{s},
		Triggers:  &Triggers{s},
		Schedules: &Schedules{s},
		Templates: &Templates{s},
		Campaigns: &Campaigns{s},
		core:      s,
	}
}

// noHolidays is the calendar of a service given none.
type noHolidays struct{}

func (noHolidays) HolidaysIn(int) []domain.Holiday { return nil }

func (s *core) wake(tx domain.Tx) {
	if s.opts.Waker != nil {
		tx.AfterCommit(s.opts.Waker.Wake)
	}
}

// unsubscribeURL makes the unsubscribe link of a customer on a channel.
// The page's language rides along unsigned: it changes nothing but the
// words of the page.
func (s *core) unsubscribeURL(customerID string, ch domain.Channel, locale string) string {
	if s.opts.Signer == nil {
		return ""
	}
	return s.opts.PublicURL + "/unsubscribe?token=" + s.opts.Signer.Token(customerID, ch) + "&lang=" + url.QueryEscape(locale)
}

func (s *core) templates(ctx context.Context) (*domain.TemplateSet, error) {
	saved, err := s.store.SavedTemplates(ctx)
	if err != nil {
		return nil, err
	}
	return domain.NewTemplateSet(saved), nil
}

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages []domain.Message
	// NextPageToken continues the list; empty on the last page.
	NextPageToken string
}

// pageArgs validates a page size and token.
func pageArgs(v *validation.Violations, pageSize int, pageToken string) (int, *domain.Cursor) {
	switch {
	case pageSize < 0:
		v.Add("page_size", "must not be negative")
	case pageSize == 0:
		pageSize = DefaultPageSize
	case pageSize > MaxPageSize:
		pageSize = MaxPageSize
	}
	var after *domain.Cursor
	if pageToken != "" {
		c, err := decodePageToken(pageToken)
		if err != nil {
			v.Add("page_token", "is not a token from a previous page")
		} else {
			after = &c
		}
	}
	return pageSize, after
}

func checkUUID(v *validation.Violations, field, id string) {
	if id == "" {
		v.Add(field, "is required")
	} else if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		v.Add(field, "must be a UUID")
	}
}

func toPage(msgs []domain.Message, pageSize int) MessagePage {
	page := MessagePage{Messages: msgs}
	if len(msgs) > pageSize {
		page.Messages = msgs[:pageSize]
		last := page.Messages[pageSize-1]
		page.NextPageToken = encodePageToken(domain.Cursor{CreateTime: last.CreateTime, ID: last.ID})
	}
	return page
}

// ListMessages returns a customer's messages, newest first; for a customer
// merged into another, the survivor's. An unknown customer simply has no
// messages.
func (s *Messages) ListMessages(ctx context.Context, customerID string, pageSize int, pageToken string) (MessagePage, error) {
	var v validation.Violations
	checkUUID(&v, "customer_id", customerID)
	pageSize, after := pageArgs(&v, pageSize, pageToken)
	if err := v.Err(); err != nil {
		return MessagePage{}, err
	}
	// A merged customer's messages are the survivor's, as GetCustomer
	// answers a merged id with the survivor.
	customerID, err := survivorVia(ctx, s.store.MergedInto, customerID)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	// One extra row tells whether there is a next page without a count.
	msgs, err := s.store.ListMessages(ctx, customerID, after, pageSize+1)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	return toPage(msgs, pageSize), nil
}

// ListAgentMessages returns an agent's notices, newest first.
func (s *Messages) ListAgentMessages(ctx context.Context, agentID string, pageSize int, pageToken string) (MessagePage, error) {
	var v validation.Violations
	if agentID == "" {
		v.Add("agent_id", "is required")
	}
	pageSize, after := pageArgs(&v, pageSize, pageToken)
	if err := v.Err(); err != nil {
		return MessagePage{}, err
	}
	msgs, err := s.store.ListAgentMessages(ctx, agentID, after, pageSize+1)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list agent messages: %w", err)
	}
	return toPage(msgs, pageSize), nil
}

// ListDeadLetters returns the dead-lettered messages, newest first.
func (s *Messages) ListDeadLetters(ctx context.Context, pageSize int, pageToken string) (MessagePage, error) {
	var v validation.Violations
	pageSize, after := pageArgs(&v, pageSize, pageToken)
	if err := v.Err(); err != nil {
		return MessagePage{}, err
	}
	msgs, err := s.store.ListDeadLetters(ctx, after, pageSize+1)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list dead letters: %w", err)
	}
	return toPage(msgs, pageSize), nil
}

// GetMessage returns a message and its delivery attempts.
func (s *Messages) GetMessage(ctx context.Context, id string) (domain.Message, []domain.Attempt, error) {
	var v validation.Violations
	checkUUID(&v, "id", id)
	if err := v.Err(); err != nil {
		return domain.Message{}, nil, err
	}
	return s.store.GetMessage(ctx, id)
}

// RetryMessage queues a dead-lettered message again.
func (s *Messages) RetryMessage(ctx context.Context, id string) (domain.Message, error) {
	var v validation.Violations
	checkUUID(&v, "id", id)
	if err := v.Err(); err != nil {
		return domain.Message{}, err
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.Requeue(ctx, id, s.now()); err != nil {
			return err
		}
		s.wake(tx)
		return nil
	})
	if err != nil {
		return domain.Message{}, fmt.Errorf("retry message: %w", err)
	}
	m, _, err := s.store.GetMessage(ctx, id)
	return m, err
}

// pageToken is the keyset cursor as it travels in a page token.
type pageToken struct {
	CreateTimeMicros int64  `json:"t"`
	ID               string `json:"i"`
}

func encodePageToken(c domain.Cursor) string {
	b, _ := json.Marshal(pageToken{CreateTimeMicros: c.CreateTime.UnixMicro(), ID: c.ID}) // a struct of an int and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (domain.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("decode page token: %w", err)
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return domain.Cursor{}, fmt.Errorf("decode page token: %w", err)
	}
	if t.ID == "" {
		return domain.Cursor{}, errors.New("decode page token: no id")
	}
	return domain.Cursor{CreateTime: time.UnixMicro(t.CreateTimeMicros).UTC(), ID: t.ID}, nil
}

// SetCampaignWaker sets the runner woken when a campaign is created or
// resumed (it is built after the Service it runs for).
func (s *Service) SetCampaignWaker(w Waker) { s.core.opts.CampaignWaker = w }

// ReportDelivery records a provider's delivery receipt for a sent message:
// DELIVERED, or FAILED onto the dead-letter list (with MessageFailed) when
// the provider could not deliver it after all.
func (s *Messages) ReportDelivery(ctx context.Context, id string, delivered bool, providerResponse string) (domain.Message, error) {
	var v validation.Violations
	checkUUID(&v, "id", id)
	if len(providerResponse) > 2000 {
		v.Add("provider_response", "must be at most 2000 bytes")
	}
	if err := v.Err(); err != nil {
		return domain.Message{}, err
	}
	reason := "provider reported delivered"
	if !delivered {
		reason = "provider reported undeliverable"
	}
	if providerResponse != "" {
		reason += ": " + providerResponse
	}
	var m domain.Message
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		var err error
		if m, err = tx.MarkDelivered(ctx, id, delivered, reason); err != nil {
			return err
		}
		countOnCommit(ctx, tx, s.opts.Metrics, m)
		if !delivered {
			return tx.Publish(ctx, m.FailedEvent())
		}
		return nil
	})
	if err != nil {
		return domain.Message{}, fmt.Errorf("report delivery: %w", err)
	}
	return m, nil
}
