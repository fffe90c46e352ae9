// Package events turns the customer domain's events into their wire form,
// the messages of guanxi.customer.v1 events.proto on the CUSTOMER stream's
// subjects, and writes them to the transactional outbox.
package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Source is the Ce-Source of every event this service publishes.
const Source = "guanxi/customer"

// Publisher writes domain events to the outbox; it implements
// sqlstore.EventWriter.
type Publisher struct {
	outbox *events.Outbox
}

// NewPublisher returns a Publisher enqueuing into outbox.
func NewPublisher(outbox *events.Outbox) *Publisher {
	return &Publisher{outbox: outbox}
}

// WriteEvent enqueues ev in tx.
func (p *Publisher) WriteEvent(ctx context.Context, tx *sqldb.Tx, ev domain.Event) error {
	out, err := Encode(ctx, ev)
	if err != nil {
		return err
	}
	return p.outbox.Enqueue(ctx, tx, out)
}

// Encode returns the wire event of ev: its subject and proto payload.
func Encode(ctx context.Context, ev domain.Event) (events.Event, error) {
	subject, msg, err := toProtoEvent(ev)
	if err != nil {
		return events.Event{}, err
	}
	out, err := events.NewEvent(ctx, Source, subject, msg)
	if err != nil {
		return events.Event{}, fmt.Errorf("encode %s: %w", subject, err)
	}
	return out, nil
}

func toProtoEvent(ev domain.Event) (string, proto.Message, error) {
	switch e := ev.(type) {
	case domain.CustomerCreated:
		return customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: toProtoCustomer(e.Customer)}, nil
	case domain.CustomerUpdated:
		changed := make([]string, len(e.ChangedFields))
		for i, f := range e.ChangedFields {
			changed[i] = string(f)
		}
		return customerv1.SubjectCustomerUpdated, &customerv1.CustomerUpdated{
			Customer: toProtoCustomer(e.Customer), ChangedFields: changed,
		}, nil
	}
	return "", nil, fmt.Errorf("encode event: unknown domain event %T", ev)
}

// toProtoCustomer is the event form of a customer. It mirrors the API
// form on purpose but lives here, so events can keep or drop fields on their
// own schedule (e.g. for consent or erasure) without touching the API.
func toProtoCustomer(c domain.Customer) *customerv1.Customer {
	return &customerv1.Customer{
		Id:          c.ID,
		Type:        toProtoType(c.Type),
		DisplayName: c.DisplayName,
		Email:       c.Email,
		Phone:       c.Phone,
		Locale:      c.Locale,
		TimeZone:    c.TimeZone,
		Tags:        c.Tags,
		CreateTime:  timestamppb.New(c.CreateTime),
		UpdateTime:  timestamppb.New(c.UpdateTime),
		Etag:        c.Etag(),
	}
}

func toProtoType(t domain.CustomerType) customerv1.CustomerType {
	switch t {
	case domain.TypePerson:
		return customerv1.CustomerType_CUSTOMER_TYPE_PERSON
	case domain.TypeOrganization:
		return customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION
	}
	return customerv1.CustomerType_CUSTOMER_TYPE_UNSPECIFIED
}
