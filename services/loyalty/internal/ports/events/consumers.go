package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/events/mergeevents"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Durable consumer names on the customer and interaction streams.
const (
	DurableCustomers    = "loyalty-customers"
	DurableInteractions = "loyalty-purchases"
)

// Loyalty is what the handlers need of the use cases.
type Loyalty interface {
	OpenAccount(ctx context.Context, eventID, customerID string) error
	OpenAccounts(ctx context.Context, evs []app.NewCustomer) error
	CreditPurchase(ctx context.Context, eventID string, p domain.Purchase) error
	CreditPurchases(ctx context.Context, ps []domain.Purchase) error
	ReverseReturn(ctx context.Context, eventID string, r domain.Return) error
	AwardEngagementEvent(ctx context.Context, eventID string, e app.Engagement) error
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

// Interactions handles the events of the interactions consumer, by subject.
func (h *Handlers) Interactions(ctx context.Context, m platformevents.Message) error {
	switch m.Subject {
	case interactionv1.SubjectPurchaseRecorded:
		return h.PurchaseRecorded(ctx, m)
	case interactionv1.SubjectReturnRecorded:
		return h.ReturnRecorded(ctx, m)
	case interactionv1.SubjectSurveyAnswered:
		return h.SurveyAnswered(ctx, m)
	default:
		return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurableInteractions))
	}
}

// ReturnRecorded reverses the points of the returned lines.
func (h *Handlers) ReturnRecorded(ctx context.Context, m platformevents.Message) error {
	var ev interactionv1.ReturnRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	r := domain.Return{
		InteractionID: ev.GetInteractionId(), CustomerID: ev.GetCustomerId(),
		PurchaseInteractionID: ev.GetPurchaseInteractionId(), OrderID: ev.GetOrderId(),
		Refund: toDomainMoney(ev.GetRefund()), Lines: toDomainLines(ev.GetLines()),
	}
	if ev.GetOccurTime() != nil {
		r.OccurTime = ev.GetOccurTime().AsTime().UTC().Truncate(time.Microsecond)
	}
	// A return that overtook its purchase waits for it in the store.
	return classify(h.app.ReverseReturn(ctx, m.ID, r))
}

// SurveyAnswered awards the program's engagement points for answering.
func (h *Handlers) SurveyAnswered(ctx context.Context, m platformevents.Message) error {
	var ev interactionv1.SurveyAnswered
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	e := app.Engagement{CustomerID: ev.GetCustomerId(), Kind: domain.EngagementSurveyAnswered, SourceID: ev.GetSurveyId()}
	if ev.GetAnswerTime() != nil {
		e.OccurTime = ev.GetAnswerTime().AsTime().UTC().Truncate(time.Microsecond)
	}
	return classify(h.app.AwardEngagementEvent(ctx, m.ID, e))
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
	return classify(mergeevents.ApplyMerge(ctx, m, &customerv1.CustomerMerged{}, h.app.MergeAccounts))
}

// CustomerErased records that the customer's erasure reached the service.
func (h *Handlers) CustomerErased(ctx context.Context, m platformevents.Message) error {
	return classify(mergeevents.ApplyErasure(ctx, m, &customerv1.CustomerErased{}, h.app.RecordErasure))
}

// CustomerCreated opens the new customer's account.
func (h *Handlers) CustomerCreated(ctx context.Context, m platformevents.Message) error {
	c, err := decodeCreated(m)
	if err != nil {
		return err
	}
	return classify(h.app.OpenAccount(ctx, c.EventID, c.CustomerID))
}

// decodeCreated decodes a CustomerCreated event.
func decodeCreated(m platformevents.Message) (app.NewCustomer, error) {
	var ev customerv1.CustomerCreated
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return app.NewCustomer{}, platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	if ev.GetCustomer() == nil {
		return app.NewCustomer{}, platformevents.Permanent(fmt.Errorf("decode %s: no customer", m.Subject))
	}
	return app.NewCustomer{EventID: m.ID, CustomerID: ev.GetCustomer().GetId()}, nil
}

// CustomersBatch applies a batch of the customers consumer in stream
// order: each run of CustomerCreated at once (an import's backlog is
// nothing else), merges and erasures one by one between them. When it
// fails, the consumer rolls the batch back and handles its messages one by
// one through Customers, which decides retries and dead letters.
func (h *Handlers) CustomersBatch(ctx context.Context, ms []platformevents.Message) error {
	created := func(m platformevents.Message) bool { return m.Subject == customerv1.SubjectCustomerCreated }
	decode := func(m platformevents.Message) (app.NewCustomer, bool, error) {
		c, err := decodeCreated(m)
		return c, true, err
	}
	return platformevents.ApplyRuns(ctx, ms, created, decode, h.app.OpenAccounts, h.Customers)
}

