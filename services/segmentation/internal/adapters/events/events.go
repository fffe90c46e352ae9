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

// Customers handles the events of the customers consumer, by subject.
func (h *Handlers) Customers(ctx context.Context, m events.Message) error {
	switch m.Subject {
	case customerv1.SubjectCustomerCreated:
		return h.CustomerCreated(ctx, m)
	case customerv1.SubjectCustomerMerged:
		return h.CustomerMerged(ctx, m)
	case customerv1.SubjectCustomerErased:
		return h.CustomerErased(ctx, m)
	default:
		return events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurableCustomers))
	}
}

// CustomerMerged folds the merged customer's purchases into the survivor's.
func (h *Handlers) CustomerMerged(ctx context.Context, m events.Message) error {
	var ev customerv1.CustomerMerged
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return permanentIfInvalid(h.svc.MergeCustomers(ctx, m.ID, domain.Merge{
		MergedID:   ev.GetMergedCustomerId(),
		SurvivorID: ev.GetSurvivorCustomerId(),
		At:         m.Time,
	}))
}

// CustomerErased records that the customer's erasure reached the service.
func (h *Handlers) CustomerErased(ctx context.Context, m events.Message) error {
	var ev customerv1.CustomerErased
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	e := domain.Erasure{CustomerID: ev.GetCustomerId(), EraseTime: m.Time}
	if ev.GetEraseTime() != nil {
		e.EraseTime = ev.GetEraseTime().AsTime()
	}
	return permanentIfInvalid(h.svc.RecordErasure(ctx, m.ID, e))
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

// permanentIfInvalid dead-letters events whose content breaks the rules,
// or contradicts an earlier merge: redelivering them cannot make them
// valid.
func permanentIfInvalid(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) || errors.Is(err, domain.ErrMergeConflict) {
		return events.Permanent(err)
	}
	return err
}

// CustomersConsumer is the durable consumer of the customer events that
// register, merge and erase customers in the read model. One consumer keeps
// them in the order the customer service published them.
func CustomersConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:  customerv1.Stream,
		Durable: DurableCustomers,
		FilterSubjects: []string{
			customerv1.SubjectCustomerCreated,
			customerv1.SubjectCustomerMerged,
			customerv1.SubjectCustomerErased,
		},
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
