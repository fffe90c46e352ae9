package app

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// consentBook is the stored answers of some customers as answers are
// applied to them in order; the ones that changed are saved at once.
type consentBook struct {
	current map[string]map[domain.Channel]domain.Consent
	changed []domain.Consent
}

// lockConsents reads (and holds) the answers of customerIDs.
func lockConsents(ctx context.Context, tx domain.Tx, customerIDs []string) (*consentBook, error) {
	b := &consentBook{current: map[string]map[domain.Channel]domain.Consent{}}
	if len(customerIDs) == 0 {
		return b, nil
	}
	stored, err := tx.Consents(ctx, customerIDs)
	if err != nil {
		return nil, err
	}
	for _, c := range stored {
		b.of(c.CustomerID)[c.Channel] = c
	}
	return b, nil
}

func (b *consentBook) of(customerID string) map[domain.Channel]domain.Consent {
	m := b.current[customerID]
	if m == nil {
		m = map[domain.Channel]domain.Consent{}
		b.current[customerID] = m
	}
	return m
}

// apply takes each of answers as customerID's unless the answer held for
// its channel supersedes it, and returns the customer's answers afterwards.
func (b *consentBook) apply(customerID string, answers []domain.Consent) domain.Consents {
	current := b.of(customerID)
	for _, c := range answers {
		c.CustomerID = customerID
		if old, ok := current[c.Channel]; ok && !c.Supersedes(old) {
			continue
		}
		current[c.Channel] = c
		b.changed = append(b.changed, c)
	}
	out := make(domain.Consents, len(current))
	for ch, c := range current {
		out[ch] = c.Status
	}
	return out
}

// answers returns the customer's answers held, by channel.
func (b *consentBook) answers(customerID string) []domain.Consent {
	cur := b.current[customerID]
	return slices.SortedFunc(maps.Values(cur), func(x, y domain.Consent) int { return cmp.Compare(x.Channel, y.Channel) })
}

// save stores the answers that changed.
func (b *consentBook) save(ctx context.Context, tx domain.Tx) error {
	if len(b.changed) == 0 {
		return nil
	}
	return tx.SaveConsents(ctx, b.changed)
}

// applyConsents stores each of answers as customerID's unless the stored
// answer for its channel supersedes it, and returns the answers stored
// afterwards.
func applyConsents(ctx context.Context, tx domain.Tx, customerID string, answers []domain.Consent) (domain.Consents, error) {
	book, err := lockConsents(ctx, tx, []string{customerID})
	if err != nil {
		return nil, err
	}
	consents := book.apply(customerID, answers)
	return consents, book.save(ctx, tx)
}
