package events

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// CustomersConsumer is the durable consumer of the customer events the
// service reacts to.
func CustomersConsumer() platformevents.ConsumerConfig {
	return platformevents.ConsumerConfig{
		Stream:         customerv1.Stream,
		Durable:        app.ConsumerCustomers,
		FilterSubjects: []string{customerv1.SubjectCustomerCreated},
	}
}

// Welcomer is the use case a new customer triggers.
type Welcomer interface {
	WelcomeCustomer(ctx context.Context, eventID string, r domain.Recipient) error
}

// CustomerCreatedHandler queues the welcome message of each created
// customer. A payload that does not decode, or names no customer, can never
// succeed and is dead-lettered.
func CustomerCreatedHandler(w Welcomer) platformevents.Handler {
	return func(ctx context.Context, msg platformevents.Message) error {
		var ev customerv1.CustomerCreated
		if err := proto.Unmarshal(msg.Payload, &ev); err != nil {
			return platformevents.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		if ev.GetCustomer().GetId() == "" {
			return platformevents.Permanent(errors.New("decode " + msg.Subject + ": no customer id"))
		}
		return w.WelcomeCustomer(ctx, msg.ID, toDomainRecipient(ev.GetCustomer()))
	}
}

// toDomainRecipient keeps only what a message needs of the customer.
func toDomainRecipient(c *customerv1.Customer) domain.Recipient {
	return domain.Recipient{
		CustomerID: c.GetId(),
		Name:       c.GetDisplayName(),
		Email:      c.GetEmail(),
		Phone:      c.GetPhone(),
		Locale:     c.GetLocale(),
	}
}
