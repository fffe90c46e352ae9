package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/events/mergeevents"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Durable consumer names, one per consumed stream.
const (
	DurableCustomers = "segmentation-customers"
	DurablePurchases = "segmentation-purchases"
)

// Handlers applies consumed events through the use cases.
type Handlers struct {
	facts *app.Facts
}

// NewHandlers returns the handlers over the use cases that keep the
// customer facts: every consumed event feeds them.
func NewHandlers(facts *app.Facts) *Handlers {
	return &Handlers{facts: facts}
}

// Customers handles the events of the customers consumer, by subject.
func (h *Handlers) Customers(ctx context.Context, m events.Message) error {
	switch m.Subject {
	case customerv1.SubjectCustomerMerged:
		return h.CustomerMerged(ctx, m)
	case customerv1.SubjectCustomerErased:
		return h.CustomerErased(ctx, m)
	}
	pe, ok, err := decodeProfile(m)
	if err != nil {
		return err
	}
	if !ok {
		return events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurableCustomers))
	}
	return permanentIfInvalid(h.facts.UpdateProfiles(ctx, []app.ProfileEvent{pe}))
}

// profileEvent decodes an event carrying the whole customer: its profile
// fields replace the ones held for segments.
func profileEvent(m events.Message, ev proto.Message, customer func() *customerv1.Customer) (app.ProfileEvent, error) {
	if err := proto.Unmarshal(m.Payload, ev); err != nil {
		return app.ProfileEvent{}, events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	c := customer()
	at := m.Time
	if ct := c.GetCreateTime(); ct != nil {
		at = ct.AsTime()
	}
	return app.ProfileEvent{EventID: m.ID, Profile: ToDomainProfile(c), At: at, WithProfile: true}, nil
}

// decodeProfile returns the profile event m carries, ok false when its
// subject carries none (merges, erasures).
func decodeProfile(m events.Message) (pe app.ProfileEvent, ok bool, err error) {
	switch m.Subject {
	case customerv1.SubjectCustomerCreated:
		var ev customerv1.CustomerCreated
		pe, err = profileEvent(m, &ev, ev.GetCustomer)
	case customerv1.SubjectCustomerUpdated:
		var ev customerv1.CustomerUpdated
		pe, err = profileEvent(m, &ev, ev.GetCustomer)
	case customerv1.SubjectCustomerUndeleted:
		var ev customerv1.CustomerUndeleted
		pe, err = profileEvent(m, &ev, ev.GetCustomer)
	default:
		return app.ProfileEvent{}, false, nil
	}
	return pe, err == nil, err
}

func notMergeOrErasure(m events.Message) bool {
	return m.Subject != customerv1.SubjectCustomerMerged && m.Subject != customerv1.SubjectCustomerErased
}

// CustomersBatch applies a batch of the customers consumer in stream
// order: each run of profile events at once, merges and erasures one by
// one between them.
func (h *Handlers) CustomersBatch(ctx context.Context, ms []events.Message) error {
	return events.ApplyRuns(ctx, ms, notMergeOrErasure, decodeProfile, h.facts.UpdateProfiles, h.Customers)
}

// ToDomainProfile keeps the fields of a customer that segments filter on
// and that say nothing personal: enums as lowercase names without their
// prefix ("distributor"), owner, team, tags, attributes.
func ToDomainProfile(c *customerv1.Customer) domain.Profile {
	enum := func(name, prefix string) string {
		n := strings.ToLower(strings.TrimPrefix(name, prefix))
		if n == "unspecified" {
			return ""
		}
		return n
	}
	p := domain.Profile{
		CustomerID:     c.GetId(),
		Kind:           enum(c.GetKind().String(), "CUSTOMER_KIND_"),
		Type:           enum(c.GetType().String(), "CUSTOMER_TYPE_"),
		LifecycleStage: enum(c.GetLifecycleStage().String(), "LIFECYCLE_STAGE_"),
		OwnerID:        c.GetOwnerId(),
		TeamID:         c.GetTeamId(),
		Tags:           c.GetTags(),
		Attributes:     map[string]domain.Attribute{},
	}
	for name, v := range c.GetAttributes() {
		var a domain.Attribute
		switch x := v.GetValue().(type) {
		case *customerv1.AttributeValue_StringValue:
			a.Text = x.StringValue
		case *customerv1.AttributeValue_NumberValue:
			n := x.NumberValue
			a.Text, a.Number = strconv.FormatFloat(n, 'g', -1, 64), &n
		case *customerv1.AttributeValue_BoolValue:
			a.Text = strconv.FormatBool(x.BoolValue)
		case *customerv1.AttributeValue_EnumValue:
			a.Text = x.EnumValue
		case *customerv1.AttributeValue_DateValue:
			d := x.DateValue
			a.Text = fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
		default:
			continue
		}
		p.Attributes[name] = a
	}
	return p
}

// CustomerMerged folds the merged customer's purchases into the survivor's.
func (h *Handlers) CustomerMerged(ctx context.Context, m events.Message) error {
	return permanentIfInvalid(mergeevents.ApplyMerge(ctx, m, &customerv1.CustomerMerged{}, h.facts.MergeCustomers))
}

// CustomerErased records that the customer's erasure reached the service.
func (h *Handlers) CustomerErased(ctx context.Context, m events.Message) error {
	return permanentIfInvalid(mergeevents.ApplyErasure(ctx, m, &customerv1.CustomerErased{}, h.facts.RecordErasure))
}

// Purchases handles the events of the purchases consumer, by subject.
func (h *Handlers) Purchases(ctx context.Context, m events.Message) error {
	ev, err := decodeHistory(m)
	if err != nil {
		return err
	}
	return permanentIfInvalid(h.facts.RecordHistory(ctx, []app.HistoryEvent{ev}))
}

// PurchasesBatch applies a batch of the purchases consumer at once.
func (h *Handlers) PurchasesBatch(ctx context.Context, ms []events.Message) error {
	evs := make([]app.HistoryEvent, len(ms))
	for i, m := range ms {
		ev, err := decodeHistory(m)
		if err != nil {
			return err
		}
		evs[i] = ev
	}
	return h.facts.RecordHistory(ctx, evs)
}

// decodeHistory decodes a purchase or return event.
func decodeHistory(m events.Message) (app.HistoryEvent, error) {
	switch m.Subject {
	case interactionv1.SubjectPurchaseRecorded:
		var ev interactionv1.PurchaseRecorded
		if err := proto.Unmarshal(m.Payload, &ev); err != nil {
			return app.HistoryEvent{}, events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
		}
		p := toDomainPurchase(&ev)
		return app.HistoryEvent{EventID: m.ID, Purchase: &p}, nil
	case interactionv1.SubjectReturnRecorded:
		var ev interactionv1.ReturnRecorded
		if err := proto.Unmarshal(m.Payload, &ev); err != nil {
			return app.HistoryEvent{}, events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
		}
		r := domain.Return{
			InteractionID:         ev.GetInteractionId(),
			CustomerID:            ev.GetCustomerId(),
			PurchaseInteractionID: ev.GetPurchaseInteractionId(),
			Refund:                domain.Money{Currency: ev.GetRefund().GetCurrencyCode(), Minor: ev.GetRefund().GetAmountMinor()},
			Lines:                 toDomainLines(ev.GetLines()),
		}
		if ev.GetOccurTime() != nil {
			r.OccurTime = ev.GetOccurTime().AsTime()
		}
		return app.HistoryEvent{EventID: m.ID, Return: &r}, nil
	default:
		return app.HistoryEvent{}, events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurablePurchases))
	}
}

