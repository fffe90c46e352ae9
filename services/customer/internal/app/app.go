// Package app holds the customer service's use cases: one method per command
// or query, each running its writes and the events they produce in one
// transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// App runs the customer use cases against a store.
type App struct {
	store domain.Store
	now   func() time.Time
	newID func() (string, error)
}

// Option changes how an App is built.
type Option func(*App)

// WithClock makes the App read the time from now, for tests.
func WithClock(now func() time.Time) Option {
	return func(a *App) { a.now = now }
}

// New returns an App on store.
func New(store domain.Store, opts ...Option) *App {
	a := &App{store: store, now: time.Now, newID: newUUIDv7}
	for _, o := range opts {
		o(a)
	}
	return a
}

func newUUIDv7() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// clock returns the current time at the precision the store keeps, so the
// customer a command returns equals the one a later read returns.
func (a *App) clock() time.Time {
	return a.now().UTC().Truncate(time.Microsecond)
}

// CreateCustomer is the input of CreateCustomer.
type CreateCustomer struct {
	Profile domain.Profile
	// RequestID makes the call idempotent: a second call with the same id
	// returns the customer the first one created. Empty means no
	// idempotency.
	RequestID string
}

// CreateCustomer creates a customer and publishes CustomerCreated.
func (a *App) CreateCustomer(ctx context.Context, cmd CreateCustomer) (domain.Customer, error) {
	if len(cmd.RequestID) > domain.MaxRequestIDLength {
		return domain.Customer{}, validation.Violations{{
			Field: "request_id", Description: fmt.Sprintf("must be at most %d bytes", domain.MaxRequestIDLength),
		}}.Err()
	}
	id, err := a.newID()
	if err != nil {
		return domain.Customer{}, fmt.Errorf("create customer: new id: %w", err)
	}
	c, err := domain.NewCustomer(id, cmd.Profile, a.clock())
	if err != nil {
		return domain.Customer{}, err
	}
	if cmd.RequestID != "" {
		// The common retry finds the first result without a failed insert.
		prev, err := a.store.CustomerByRequestID(ctx, cmd.RequestID)
		switch {
		case err == nil:
			return prev, nil
		case !errors.Is(err, domain.ErrNotFound):
			return domain.Customer{}, fmt.Errorf("create customer: %w", err)
		}
	}
	err = a.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.CreateCustomer(ctx, c, cmd.RequestID); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.CustomerCreated{Customer: c})
	})
	if errors.Is(err, domain.ErrDuplicateRequest) {
		// A concurrent call with the same request id won the race; the
		// unique request id column guarantees there is exactly one winner.
		prev, err := a.store.CustomerByRequestID(ctx, cmd.RequestID)
		if err != nil {
			return domain.Customer{}, fmt.Errorf("create customer: read the first result: %w", err)
		}
		return prev, nil
	}
	if err != nil {
		return domain.Customer{}, fmt.Errorf("create customer: %w", err)
	}
	return c, nil
}

// GetCustomer returns one customer.
func (a *App) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	c, err := a.store.Customer(ctx, id)
	if err != nil {
		return domain.Customer{}, fmt.Errorf("get customer: %w", err)
	}
	return c, nil
}

// ListCustomers is the input of ListCustomers.
type ListCustomers struct {
	// PageSize is the most customers returned; 0 means
	// domain.DefaultPageSize and larger than domain.MaxPageSize means the
	// maximum.
	PageSize int
	// After continues a previous page.
	After *domain.Cursor
}

// CustomerPage is one page of customers.
type CustomerPage struct {
	Customers []domain.Customer
	// Next is where the next page starts; nil on the last page.
	Next *domain.Cursor
}

// ListCustomers returns one page of customers, oldest first.
func (a *App) ListCustomers(ctx context.Context, q ListCustomers) (CustomerPage, error) {
	size := q.PageSize
	switch {
	case size < 0:
		return CustomerPage{}, validation.Violations{{
			Field: "page_size", Description: "must not be negative",
		}}.Err()
	case size == 0:
		size = domain.DefaultPageSize
	case size > domain.MaxPageSize:
		size = domain.MaxPageSize
	}
	// One extra row tells whether another page follows without a count.
	rows, err := a.store.ListCustomers(ctx, domain.ListQuery{Limit: size + 1, After: q.After})
	if err != nil {
		return CustomerPage{}, fmt.Errorf("list customers: %w", err)
	}
	page := CustomerPage{Customers: rows}
	if len(rows) > size {
		page.Customers = rows[:size]
		last := page.Customers[size-1]
		page.Next = &domain.Cursor{CreateTime: last.CreateTime, ID: last.ID}
	}
	return page, nil
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
// a value changed. An update that changes nothing returns the customer as it
// is, with the same etag, and publishes nothing.
func (a *App) UpdateCustomer(ctx context.Context, cmd UpdateCustomer) (domain.Customer, error) {
	var out domain.Customer
	err := a.store.InTx(ctx, func(tx domain.Tx) error {
		cur, err := tx.Customer(ctx, cmd.ID)
		if err != nil {
			return err
		}
		if err := cur.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		next, changed, err := cur.Apply(cmd.Profile, cmd.Fields, a.clock())
		if err != nil {
			return err
		}
		out = next
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateCustomer(ctx, next, cur.Version); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.CustomerUpdated{Customer: next, ChangedFields: changed})
	})
	if err != nil {
		return domain.Customer{}, fmt.Errorf("update customer: %w", err)
	}
	return out, nil
}
