package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// CustomerEventKind says what a CustomerEvent reports.
type CustomerEventKind int

// The kinds of customer events UpdateCustomers applies.
const (
	// KindCreated is a customer created (CustomerCreated).
	KindCreated CustomerEventKind = iota + 1
	// KindUpdated is a customer changed or undeleted.
	KindUpdated
	// KindConsentChanged is one consent answer (ConsentChanged).
	KindConsentChanged
)

// CustomerEvent is one of the customer events applied in runs by
// UpdateCustomers; build it with CustomerCreated, CustomerUpdated or
// ConsentChanged.
type CustomerEvent struct {
	EventID string
	Kind    CustomerEventKind
	// Recipient is the customer created or updated.
	Recipient domain.Recipient
	// Consents are the answers the customer was created with, or the one
	// answer of a consent event.
	Consents []domain.Consent
	// Welcome is set when a created customer gets a welcome message (not
	// when imported).
	Welcome bool
}

// CustomerCreated is the event of customer r created with consents.
func CustomerCreated(eventID string, r domain.Recipient, consents []domain.Consent, welcome bool) CustomerEvent {
	return CustomerEvent{EventID: eventID, Kind: KindCreated, Recipient: r, Consents: consents, Welcome: welcome}
}

// CustomerUpdated is the event of customer r changed or undeleted.
func CustomerUpdated(eventID string, r domain.Recipient) CustomerEvent {
	return CustomerEvent{EventID: eventID, Kind: KindUpdated, Recipient: r}
}

// ConsentChanged is the event of consent answer c.
func ConsentChanged(eventID string, c domain.Consent) CustomerEvent {
	return CustomerEvent{EventID: eventID, Kind: KindConsentChanged, Recipient: domain.Recipient{CustomerID: c.CustomerID},
		Consents: []domain.Consent{c}}
}

// UpdateCustomers applies customer events, in order, in one transaction,
// each once per event id, with the effect each would have alone:
//
//   - a created customer's consents are stored, then its read model, and
//     its welcome message is queued on a channel the consents allow by then
//     (once per customer: the message is created in the transaction that
//     marks the event handled, and its idempotency key names the customer).
//     A customer erased or merged into another by the time the event is
//     handled (a late or replayed event) gets neither read model nor
//     welcome: it no longer exists on its own; its answers count for the
//     survivor.
//   - an update keeps the read model, unless the customer was merged or
//     erased.
//   - a consent answer is kept unless the answer stored for its channel was
//     given later (see Consent.Supersedes); one naming a merged customer is
//     the survivor's.
//
// Later events of a customer win as they would one by one. Merges and
// erasures are not among them: the caller applies those between runs.
// Everything is read and written a statement for all the events: the
// inbox, merges, erasures, consents (locked in customer order), read
// models and welcome messages.
func (s *Customers) UpdateCustomers(ctx context.Context, evs []CustomerEvent) error {
	for _, ev := range evs {
		if ev.Kind == KindConsentChanged {
			if err := ev.Consents[0].Validate().Err(); err != nil {
				return fmt.Errorf("update customers: %w", err)
			}
		}
	}
	var templates *domain.TemplateSet
	if slices.ContainsFunc(evs, func(ev CustomerEvent) bool { return ev.Welcome }) {
		var err error
		if templates, err = s.templates(ctx); err != nil {
			return fmt.Errorf("update customers: %w", err)
		}
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		todo, err := firstHandled(ctx, tx, ConsumerCustomers, evs, func(ev CustomerEvent) string { return ev.EventID })
		if err != nil {
			return err
		}
		if len(todo) == 0 {
			return nil
		}
		var named []string
		for _, ev := range todo {
			named = append(named, ev.Recipient.CustomerID)
		}
		survivors, err := merges.ResolveAll(ctx, tx.MergedIntoMany, named)
		if err != nil {
			return err
		}
		var answering, known []string
		for _, ev := range todo {
			survivor := survivors[ev.Recipient.CustomerID]
			if len(ev.Consents) > 0 {
				answering = append(answering, survivor)
			}
			if ev.Kind != KindConsentChanged && survivor == ev.Recipient.CustomerID {
				known = append(known, survivor)
			}
		}
		erased, err := tx.ErasedAmong(ctx, unique(known))
		if err != nil {
			return err
		}
		book, err := lockConsents(ctx, tx, unique(answering))
		if err != nil {
			return err
		}
		var recipients []domain.Recipient
		var welcomes []domain.Message
		for _, ev := range todo {
			r := ev.Recipient
			survivor := survivors[r.CustomerID]
			consents := book.apply(survivor, ev.Consents)
			if ev.Kind == KindConsentChanged || survivor != r.CustomerID || erased[survivor] {
				continue
			}
			recipients = append(recipients, r)
			if !ev.Welcome {
				continue
			}
			id, err := newID()
			if err != nil {
				return err
			}
			kind, _ := domain.LookupKind(domain.KindWelcome)
			welcomes = append(welcomes, domain.NewMessage(domain.Draft{ID: id, Kind: kind, Recipient: r, UnsubscribeURL: s.unsubscribeURL,
				IdempotencyKey: "welcome:" + r.CustomerID}, templates, consents, now))
		}
		if err := book.save(ctx, tx); err != nil {
			return err
		}
		if len(recipients) > 0 {
			if err := tx.SaveRecipients(ctx, recipients); err != nil {
				return err
			}
		}
		return s.createMessages(ctx, tx, welcomes...)
	})
	if err != nil {
		return fmt.Errorf("update customers: %w", err)
	}
	return nil
}

// firstHandled marks the events of a batch handled by consumer and returns
// those handled for the first time, each once (an event may come twice in
// a batch), in batch order.
func firstHandled[E any](ctx context.Context, tx domain.Tx, consumer string, evs []E, id func(E) string) ([]E, error) {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = id(ev)
	}
	first, err := tx.MarkHandledMany(ctx, consumer, ids)
	if err != nil {
		return nil, err
	}
	var out []E
	for _, ev := range evs {
		if first[id(ev)] {
			delete(first, id(ev)) // the same event again in the batch
			out = append(out, ev)
		}
	}
	return out, nil
}

// unique returns ids sorted, without repeats.
func unique(ids []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}
