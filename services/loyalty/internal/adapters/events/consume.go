package events

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Durable consumer names on the customer and interaction streams.
const (
	DurableCustomers = "loyalty-customers"
	DurablePurchases = "loyalty-purchases"
)

// Loyalty is what the handlers need of the use cases.
type Loyalty interface {
	OpenAccount(ctx context.Context, eventID, customerID string) error
	CreditPurchase(ctx context.Context, eventID string, p domain.Purchase) error
}

// Handlers turn consumed events into use-case calls.
type Handlers struct {
	app Loyalty
}

// NewHandlers returns the handlers calling app.
func NewHandlers(app Loyalty) *Handlers {
	return &Handlers{app: app}
}

// CustomerCreated opens the new customer's account.
func (h *Handlers) CustomerCreated(ctx context.Context, m platformevents.Message) error {
	var ev customerv1.CustomerCreated
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	if ev.GetCustomer() == nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: no customer", m.Subject))
	}
	return classify(h.app.OpenAccount(ctx, m.ID, ev.GetCustomer().GetId()))
}

// PurchaseRecorded credits the points the purchase earns.
func (h *Handlers) PurchaseRecorded(ctx context.Context, m platformevents.Message) error {
	var ev interactionv1.PurchaseRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return classify(h.app.CreditPurchase(ctx, m.ID, toDomainPurchase(&ev)))
}

func toDomainPurchase(ev *interactionv1.PurchaseRecorded) domain.Purchase {
	return domain.Purchase{
		InteractionID: ev.GetInteractionId(),
		CustomerID:    ev.GetCustomerId(),
		Total: domain.Money{
			CurrencyCode: ev.GetTotal().GetCurrencyCode(),
			AmountMinor:  ev.GetTotal().GetAmountMinor(),
		},
	}
}

// classify marks errors that no retry can fix as permanent, so the event is
// dead-lettered at once instead of being redelivered to fail again.
func classify(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) || errors.Is(err, domain.ErrPointsOverflow) {
		return platformevents.Permanent(err)
	}
	return err
}

// CustomersConsumer is the durable consumer of the customer events that
// open accounts.
func CustomersConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         customerv1.Stream,
		Durable:        DurableCustomers,
		FilterSubjects: []string{customerv1.SubjectCustomerCreated},
	}
}

// PurchasesConsumer is the durable consumer of the purchase events that
// credit points.
func PurchasesConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         interactionv1.Stream,
		Durable:        DurablePurchases,
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
	}
}
