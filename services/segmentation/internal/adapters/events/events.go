// Package events connects the segmentation service to the event bus: it
// turns domain events into the payloads of segmentation's events.proto, and
// applies the customer and interaction events it consumes.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
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
	var verr *domain.ValidationError
	if errors.As(err, &verr) {
		return events.Permanent(err)
	}
	return err
}

// Consume runs both durable consumers until ctx is done; it returns the
// first consumer's error, or nil on shutdown.
func (h *Handlers) Consume(ctx context.Context, js jetstream.JetStream, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := func(cfg events.ConsumerConfig, handle events.Handler) error {
		err := events.Consume(ctx, js, cfg, handle, logger)
		if err != nil && ctx.Err() != nil {
			// Stopped while still setting up (or after the other
			// consumer failed): a shutdown, not a failure of its own.
			return nil
		}
		return err
	}
	errs := make(chan error, 2)
	go func() {
		errs <- run(events.ConsumerConfig{
			Stream:         customerv1.Stream,
			Durable:        DurableCustomers,
			FilterSubjects: []string{customerv1.SubjectCustomerCreated},
		}, h.CustomerCreated)
	}()
	go func() {
		errs <- run(events.ConsumerConfig{
			Stream:         interactionv1.Stream,
			Durable:        DurablePurchases,
			FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
		}, h.PurchaseRecorded)
	}()
	first := <-errs
	cancel()
	second := <-errs
	return errors.Join(first, second)
}
