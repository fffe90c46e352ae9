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

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/protoconv"
)

// CustomersConsumer is the durable consumer of the customer events the
// service reacts to. One consumer keeps them in the order the customer
// service published them: a consent given right after signup is stored
// after the signup's, an erasure comes after what it erases. A backlog (an
// import) is applied a batch at a time (see CustomersBatch).
func CustomersConsumer(uc Customers) platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		HandleBatch: CustomersBatch(uc),
		Stream:      customerv1.Stream,
		Durable:     app.ConsumerCustomers,
		FilterSubjects: []string{
			customerv1.SubjectCustomerCreated,
			customerv1.SubjectCustomerUpdated,
			customerv1.SubjectCustomerUndeleted,
			customerv1.SubjectConsentChanged,
			customerv1.SubjectCustomerMerged,
			customerv1.SubjectCustomerErased,
		},
	}
}

// Customers is what the customer events trigger.
type Customers interface {
	UpdateCustomers(ctx context.Context, evs []app.CustomerEvent) error
	MergeCustomers(ctx context.Context, eventID string, m domain.Merge, survivor domain.Recipient, survivorConsents []domain.Consent) error
	EraseCustomer(ctx context.Context, eventID string, e domain.Erasure) error
}

// CustomersHandler applies the events of the customers consumer one at a
// time, by subject. A payload that does not decode, breaks the rules or
// contradicts an earlier merge can never succeed and is dead-lettered.
func CustomersHandler(uc Customers) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		switch msg.Subject {
		case customerv1.SubjectCustomerMerged:
			// The event carries the survivor's profile and consents too.
			var ev customerv1.CustomerMerged
			return permanentIfInvalid(mergeevents.ApplyMerge(ctx, msg, &ev, func(ctx context.Context, eventID string, m domain.Merge) error {
				return uc.MergeCustomers(ctx, eventID, m, ToDomainRecipient(ev.GetSurvivor()), ToDomainConsents(ev.GetSurvivor(), msg.Time))
			}))
		case customerv1.SubjectCustomerErased:
			return permanentIfInvalid(mergeevents.ApplyErasure(ctx, msg, &customerv1.CustomerErased{}, uc.EraseCustomer))
		}
		ev, ok, err := decodeCustomerEvent(msg)
		if err != nil || !ok {
			return err
		}
		return permanentIfInvalid(uc.UpdateCustomers(ctx, []app.CustomerEvent{ev}))
	}
}

// CustomersBatch applies a batch of the customers consumer in stream
// order: each run of created, updated and consent events at once (see
// app.Customers.UpdateCustomers), merges and erasures one by one between
// them. Any failure rolls the batch back, and the consumer handles its
// messages one by one through CustomersHandler, which dead-letters the
// ones that can never succeed.
func CustomersBatch(uc Customers) platformevents.BatchHandler {
	one := CustomersHandler(uc)
	return func(ctx context.Context, msgs []platformevents.Message) error {
		return platformevents.ApplyRuns(ctx, msgs, notMergeOrErasure, decodeCustomerEvent, uc.UpdateCustomers, one)
	}
}

func notMergeOrErasure(m platformevents.Message) bool {
	return m.Subject != customerv1.SubjectCustomerMerged && m.Subject != customerv1.SubjectCustomerErased
}

// decodeCustomerEvent decodes a created, updated, undeleted or consent
// event; ok is false for one that changes nothing here (an answer about
// phone calls).
func decodeCustomerEvent(msg platformevents.Message) (ev app.CustomerEvent, ok bool, err error) {
	decode := func(m proto.Message, c func() *customerv1.Customer) (*customerv1.Customer, error) {
		if err := proto.Unmarshal(msg.Payload, m); err != nil {
			return nil, platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		if c == nil {
			return nil, nil
		}
		if c().GetId() == "" {
			return nil, platformevents.Permanent(errors.New("decode " + msg.Subject + ": no customer id"))
		}
		return c(), nil
	}
	switch msg.Subject {
	case customerv1.SubjectCustomerCreated:
		var ce customerv1.CustomerCreated
		c, err := decode(&ce, ce.GetCustomer)
		if err != nil {
			return ev, false, err
		}
		// Customers taken over from another system are not new to the
		// company and get no welcome, but they have birthdays.
		return app.CustomerCreated(msg.ID, ToDomainRecipient(c), ToDomainConsents(c, msg.Time), !ce.GetImported()), true, nil
	case customerv1.SubjectCustomerUpdated:
		var ue customerv1.CustomerUpdated
		c, err := decode(&ue, ue.GetCustomer)
		if err != nil {
			return ev, false, err
		}
		return app.CustomerUpdated(msg.ID, ToDomainRecipient(c)), true, nil
	case customerv1.SubjectCustomerUndeleted:
		var ue customerv1.CustomerUndeleted
		c, err := decode(&ue, ue.GetCustomer)
		if err != nil {
			return ev, false, err
		}
		return app.CustomerUpdated(msg.ID, ToDomainRecipient(c)), true, nil
	case customerv1.SubjectConsentChanged:
		var cc customerv1.ConsentChanged
		if _, err := decode(&cc, nil); err != nil {
			return ev, false, err
		}
		if cc.GetConsent().GetChannel() == customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE {
			// Phone calls: no message goes out by call, so the answer
			// rules nothing here.
			return ev, false, nil
		}
		return app.ConsentChanged(msg.ID, toDomainConsent(cc.GetCustomerId(), cc.GetConsent(), msg.Time)), true, nil
	default:
		return ev, false, platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", msg.Subject, app.ConsumerCustomers))
	}
}

func permanentIfInvalid(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) || errors.Is(err, domain.ErrMergeConflict) || errors.Is(err, domain.ErrUnknownTemplate) {
		return platformevents.Permanent(err)
	}
	return err
}

// ToDomainRecipient keeps only what a message needs of the customer.
func ToDomainRecipient(c *customerv1.Customer) domain.Recipient {
	return domain.Recipient{
		CustomerID: c.GetId(),
		Name:       c.GetDisplayName(),
		Email:      c.GetEmail(),
		Phone:      c.GetPhone(),
		Locale:     c.GetLocale(),
		TimeZone:   c.GetTimeZone(),
		BirthMonth: int(c.GetBirthday().GetMonth()),
		BirthDay:   int(c.GetBirthday().GetDay()),
	}
}

// ToDomainConsents returns the customer's answers for the channels
// messages go out on; phone calls and unknown channels are left out. An
// answer without a time counts as given at the event's time.
func ToDomainConsents(c *customerv1.Customer, eventTime time.Time) []domain.Consent {
	var out []domain.Consent
	for _, p := range c.GetConsents() {
		con := toDomainConsent(c.GetId(), p, eventTime)
		if con.Channel.Valid() {
			out = append(out, con)
		}
	}
	return out
}

// toDomainConsent converts one answer. A channel with no notification
// counterpart becomes ChannelNone, which validation refuses.
func toDomainConsent(customerID string, p *customerv1.Consent, eventTime time.Time) domain.Consent {
	c := domain.Consent{
		CustomerID: customerID,
		Channel:    protoconv.FromConsentChannel(p.GetChannel()),
		Status:     protoconv.FromConsentStatus(p.GetStatus()),
		Source:     p.GetSource(),
		UpdateTime: eventTime,
	}
	if p.GetUpdateTime() != nil {
		c.UpdateTime = p.GetUpdateTime().AsTime()
	}
	return c
}
