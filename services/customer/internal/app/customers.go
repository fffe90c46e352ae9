package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Customers creates, reads, lists, changes, deletes, undeletes and
// erases customers, and records their consents.
type Customers struct{ *core }

// CreateCustomer is the input of CreateCustomer.
type CreateCustomer struct {
	Profile domain.Profile
	// RequestID makes the call idempotent: a second call with the same id
	// returns the customer the first one created. Empty means no
	// idempotency.
	RequestID string
	// AllowDuplicate creates the customer even when a contact belongs to
	// another one, flagged as a possible duplicate.
	AllowDuplicate bool
}

// CreateCustomer creates a customer owned by the profile's owner (the
// caller when none is named), starts its ownership history and publishes
// CustomerCreated, which carries the owner.
func (a *Customers) CreateCustomer(ctx context.Context, cmd CreateCustomer) (domain.Customer, error) {
	if len(cmd.RequestID) > domain.MaxRequestIDLength {
		return domain.Customer{}, validation.Violations{{
			Field: "request_id", Description: fmt.Sprintf("must be at most %d bytes", domain.MaxRequestIDLength),
		}}.Err()
	}
	if cmd.RequestID != "" {
		// The common retry finds the first result without a failed insert.
		prev, err := a.store.CustomerByRequestID(ctx, cmd.RequestID)
		switch {
		case err == nil:
			return prev, nil
		case !errors.Is(err, domain.ErrNotFound):
			return domain.Customer{}, wrap("create customer", err)
		}
	}
	if strings.TrimSpace(cmd.Profile.OwnerID) == "" {
		// The person a call is made for owns what they create; a service
		// acting for nobody owns nothing.
		if actor := callerOf(ctx).Actor; actor != "" {
			cmd.Profile.OwnerID = actor
		}
	}
	var out domain.Customer
	err := a.inTx(ctx, func(tx domain.Tx) error {
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		c, err := domain.NewCustomer(newID(), cmd.Profile, defs, a.clock())
		if err != nil {
			return err
		}
		if err := callerOf(ctx).Scope.CheckPlace("team_id", c.TeamID); err != nil {
			return err
		}
		if err := checkDuplicates(ctx, tx, c.ID, c.Contacts()); err != nil {
			// A duplicate of a customer the caller cannot see is refused
			// even when allowed: they cannot tell it is another person.
			var dup *domain.DuplicateError
			if !errors.As(err, &dup) || !cmd.AllowDuplicate || dup.OutOfScope {
				return err
			}
			c.PossibleDuplicate = true
		}
		if err := tx.CreateCustomers(ctx, []domain.Customer{c}, cmd.RequestID); err != nil {
			return err
		}
		change := domain.OwnershipChange{CustomerID: c.ID, ToOwner: c.OwnerID, ToTeam: c.TeamID,
			Reason: "created", Actor: callerOf(ctx).Name(), Time: c.CreateTime}
		if err := tx.RecordOwnershipChanges(ctx, []domain.OwnershipChange{change}); err != nil {
			return err
		}
		out = c
		return a.commit(ctx, tx, "CreateCustomer", c.ID, "", "", domain.CustomerCreated{Customer: c})
	})
	if errors.Is(err, domain.ErrDuplicateRequest) {
		// A concurrent call with the same request id won the race; the
		// unique request id column guarantees there is exactly one winner.
		prev, err := a.store.CustomerByRequestID(ctx, cmd.RequestID)
		return prev, wrap("create customer: read the first result", err)
	}
	return out, wrap("create customer", a.auditRefusedDuplicate(ctx, "CreateCustomer", err))
}

// commit writes the audit entry of a change and publishes its events.
func (a *core) commit(ctx context.Context, tx domain.Tx, action, customerID, reason, detail string, evs ...domain.Event) error {
	if err := tx.Audit(ctx, a.auditEntry(ctx, action, customerID, reason, detail)); err != nil {
		return err
	}
	return tx.Publish(ctx, evs...)
}

// resolve returns the customer id names, following merges to the survivor.
// A customer outside the caller's scope reads as not found.
func resolve(ctx context.Context, r domain.Reader, id string) (domain.Customer, error) {
	c, err := r.Customer(ctx, id)
	for hops := 0; err == nil && c.State == domain.StateMerged; hops++ {
		if hops > 10 {
			return domain.Customer{}, fmt.Errorf("customer %s: merge chain too long", id)
		}
		c, err = r.Customer(ctx, c.MergedInto)
	}
	return inScope(ctx, id, c, err)
}

// GetCustomer returns one customer; the id of a merged customer returns its
// survivor. The read is audited.
func (a *Customers) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	c, err := resolve(ctx, a.store, id)
	if err != nil {
		return domain.Customer{}, wrap("get customer", err)
	}
	if err := a.store.Audit(ctx, a.auditEntry(ctx, "GetCustomer", c.ID, "", "")); err != nil {
		return domain.Customer{}, wrap("get customer", err)
	}
	return c, nil
}

