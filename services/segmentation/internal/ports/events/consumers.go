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
	case customerv1.SubjectCustomerCreated:
		return h.CustomerCreated(ctx, m)
	case customerv1.SubjectCustomerUpdated:
		var ev customerv1.CustomerUpdated
		return h.profile(ctx, m, &ev, ev.GetCustomer)
	case customerv1.SubjectCustomerUndeleted:
		var ev customerv1.CustomerUndeleted
		return h.profile(ctx, m, &ev, ev.GetCustomer)
	case customerv1.SubjectCustomerMerged:
		return h.CustomerMerged(ctx, m)
	case customerv1.SubjectCustomerErased:
		return h.CustomerErased(ctx, m)
	default:
		return events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurableCustomers))
	}
}

// profile applies an event carrying the whole customer: its profile
// fields replace the ones held for segments.
func (h *Handlers) profile(ctx context.Context, m events.Message, ev proto.Message, customer func() *customerv1.Customer) error {
	if err := proto.Unmarshal(m.Payload, ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	c := customer()
	at := m.Time
	if ct := c.GetCreateTime(); ct != nil {
		at = ct.AsTime()
	}
	return permanentIfInvalid(h.facts.UpdateProfile(ctx, m.ID, ToDomainProfile(c), at, true))
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

// CustomerCreated registers the new customer with its profile.
func (h *Handlers) CustomerCreated(ctx context.Context, m events.Message) error {
	var ev customerv1.CustomerCreated
	return h.profile(ctx, m, &ev, ev.GetCustomer)
}

// Purchases handles the events of the purchases consumer, by subject.
func (h *Handlers) Purchases(ctx context.Context, m events.Message) error {
	switch m.Subject {
	case interactionv1.SubjectPurchaseRecorded:
		return h.PurchaseRecorded(ctx, m)
	case interactionv1.SubjectReturnRecorded:
		return h.ReturnRecorded(ctx, m)
	default:
		return events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, DurablePurchases))
	}
}

// ReturnRecorded stores the return.
func (h *Handlers) ReturnRecorded(ctx context.Context, m events.Message) error {
	var ev interactionv1.ReturnRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
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
	return permanentIfInvalid(h.facts.RecordReturn(ctx, m.ID, r))
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

// PurchaseRecorded stores the purchase.
func (h *Handlers) PurchaseRecorded(ctx context.Context, m events.Message) error {
	var ev interactionv1.PurchaseRecorded
	if err := proto.Unmarshal(m.Payload, &ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return permanentIfInvalid(h.facts.RecordPurchase(ctx, m.ID, toDomainPurchase(&ev)))
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
// them in the order the customer service published them.
func CustomersConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:  customerv1.Stream,
		Durable: DurableCustomers,
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
// events that feed the customer facts.
func PurchasesConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:         interactionv1.Stream,
		Durable:        DurablePurchases,
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded, interactionv1.SubjectReturnRecorded},
	}
}
