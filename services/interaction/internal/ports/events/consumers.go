package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/events/mergeevents"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// CustomersConsumer is the durable consumer of the customer events that
// re-key and anonymize timelines. One consumer keeps merges and erasures in
// the order the customer service published them.
func CustomersConsumer() events.ConsumerConfig {
	return events.ConsumerConfig{
		Stream:  customerv1.Stream,
		Durable: app.ConsumerCustomers,
		FilterSubjects: []string{
			customerv1.SubjectCustomerMerged,
			customerv1.SubjectCustomerErased,
		},
	}
}

// CustomerEvents is what the handlers need of the use cases.
type CustomerEvents interface {
	MergeCustomers(ctx context.Context, eventID string, m domain.Merge) error
	EraseCustomer(ctx context.Context, eventID string, e domain.Erasure) error
}

// CustomersHandler applies the events of the customers consumer, by
// subject. Payloads that do not decode, break the rules or contradict an
// earlier merge can never succeed and are dead-lettered.
func CustomersHandler(uc CustomerEvents) events.Handler {
	return func(ctx context.Context, m events.Message) error {
		switch m.Subject {
		case customerv1.SubjectCustomerMerged:
			return permanentIfInvalid(mergeevents.ApplyMerge(ctx, m, &customerv1.CustomerMerged{}, uc.MergeCustomers))
		case customerv1.SubjectCustomerErased:
			return permanentIfInvalid(mergeevents.ApplyErasure(ctx, m, &customerv1.CustomerErased{}, uc.EraseCustomer))
		default:
			return events.Permanent(fmt.Errorf("unexpected subject %s on %s", m.Subject, app.ConsumerCustomers))
		}
	}
}

func permanentIfInvalid(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) || errors.Is(err, domain.ErrMergeConflict) {
		return events.Permanent(err)
	}
	return err
}
