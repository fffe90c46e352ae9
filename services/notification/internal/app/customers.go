package app

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// survivorVia follows merges from id to the customer it stands for;
// mergedInto is MergedInto of a Store or a Tx.
func survivorVia(ctx context.Context, mergedInto merges.Lookup, id string) (string, error) {
	return merges.Resolve(ctx, mergedInto, id)
}

// Customers keeps the read model of customers (recipients) and their
// consents from the customer service's events and unsubscribe links, and
// applies merges and erasures to their messages.
type Customers struct{ *core }

// ChangeConsent keeps a customer's latest answer for a channel: an answer
// given before the one stored (a late or replayed event) changes nothing.
// An answer naming a merged customer is the survivor's. eventID is the
// ConsentChanged event's; seeing it again changes nothing.
func (s *Customers) ChangeConsent(ctx context.Context, eventID string, c domain.Consent) error {
	if err := s.UpdateCustomers(ctx, []CustomerEvent{ConsentChanged(eventID, c)}); err != nil {
		return fmt.Errorf("change consent: %w", err)
	}
	return nil
}

// MergeCustomers moves the merged customer's messages and consents to the
// survivor (each channel keeping the latest answer of the two), remembers
// the merge so later events naming the merged customer count for the
// survivor, and stores the survivor's answers the merge event carries.
// eventID is the CustomerMerged event's: seeing it again, or the same
// merge under another event, moves nothing.
func (s *Customers) MergeCustomers(ctx context.Context, eventID string, m domain.Merge, survivor domain.Recipient, survivorConsents []domain.Consent) error {
	if err := m.Validate().Err(); err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	survivorProfile := survivor
	templates, err := s.templates(ctx)
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Once(ctx, tx, ConsumerCustomers, eventID, func() error {
			return s.mergeCustomer(ctx, tx, m, survivorProfile, survivorConsents, templates)
		})
	})
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	return nil
}

// mergeCustomer applies m in tx, the first time its event is handled.
func (s *Customers) mergeCustomer(ctx context.Context, tx domain.Tx, m domain.Merge, survivorProfile domain.Recipient,
	survivorConsents []domain.Consent, templates *domain.TemplateSet) error {
	m, apply, err := merges.Plan(ctx, tx.MergedInto, m)
	if err != nil {
		return err
	}
	survivor := m.SurvivorID
	held := []string{survivor}
	if apply {
		held = append(held, m.MergedID)
	}
	book, err := lockConsents(ctx, tx, held)
	if err != nil {
		return err
	}
	var queued []domain.Message
	if apply {
		// Read before the merge moves them to the survivor.
		if queued, err = tx.LockQueued(ctx, m.MergedID); err != nil {
			return err
		}
		if err := tx.MergeCustomer(ctx, m); err != nil {
			return err
		}
		book.apply(survivor, book.answers(m.MergedID))
		if err := tx.DeleteConsents(ctx, m.MergedID); err != nil {
			return err
		}
	}
	consents := book.apply(survivor, survivorConsents)
	if err := book.save(ctx, tx); err != nil {
		return err
	}
	known := survivorProfile.CustomerID == survivor
	if known {
		if err := tx.SaveRecipients(ctx, []domain.Recipient{survivorProfile}); err != nil {
			return err
		}
	}
	return s.readdress(ctx, tx, m, queued, survivorProfile, known, consents, templates)
}

