// Package events connects the segmentation service to the event bus: it
// turns domain events into the payloads of segmentation's events.proto, and
// applies the customer and interaction events it consumes.
package events

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Source is the Ce-Source of the events segmentation publishes.
const Source = "guanxi/segmentation"

// Durable consumer names, one per consumed stream.
const (
	DurableCustomers = "segmentation-customers"
	DurablePurchases = "segmentation-purchases"
)

// ClassChangedEvent renders a ClassChanged domain event for the outbox.
func ClassChangedEvent(ctx context.Context, ev domain.ClassChanged) (events.Event, error) {
	return events.NewEvent(ctx, Source, segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{
		CustomerId: ev.CustomerID,
		OldClass:   ToProtoClass(ev.Old),
		NewClass:   ToProtoClass(ev.New),
	})
}

// ToProtoClass converts a domain class to its proto enum.
func ToProtoClass(c domain.Class) segmentationv1.AbcClass {
	switch c {
	case domain.ClassA:
		return segmentationv1.AbcClass_ABC_CLASS_A
	case domain.ClassB:
		return segmentationv1.AbcClass_ABC_CLASS_B
	case domain.ClassC:
		return segmentationv1.AbcClass_ABC_CLASS_C
	default:
		return segmentationv1.AbcClass_ABC_CLASS_UNSPECIFIED
	}
}

// Handlers applies consumed events through the use cases.
type Handlers struct {
	svc *app.Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *app.Service) *Handlers {
	return &Handlers{svc: svc}
}

// CustomerCreated registers the new customer.
func (h *Handlers) CustomerCreated(ctx context.Context, m events.Message) error {
	var ev customerv1.CustomerCreated
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	at := m.Time
	if ct := ev.GetCustomer().GetCreateTime(); ct != nil {
		at = ct.AsTime()
	}
	return permanentIfInvalid(h.svc.RegisterCustomer(ctx, m.ID, ev.GetCustomer().GetId(), at))
}

// PurchaseRecorded stores the purchase.
func (h *Handlers) PurchaseRecorded(ctx context.Context, m events.Message) error {
	var ev interactionv1.PurchaseRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return permanentIfInvalid(h.svc.RecordPurchase(ctx, m.ID, toDomainPurchase(&ev)))
}

func toDomainPurchase(ev *interactionv1.PurchaseRecorded) domain.Purchase {
	p := domain.Purchase{
		InteractionID: ev.GetInteractionId(),
		CustomerID:    ev.GetCustomerId(),
		Amount: domain.Money{
			Currency: ev.GetTotal().GetCurrencyCode(),
			Minor:    ev.GetTotal().GetAmountMinor(),
		},
	}
	if ev.GetOccurTime() != nil {
		p.OccurTime = ev.GetOccurTime().AsTime()
	}
	return p
}

// permanentIfInvalid dead-letters events whose content breaks the rules:
// redelivering them cannot make them valid.
func permanentIfInvalid(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) {
		return events.Permanent(err)
	}
	return err
}

// CustomersConsumer is the durable consumer of the customer events that
// register customers in the read model.
func CustomersConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:         customerv1.Stream,
		Durable:        DurableCustomers,
		FilterSubjects: []string{customerv1.SubjectCustomerCreated},
	}
}

// PurchasesConsumer is the durable consumer of the purchase events that
// feed spend.
func PurchasesConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:         interactionv1.Stream,
		Durable:        DurablePurchases,
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
	}
}
