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
// after the signup's, an erasure comes after what it erases.
func CustomersConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:  customerv1.Stream,
		Durable: app.ConsumerCustomers,
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
	WelcomeCustomer(ctx context.Context, eventID string, r domain.Recipient, consents []domain.Consent, welcome bool) error
	UpdateRecipient(ctx context.Context, eventID string, r domain.Recipient) error
	ChangeConsent(ctx context.Context, eventID string, c domain.Consent) error
	MergeCustomers(ctx context.Context, eventID string, m domain.Merge, survivor domain.Recipient, survivorConsents []domain.Consent) error
	EraseCustomer(ctx context.Context, eventID string, e domain.Erasure) error
}

// CustomersHandler applies the events of the customers consumer, by
// subject. A payload that does not decode, breaks the rules or contradicts
// an earlier merge can never succeed and is dead-lettered.
func CustomersHandler(uc Customers) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		switch msg.Subject {
		case customerv1.SubjectCustomerCreated:
			var ev customerv1.CustomerCreated
			if err := proto.Unmarshal(msg.Payload, &ev); err != nil {
				return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
			}
			if ev.GetCustomer().GetId() == "" {
				return platformevents.Permanent(errors.New("decode " + msg.Subject + ": no customer id"))
			}
			// Customers taken over from another system are not new to the
			// company and get no welcome, but they have birthdays.
			c := ev.GetCustomer()
			return permanentIfInvalid(uc.WelcomeCustomer(ctx, msg.ID, ToDomainRecipient(c), ToDomainConsents(c, msg.Time), !ev.GetImported()))
		case customerv1.SubjectCustomerUpdated, customerv1.SubjectCustomerUndeleted:
			var c *customerv1.Customer
			if msg.Subject == customerv1.SubjectCustomerUpdated {
				var ev customerv1.CustomerUpdated
				if err := proto.Unmarshal(msg.Payload, &ev); err != nil {
					return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
				}
				c = ev.GetCustomer()
			} else {
				var ev customerv1.CustomerUndeleted
				if err := proto.Unmarshal(msg.Payload, &ev); err != nil {
					return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
				}
				c = ev.GetCustomer()
			}
			if c.GetId() == "" {
				return platformevents.Permanent(errors.New("decode " + msg.Subject + ": no customer id"))
			}
			return permanentIfInvalid(uc.UpdateRecipient(ctx, msg.ID, ToDomainRecipient(c)))
		case customerv1.SubjectConsentChanged:
			var ev customerv1.ConsentChanged
			if err := proto.Unmarshal(msg.Payload, &ev); err != nil {
				return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
			}
			if ev.GetConsent().GetChannel() == customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE {
				// Phone calls: no message goes out by call, so the answer
				// rules nothing here.
				return nil
			}
			return permanentIfInvalid(uc.ChangeConsent(ctx, msg.ID, toDomainConsent(ev.GetCustomerId(), ev.GetConsent(), msg.Time)))
		case customerv1.SubjectCustomerMerged:
			// The event carries the survivor's profile and consents too.
			var ev customerv1.CustomerMerged
			return permanentIfInvalid(mergeevents.ApplyMerge(ctx, msg, &ev, func(ctx context.Context, eventID string, m domain.Merge) error {
				return uc.MergeCustomers(ctx, eventID, m, ToDomainRecipient(ev.GetSurvivor()), ToDomainConsents(ev.GetSurvivor(), msg.Time))
			}))
		case customerv1.SubjectCustomerErased:
			return permanentIfInvalid(mergeevents.ApplyErasure(ctx, msg, &customerv1.CustomerErased{}, uc.EraseCustomer))
		default:
			return platformevents.Permanent(fmt.Errorf("unexpected subject %s on %s", msg.Subject, app.ConsumerCustomers))
		}
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