// readdress settles the merged customer's queued messages, now the
// survivor's, so that none goes out with, or keeps, the merged record's
// name or address: each is rendered again for the survivor (their name,
// address, language, consents). One the survivor must not get is kept
// SUPPRESSED with ReasonMerged, its text also the survivor's: the
// survivor has its own of the kind (its idempotency key for the survivor
// is taken: one welcome per customer), the day was the merged record's
// birthday and not the survivor's, or the survivor's profile is unknown
// here (then the text and address go).
func (s *Customers) readdress(ctx context.Context, tx domain.Tx, m domain.Merge, queued []domain.Message,
	survivor domain.Recipient, known bool, consents domain.Consents, templates *domain.TemplateSet) error {
	for _, q := range queued {
		kind, ok := domain.LookupKind(q.Template)
		key := domain.ReaddressKey(q.IdempotencyKey, m)
		cancel := !known || !ok || (q.Template == domain.KindBirthday && !survivor.BornOn(q.CreateTime))
		if !cancel && key != q.IdempotencyKey {
			taken, err := tx.KeyTaken(ctx, key)
			if err != nil {
				return err
			}
			cancel = taken
		}
		msg := q
		msg.CustomerID, msg.Address, msg.Subject, msg.Body, msg.HTMLBody, msg.UnsubscribeURL = m.SurvivorID, "", "", "", "", ""
		if known && ok {
			msg = domain.NewMessage(domain.Draft{ID: q.ID, Kind: kind, Recipient: survivor, Vars: q.Vars, NotBefore: q.NotBefore,
				IdempotencyKey: key, CampaignID: q.CampaignID, UnsubscribeURL: s.unsubscribeURL}, templates, consents, q.CreateTime)
		}
		if cancel {
			msg.IdempotencyKey = q.IdempotencyKey
			msg.Status, msg.StatusReason, msg.FailureReason = domain.StatusSuppressed, domain.ReasonMerged, ""
		}
		if err := tx.SaveReaddressed(ctx, msg); err != nil {
			return err
		}
		if msg.Status == domain.StatusQueued {
			s.wake(tx)
		} else if err := tx.Publish(ctx, msg.FailedEvent()); err != nil {
			return err
		}
	}
	return nil
}

// EraseCustomer removes the customer's personal data from every message
// (see Message.Erase) and from what the channels kept of them: queued
// messages fail and are never sent, each announced with MessageFailed.
// The customer is remembered as erased, so a late created event welcomes
// nobody. An erasure naming a merged customer erases the survivor, which
// holds its messages. eventID is the CustomerErased event's: seeing it
// again changes nothing.
func (s *Customers) EraseCustomer(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate().Err(); err != nil {
		return fmt.Errorf("erase customer: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Erase(ctx, tx, ConsumerCustomers, eventID, e, func(e domain.Erasure) error {
			return s.eraseCustomer(ctx, tx, e)
		})
	})
	if err != nil {
		return fmt.Errorf("erase customer: %w", err)
	}
	return nil
}

// eraseCustomer applies e in tx, the first time its event is handled.
func (s *Customers) eraseCustomer(ctx context.Context, tx domain.Tx, e domain.Erasure) error {
	if err := tx.RecordErasure(ctx, e, s.now().UTC()); err != nil {
		return err
	}
	if err := tx.DeleteRecipient(ctx, e.CustomerID); err != nil {
		return err
	}
	msgs, err := tx.LockMessages(ctx, e.CustomerID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		queued := m.Erase()
		if err := tx.SaveErased(ctx, m); err != nil {
			return err
		}
		if queued {
			if err := tx.Publish(ctx, m.FailedEvent()); err != nil {
				return err
			}
		}
	}
	return tx.ForgetDeliveries(ctx, e.CustomerID)
}

// WelcomeCustomer stores a customer just created (read model and the
// consents they were created with) and queues their welcome message on a
// channel the consents allow; see UpdateCustomers. An imported customer
// (welcome false) is stored but not welcomed.
func (s *Customers) WelcomeCustomer(ctx context.Context, eventID string, r domain.Recipient, consents []domain.Consent, welcome bool) error {
	if err := s.UpdateCustomers(ctx, []CustomerEvent{CustomerCreated(eventID, r, consents, welcome)}); err != nil {
		return fmt.Errorf("welcome customer: %w", err)
	}
	return nil
}

// UpdateRecipient keeps the read model of a changed (or undeleted)
// customer; see UpdateCustomers.
func (s *Customers) UpdateRecipient(ctx context.Context, eventID string, r domain.Recipient) error {
	if err := s.UpdateCustomers(ctx, []CustomerEvent{CustomerUpdated(eventID, r)}); err != nil {
		return fmt.Errorf("update recipient: %w", err)
	}
	return nil
}

// createMessages stores ms (once per idempotency key), announces the ones
// stored that did not queue, and wakes the dispatcher when some did.
func (s *core) createMessages(ctx context.Context, tx domain.Tx, ms ...domain.Message) error {
	if len(ms) == 0 {
		return nil
	}
	created, err := tx.CreateMessages(ctx, ms)
	if err != nil || len(created) == 0 {
		return err
	}
	countOnCommit(ctx, tx, s.opts.Metrics, created...)
	var failed []domain.Event
	for _, m := range created {
		if m.Status != domain.StatusQueued {
			failed = append(failed, m.FailedEvent())
		}
	}
	if len(failed) < len(created) {
		s.wake(tx)
	}
	if len(failed) == 0 {
		return nil
	}
	return tx.Publish(ctx, failed...)
}
