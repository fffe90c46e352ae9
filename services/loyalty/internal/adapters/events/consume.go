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
	MergeAccounts(ctx context.Context, eventID string, m domain.Merge) error
	RecordErasure(ctx context.Context, eventID string, e domain.Erasure) error
}

// Handlers turn consumed events into use-case calls.
type Handlers struct {
	app Loyalty
}

// NewHandlers returns the handlers calling app.
func NewHandlers(app Loyalty) *Handlers {
	return &Handlers{app: app}
}

// Customers handles the events of the customers consumer, by subject.
func (h *Handlers) Customers(ctx context.Context, m platformevents.Message) error {
	switch m.Subject {
	case customerv1.SubjectCustomerCreated:
		return h.CustomerCreated(ctx, m)
	case customerv1.SubjectCustomerMerged:
		return h.CustomerMerged(ctx, m)
	case customerv1.SubjectCustomerErased:
		return h.CustomerErased(ctx, m)
	default:
		return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurableCustomers))
	}
}

// CustomerMerged folds the merged customer's account into the survivor's.
func (h *Handlers) CustomerMerged(ctx context.Context, m platformevents.Message) error {
	var ev customerv1.CustomerMerged
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return classify(h.app.MergeAccounts(ctx, m.ID, domain.Merge{
		MergedID:   ev.GetMergedCustomerId(),
		SurvivorID: ev.GetSurvivorCustomerId(),
	}))
}

// CustomerErased records that the customer's erasure reached the service.
func (h *Handlers) CustomerErased(ctx context.Context, m platformevents.Message) error {
	var ev customerv1.CustomerErased
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	e := domain.Erasure{CustomerID: ev.GetCustomerId(), EraseTime: m.Time}
	if ev.GetEraseTime() != nil {
		e.EraseTime = ev.GetEraseTime().AsTime()
	}
	return classify(h.app.RecordErasure(ctx, m.ID, e))
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
	if errors.As(err, &verr) || errors.Is(err, domain.ErrPointsOverflow) || errors.Is(err, domain.ErrMergeConflict) {
		return platformevents.Permanent(err)
	}
	return err
}

// CustomersConsumer is the durable consumer of the customer events that
// open, merge and erase accounts. One consumer keeps them in the order the
// customer service published them.
func CustomersConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
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
// credit points.
func PurchasesConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         interactionv1.Stream,
		Durable:        DurablePurchases,
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
	}
}