// ListCustomers is the input of ListCustomers.
type ListCustomers struct {
	// PageSize is the most customers returned; 0 means
	// domain.DefaultPageSize and larger than domain.MaxPageSize means the
	// maximum.
	PageSize int
	// After and Seen come from the page before (CustomerPage.Next and
	// NextSeen); both are zero for the first page.
	After string
	// Seen is how many customers the pages before returned, which gives
	// the last page its total.
	Seen        int
	Filter      string
	OrderBy     string
	Query       string
	ShowDeleted bool
}

// CustomerPage is one page of customers.
type CustomerPage struct {
	Customers []domain.Customer
	// Next is where the next page starts, "" on the last page; NextSeen is
	// the Seen to list it with.
	Next     string
	NextSeen int
	// TotalSize is how many customers match on all pages; when
	// TotalIsLowerBound is set, more do (counting stopped there).
	TotalSize         int
	TotalIsLowerBound bool
}

// ListCustomers returns one page of customers. The listing is audited with
// its filter and query.
func (a *Customers) ListCustomers(ctx context.Context, q ListCustomers) (CustomerPage, error) {
	size, err := pageSize(q.PageSize, domain.DefaultPageSize, domain.MaxPageSize)
	if err != nil {
		return CustomerPage{}, err
	}
	terms := domain.SearchTerms(q.Query)
	lq := domain.ListQuery{
		Filter: q.Filter, Terms: terms, OrderBy: q.OrderBy,
		ShowDeleted: q.ShowDeleted, Scope: callerOf(ctx).Scope, Limit: size, After: q.After,
	}
	rows, next, err := a.store.ListCustomers(ctx, lq)
	if err != nil {
		return CustomerPage{}, wrap("list customers", err)
	}
	page := CustomerPage{Customers: rows, Next: next}
	if next != "" {
		page.NextSeen = q.Seen + len(rows)
	}
	if err := a.countTotal(ctx, lq, q.Seen, &page); err != nil {
		return CustomerPage{}, wrap("list customers", err)
	}
	detail := fmt.Sprintf("filter=%q query_terms=%d order_by=%q offset=%d returned=%d",
		redactFilter(q.Filter), len(terms), q.OrderBy, q.Seen, len(page.Customers))
	if err := a.store.Audit(ctx, a.auditEntry(ctx, "ListCustomers", "", "", detail)); err != nil {
		return CustomerPage{}, wrap("list customers", err)
	}
	return page, nil
}

// countTotal sets page's total (AIP-158). The last page tells it for free
// (seen rows before it); any other page counts, up to a.countLimit matches.
func (a *Customers) countTotal(ctx context.Context, q domain.ListQuery, seen int, page *CustomerPage) error {
	if page.Next == "" && (len(page.Customers) > 0 || q.After == "") {
		page.TotalSize = seen + len(page.Customers)
		return nil
	}
	n, err := a.store.CountCustomers(ctx, q, a.countLimit+1)
	if err != nil {
		return err
	}
	page.TotalSize, page.TotalIsLowerBound = min(n, a.countLimit), n > a.countLimit
	return nil
}

// UpdateCustomer is the input of UpdateCustomer.
type UpdateCustomer struct {
	ID string
	// Etag, when set, must be the customer's current etag.
	Etag string
	// Profile carries the new values of Fields; other values are ignored.
	Profile domain.Profile
	Fields  []domain.Field
}

// UpdateCustomer writes the named fields and publishes CustomerUpdated when
// a value changed (and OwnershipChanged when the owner or team did). An
// update that changes nothing returns the customer as it is, with the same
// etag, and publishes nothing.
func (a *Customers) UpdateCustomer(ctx context.Context, cmd UpdateCustomer) (domain.Customer, error) {
	var out domain.Customer
	err := a.inTx(ctx, func(tx domain.Tx) error {
		cur, err := scopedCustomer(ctx, tx, cmd.ID)
		if err != nil {
			return err
		}
		if err := cur.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		next, changed, err := cur.Apply(cmd.Profile, cmd.Fields, defs, a.clock())
		if err != nil {
			return err
		}
		out = next
		if len(changed) == 0 {
			return nil
		}
		if next.TeamID != cur.TeamID {
			if err := callerOf(ctx).Scope.CheckPlace("team_id", next.TeamID); err != nil {
				return err
			}
		}
		if err := checkDuplicates(ctx, tx, cur.ID, addedContacts(cur.Profile, next.Profile)); err != nil {
			return err
		}
		if err := tx.UpdateCustomer(ctx, next, cur.Version); err != nil {
			return err
		}
		evs := []domain.Event{domain.CustomerUpdated{Customer: next, ChangedFields: changed}}
		if cur.OwnerID != next.OwnerID || cur.TeamID != next.TeamID {
			change := domain.OwnershipChange{CustomerID: cur.ID, FromOwner: cur.OwnerID, FromTeam: cur.TeamID,
				ToOwner: next.OwnerID, ToTeam: next.TeamID, Reason: callerOf(ctx).Reason,
				Actor: callerOf(ctx).Name(), Time: next.UpdateTime}
			if err := tx.RecordOwnershipChanges(ctx, []domain.OwnershipChange{change}); err != nil {
				return err
			}
			evs = append(evs, domain.OwnershipChanged{Change: change})
		}
		names := make([]string, len(changed))
		for i, f := range changed {
			names[i] = string(f)
		}
		return a.commit(ctx, tx, "UpdateCustomer", cur.ID, "", "changed="+strings.Join(names, ","), evs...)
	})
	return out, wrap("update customer", a.auditRefusedDuplicate(ctx, "UpdateCustomer", err))
}