func toDomainLines(lines []*interactionv1.PurchaseLine) []domain.Line {
	out := make([]domain.Line, 0, len(lines))
	for _, l := range lines {
		out = append(out, domain.Line{
			Category: l.GetCategory(),
			Quantity: l.GetQuantity(),
			Amount:   l.GetQuantity() * l.GetUnitPrice().GetAmountMinor(),
		})
	}
	return out
}

func toDomainPurchase(ev *interactionv1.PurchaseRecorded) domain.Purchase {
	p := domain.Purchase{
		InteractionID: ev.GetInteractionId(),
		CustomerID:    ev.GetCustomerId(),
		Amount: domain.Money{
			Currency: ev.GetTotal().GetCurrencyCode(),
			Minor:    ev.GetTotal().GetAmountMinor(),
		},
		Lines: toDomainLines(ev.GetLines()),
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
// them in the order the customer service published them; a backlog is
// applied a batch at a time (see CustomersBatch).
func (h *Handlers) CustomersConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		HandleBatch: h.CustomersBatch,
		Stream:      customerv1.Stream,
		Durable:     DurableCustomers,
		FilterSubjects: []string{
			customerv1.SubjectCustomerCreated,
			customerv1.SubjectCustomerUpdated,
			customerv1.SubjectCustomerUndeleted,
			customerv1.SubjectCustomerMerged,
			customerv1.SubjectCustomerErased,
		},
	}
}

// PurchasesConsumer is the durable consumer of the purchase and return
// events that feed the customer facts, a batch at a time under a backlog
// (see PurchasesBatch).
func (h *Handlers) PurchasesConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		HandleBatch:    h.PurchasesBatch,
		Stream:         interactionv1.Stream,
		Durable:        DurablePurchases,
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded, interactionv1.SubjectReturnRecorded},
	}
}
