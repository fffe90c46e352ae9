// Package app holds the notification service's use cases: turning a new
// customer into a welcome message, listing a customer's messages, and
// dispatching queued messages to their channel.
package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// ConsumerCustomers is the inbox name of the customer events consumer; it
// is also its durable JetStream consumer name.
const ConsumerCustomers = "notification-customers"

// Page sizes of ListMessages (DESIGN.md section 5).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Waker is told that a message was queued, so it is sent at once rather
// than at the next poll.
type Waker interface {
	Wake()
}

// Service runs the use cases that the gRPC port and the event consumers
// call.
type Service struct {
	store     domain.Store
	templates *domain.Templates
	waker     Waker
	now       func() time.Time
}

// NewService returns a Service. waker may be nil when nothing dispatches
// in this process.
func NewService(store domain.Store, templates *domain.Templates, waker Waker) *Service {
	return &Service{store: store, templates: templates, waker: waker, now: time.Now}
}

// WelcomeCustomer queues the welcome message for a customer that was just
// created, on a channel the customer's consents allow, after storing the
// consents the customer was created with. eventID is the id of the
// CustomerCreated event: the message is created in the same transaction
// that marks the event handled, so a redelivered event creates no second
// message. A customer erased or merged into another by the time the event
// is handled (a late or replayed event) gets no welcome: it no longer
// exists on its own.
func (s *Service) WelcomeCustomer(ctx context.Context, eventID string, r domain.Recipient, consents []domain.Consent) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("welcome customer: new id: %w", err)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		first, err := tx.MarkHandled(ctx, ConsumerCustomers, eventID)
		if err != nil || !first {
			return err
		}
		survivor, err := survivorVia(ctx, tx.MergedInto, r.CustomerID)
		if err != nil {
			return err
		}
		stored, err := applyConsents(ctx, tx, survivor, consents)
		if err != nil {
			return err
		}
		erased, err := tx.Erased(ctx, survivor)
		if err != nil || erased || survivor != r.CustomerID {
			return err
		}
		msg, err := domain.NewMessage(id.String(), r, domain.TemplateWelcome, s.templates, stored, now)
		if err != nil {
			return err
		}
		if err := tx.CreateMessage(ctx, msg); err != nil {
			return err
		}
		if msg.Status == domain.StatusFailed {
			return tx.Publish(ctx, msg.FailedEvent())
		}
		if s.waker != nil {
			tx.AfterCommit(s.waker.Wake)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("welcome customer: %w", err)
	}
	return nil
}

// MessagePage is one page of a customer's messages.
type MessagePage struct {
	Messages []domain.Message
	// NextPageToken continues the list; empty on the last page.
	NextPageToken string
}

// ListMessages returns a customer's messages, newest first; for a customer
// merged into another, the survivor's. An unknown customer simply has no
// messages.
func (s *Service) ListMessages(ctx context.Context, customerID string, pageSize int, pageToken string) (MessagePage, error) {
	var violations validation.Violations
	if customerID == "" {
		violations.Add("customer_id", "is required")
	} else if _, err := uuid.Parse(customerID); err != nil {
		violations.Add("customer_id", "must be a UUID")
	}
	switch {
	case pageSize < 0:
		violations.Add("page_size", "must not be negative")
	case pageSize == 0:
		pageSize = DefaultPageSize
	case pageSize > MaxPageSize:
		pageSize = MaxPageSize
	}
	var after *domain.Cursor
	if pageToken != "" {
		c, err := decodePageToken(pageToken)
		if err != nil {
			violations.Add("page_token", "is not a token from a previous page")
		} else {
			after = &c
		}
	}
	if err := violations.Err(); err != nil {
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
	page := MessagePage{Messages: msgs}
	if len(msgs) > pageSize {
		page.Messages = msgs[:pageSize]
		last := page.Messages[pageSize-1]
		page.NextPageToken = encodePageToken(domain.Cursor{CreateTime: last.CreateTime, ID: last.ID})
	}
	return page, nil
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
		return domain.Cursor{}, fmt.Errorf("decode page token: no id")
	}
	return domain.Cursor{CreateTime: time.UnixMicro(t.CreateTimeMicros).UTC(), ID: t.ID}, nil
}