// PurchaseRecorded credits the points the purchase earns.
func (h *Handlers) PurchaseRecorded(ctx context.Context, m platformevents.Message) error {
	pu, err := decodePurchase(m)
	if err != nil {
		return err
	}
	return classify(h.app.CreditPurchase(ctx, m.ID, pu))
}

func decodePurchase(m platformevents.Message) (domain.Purchase, error) {
	var ev interactionv1.PurchaseRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return domain.Purchase{}, platformevents.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return toDomainPurchase(&ev), nil
}

// InteractionsBatch applies a batch of the interactions consumer in stream
// order: each run of purchases at once (a backlog is mostly purchases),
// returns and surveys one by one between them. When it fails, the consumer
// rolls the batch back and handles its messages one by one through
// Interactions, which decides retries and dead letters.
func (h *Handlers) InteractionsBatch(ctx context.Context, ms []platformevents.Message) error {
	purchase := func(m platformevents.Message) bool { return m.Subject == interactionv1.SubjectPurchaseRecorded }
	decode := func(m platformevents.Message) (domain.Purchase, bool, error) {
		pu, err := decodePurchase(m)
		return pu, true, err
	}
	return platformevents.ApplyRuns(ctx, ms, purchase, decode, h.app.CreditPurchases, h.Interactions)
}

func toDomainPurchase(ev *interactionv1.PurchaseRecorded) domain.Purchase {
	p := domain.Purchase{
		InteractionID: ev.GetInteractionId(),
		CustomerID:    ev.GetCustomerId(),
		OrderID:       ev.GetOrderId(),
		Total:         toDomainMoney(ev.GetTotal()),
		Lines:         toDomainLines(ev.GetLines()),
	}
	if ev.GetOccurTime() != nil {
		p.OccurTime = ev.GetOccurTime().AsTime().UTC().Truncate(time.Microsecond)
	}
	return p
}

func toDomainMoney(m *typev1.Money) domain.Money {
	return domain.Money{CurrencyCode: m.GetCurrencyCode(), AmountMinor: m.GetAmountMinor()}
}

func toDomainLines(ls []*interactionv1.PurchaseLine) []domain.Line {
	out := make([]domain.Line, 0, len(ls))
	for _, l := range ls {
		out = append(out, domain.Line{SKU: l.GetSku(), Category: l.GetCategory(), Quantity: l.GetQuantity(), UnitPrice: toDomainMoney(l.GetUnitPrice())})
	}
	return out
}

// classify marks errors that no retry can fix as permanent, so the event is
// dead-lettered at once instead of being redelivered to fail again.
func classify(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) || errors.Is(err, domain.ErrPointsOverflow) || errors.Is(err, domain.ErrMergeConflict) ||
		errors.Is(err, domain.ErrNotFound) {
		return platformevents.Permanent(err)
	}
	return err
}

// CustomersConsumer is the durable consumer of the customer events that
// open, merge and erase accounts. One consumer keeps them in the order the
// customer service published them; a backlog is applied a batch at a time
// (see CustomersBatch).
func (h *Handlers) CustomersConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		HandleBatch: h.CustomersBatch,
		Stream:      customerv1.Stream,
		Durable:     DurableCustomers,
		FilterSubjects: []string{
			customerv1.SubjectCustomerCreated,
			customerv1.SubjectCustomerMerged,
			customerv1.SubjectCustomerErased,
		},
	}
}

// InteractionsConsumer is the durable consumer of the purchase, return
// and survey events that change points. Its events may be handled out of
// order (by several replicas, or several workers: each member's changes are
// serialized by its lock in the store): only a return can overtake its
// purchase, and it waits for it (see app.Points.ReverseReturn). A backlog
// is applied a batch at a time (see InteractionsBatch).
func (h *Handlers) InteractionsConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		HandleBatch: h.InteractionsBatch,
		Stream:      interactionv1.Stream,
		Durable:     DurableInteractions,
		FilterSubjects: []string{
			interactionv1.SubjectPurchaseRecorded,
			interactionv1.SubjectReturnRecorded,
			interactionv1.SubjectSurveyAnswered,
		},
		Backoff: []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 30 * time.Second},
	}
}