// change runs a state change of one customer: read it, check the etag,
// apply fn, store and publish what fn returns, audit it.
func (a *Customers) change(ctx context.Context, action, id, etag, reason string,
	fn func(tx domain.Tx, cur domain.Customer) (domain.Customer, []domain.Event, error)) (domain.Customer, error) {
	var out domain.Customer
	err := a.inTx(ctx, func(tx domain.Tx) error {
		cur, err := scopedCustomer(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := cur.CheckEtag(etag); err != nil {
			return err
		}
		next, evs, err := fn(tx, cur)
		if err != nil {
			return err
		}
		out = next
		if len(evs) == 0 {
			return nil
		}
		if err := tx.UpdateCustomer(ctx, next, cur.Version); err != nil {
			return err
		}
		return a.commit(ctx, tx, action, id, reason, "", evs...)
	})
	return out, err
}

// DeleteCustomer soft-deletes a customer.
func (a *Customers) DeleteCustomer(ctx context.Context, id, etag string) (domain.Customer, error) {
	c, err := a.change(ctx, "DeleteCustomer", id, etag, "", func(_ domain.Tx, cur domain.Customer) (domain.Customer, []domain.Event, error) {
		next, err := cur.Delete(a.clock())
		return next, []domain.Event{domain.CustomerDeleted{ID: id, DeleteTime: next.DeleteTime}}, err
	})
	return c, wrap("delete customer", err)
}

// UndeleteCustomer restores a soft-deleted customer.
func (a *Customers) UndeleteCustomer(ctx context.Context, id string) (domain.Customer, error) {
	c, err := a.change(ctx, "UndeleteCustomer", id, "", "", func(_ domain.Tx, cur domain.Customer) (domain.Customer, []domain.Event, error) {
		next, err := cur.Undelete(a.clock())
		return next, []domain.Event{domain.CustomerUndeleted{Customer: next}}, err
	})
	return c, wrap("undelete customer", err)
}

// EraseCustomer removes a customer's personal data for good, with its
// relationships, and publishes CustomerErased so every service does the
// same. The reason is required and audited.
func (a *Customers) EraseCustomer(ctx context.Context, id, reason string) (domain.Customer, error) {
	if err := domain.CheckReason(reason, true); err != nil {
		return domain.Customer{}, err
	}
	c, err := a.change(ctx, "EraseCustomer", id, "", reason, func(tx domain.Tx, cur domain.Customer) (domain.Customer, []domain.Event, error) {
		next, err := cur.Erase(a.clock())
		if err != nil {
			return domain.Customer{}, nil, err
		}
		if err := tx.DeleteRelationshipsOf(ctx, id); err != nil {
			return domain.Customer{}, nil, err
		}
		return next, []domain.Event{domain.CustomerErased{ID: id, EraseTime: next.DeleteTime}}, nil
	})
	return c, wrap("erase customer", err)
}

// SetConsent records the customer's answer for a channel and publishes
// ConsentChanged when it changed.
func (a *Customers) SetConsent(ctx context.Context, id string, consent domain.Consent) (domain.Customer, error) {
	c, err := a.change(ctx, "SetConsent", id, "", "", func(_ domain.Tx, cur domain.Customer) (domain.Customer, []domain.Event, error) {
		next, changed, err := cur.SetConsent(consent, a.clock())
		if err != nil || !changed {
			return next, nil, err
		}
		for _, cs := range next.Consents {
			if cs.Channel == consent.Channel {
				return next, []domain.Event{domain.ConsentChanged{ID: id, Consent: cs}}, nil
			}
		}
		return next, nil, nil
	})
	return c, wrap("set consent", err)
}
