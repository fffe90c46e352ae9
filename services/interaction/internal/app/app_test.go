package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

const customerID = "01890a5d-ac96-774b-bcce-b302099a8057"

// memStore is an in-memory domain.Store recording what the app asks of it.
type memStore struct {
	// domain.Store is nil: the methods these tests do not need panic.
	domain.Store
	byRequest  map[string]domain.Interaction
	published  []domain.Event
	lastLimit  int
	lastListed string
	listed     []domain.Interaction
	merges     map[string]string
	erased     map[string]bool
	handled    map[string]bool
}

func newMemStore() *memStore {
	return &memStore{
		byRequest: map[string]domain.Interaction{},
		merges:    map[string]string{},
		erased:    map[string]bool{},
		handled:   map[string]bool{},
	}
}

func (m *memStore) MergedInto(_ context.Context, id string) (string, error) { return m.merges[id], nil }

func (m *memStore) ResolveCustomers(_ context.Context, ids []string) (map[string]string, map[string]bool, error) {
	survivors, erased := map[string]string{}, map[string]bool{}
	for _, id := range ids {
		at := id
		for hops := 0; m.merges[at] != ""; hops++ {
			if hops == domain.MaxMergeHops {
				return nil, nil, domain.ErrMergeConflict
			}
			at = m.merges[at]
		}
		survivors[id] = at
		if m.erased[at] {
			erased[at] = true
		}
	}
	return survivors, erased, nil
}

func (m *memStore) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	tx := &memTx{store: m}
	if err := fn(tx); err != nil {
		return err
	}
	for k, in := range tx.inserted {
		m.byRequest[k] = in
	}
	m.published = append(m.published, tx.published...)
	return nil
}

func (m *memStore) FindByKey(_ context.Context, key domain.IdempotencyKey) (domain.Interaction, error) {
	if in, ok := m.byRequest[key.RequestID]; ok && key.RequestID != "" {
		return in, nil
	}
	return domain.Interaction{}, domain.ErrNotFound
}

func (m *memStore) ListByCustomer(_ context.Context, customerID string, _ *domain.Cursor, limit int) ([]domain.Interaction, error) {
	m.lastLimit = limit
	m.lastListed = customerID
	if len(m.listed) > limit {
		return m.listed[:limit], nil
	}
	return m.listed, nil
}

func (m *memStore) Timeline(ctx context.Context, q domain.TimelineQuery) ([]domain.Interaction, error) {
	return m.ListByCustomer(ctx, q.CustomerID, q.After, q.Limit)
}

// ListFollowupRules and ListFollowups know none: these tests create none.
func (m *memStore) ListFollowupRules(context.Context) ([]domain.FollowupRule, error) { return nil, nil }

func (m *memStore) ListFollowups(context.Context, domain.FollowupQuery) ([]domain.Followup, error) {
	return nil, nil
}

// ListCases knows no cases: these tests record none.
func (m *memStore) ListCases(context.Context, domain.CaseQuery) ([]domain.Case, error) {
	return nil, nil
}

type memTx struct {
	domain.Tx
	store     *memStore
	inserted  map[string]domain.Interaction
	published []domain.Event
}

func (t *memTx) Insert(_ context.Context, ins ...domain.Keyed) error {
	for _, k := range ins {
		if _, ok := t.store.byRequest[k.Key.RequestID]; ok && k.Key.RequestID != "" {
			return domain.ErrDuplicate
		}
		if _, ok := t.inserted[k.Key.RequestID]; ok && k.Key.RequestID != "" {
			return domain.ErrDuplicate
		}
	}
	if t.inserted == nil {
		t.inserted = map[string]domain.Interaction{}
	}
	for _, k := range ins {
		t.inserted[k.Key.RequestID] = k.Interaction
	}
	return nil
}

func (t *memTx) Publish(_ context.Context, evs ...domain.Event) error {
	t.published = append(t.published, evs...)
	return nil
}

// The merge and erasure methods write through: these tests do not roll
// back.
func (t *memTx) MarkHandled(_ context.Context, consumer, eventID string) (bool, error) {
	key := consumer + "/" + eventID
	first := !t.store.handled[key]
	t.store.handled[key] = true
	return first, nil
}

func (t *memTx) MergedInto(ctx context.Context, id string) (string, error) {
	return t.store.MergedInto(ctx, id)
}

func (t *memTx) MergeCustomer(_ context.Context, m domain.Merge) error {
	for k, v := range t.store.merges {
		if v == m.MergedID {
			t.store.merges[k] = m.SurvivorID
		}
	}
	t.store.merges[m.MergedID] = m.SurvivorID
	return nil
}

func (t *memTx) EraseCustomer(_ context.Context, e domain.Erasure, _ time.Time) (int64, error) {
	t.store.erased[e.CustomerID] = true
	return 0, nil
}

// customers answers Resolve from a function and counts calls.
type customers struct {
	resolve func(id string) (string, error)
	calls   int
}

func (c *customers) Resolve(_ context.Context, id string) (string, error) {
	c.calls++
	return c.resolve(id)
}

var clock = time.Date(2025, 3, 8, 10, 0, 0, 0, time.UTC)

func TestRecordInteractionCustomerCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		resolve func(string) (string, error)
		wantErr func(error) bool
	}{
		{"known customer", func(id string) (string, error) { return id, nil }, func(err error) bool { return err == nil }},
		{"unknown customer", func(id string) (string, error) { return "", &domain.CustomerNotFoundError{CustomerID: id} }, func(err error) bool {
			var nf *domain.CustomerNotFoundError
			return errors.As(err, &nf) && nf.CustomerID == customerID && errors.Is(err, domain.ErrNotFound)
		}},
		{"erased customer", func(id string) (string, error) { return "", &domain.CustomerErasedError{CustomerID: id} }, func(err error) bool {
			var erased *domain.CustomerErasedError
			return errors.As(err, &erased) && erased.CustomerID == customerID
		}},
		{"customer service down", func(string) (string, error) {
			return "", fmt.Errorf("customer service: %w", domain.ErrUnavailable)
		}, func(err error) bool { return errors.Is(err, domain.ErrUnavailable) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			svc := app.New(store, &customers{resolve: tt.resolve}, func() time.Time { return clock })
			_, err := svc.Timeline.RecordInteraction(context.Background(), app.RecordInteraction{
				Interaction: domain.Interaction{CustomerID: customerID, Summary: "hello"},
			})
			if !tt.wantErr(err) {
				t.Errorf("err = %v", err)
			}
			if wantEvents := map[bool]int{true: 1, false: 0}[err == nil]; len(store.published) != wantEvents {
				t.Errorf("%d events published, want %d", len(store.published), wantEvents)
			}
		})
	}
}

func TestRecordInteractionRepeatSkipsCustomerService(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	up := true
	cust := &customers{resolve: func(id string) (string, error) {
		if !up {
			return "", domain.ErrUnavailable
		}
		return id, nil
	}}
	svc := app.New(store, cust, func() time.Time { return clock })
	cmd := app.RecordInteraction{RequestID: "r1", Interaction: domain.Interaction{
		CustomerID: customerID,
		Purchase:   &domain.Purchase{Total: domain.Money{CurrencyCode: "CNY", AmountMinor: 12850}},
	}}
	first, err := svc.Timeline.RecordInteraction(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if first.Kind != domain.KindPurchase || !first.OccurTime.Equal(clock) || !first.CreateTime.Equal(clock) || first.ID == "" {
		t.Errorf("recorded %+v, want a purchase occurring and created at the clock's time, with an id", first)
	}
	if len(store.published) != 2 {
		t.Fatalf("%d events for a purchase, want 2", len(store.published))
	}
	up = false
	again, err := svc.Timeline.RecordInteraction(context.Background(), cmd)
	if err != nil {
		t.Fatalf("repeat while the customer service is down: %v", err)
	}
	if again.ID != first.ID || cust.calls != 1 || len(store.published) != 2 {
		t.Errorf("repeat: id %s (first %s), %d customer calls, %d events; want the first, 1 call, 2 events",
			again.ID, first.ID, cust.calls, len(store.published))
	}
}

func TestListInteractionsPaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pageSize  int
		stored    int
		wantLimit int
		wantItems int
		wantNext  bool
	}{
		{"default size", 0, 3, app.DefaultPageSize + 1, 3, false},
		{"exact page", 2, 2, 3, 2, false},
		{"more than a page", 2, 3, 3, 2, true},
		{"capped at the maximum", 5000, 0, app.MaxPageSize + 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			for i := range tt.stored {
				store.listed = append(store.listed, domain.Interaction{ID: fmt.Sprint(i), OccurTime: clock.Add(-time.Duration(i) * time.Hour)})
			}
			svc := app.New(store, &customers{}, nil)
			page, err := svc.Timeline.ListInteractions(context.Background(), app.ListInteractions{CustomerID: customerID, PageSize: tt.pageSize})
			if err != nil {
				t.Fatal(err)
			}
			if store.lastLimit != tt.wantLimit || len(page.Interactions) != tt.wantItems || (page.Next != nil) != tt.wantNext {
				t.Errorf("limit %d, %d items, next %v; want %d, %d, %v",
					store.lastLimit, len(page.Interactions), page.Next, tt.wantLimit, tt.wantItems, tt.wantNext)
			}
			if page.Next != nil {
				last := page.Interactions[len(page.Interactions)-1]
				if page.Next.ID != last.ID || !page.Next.OccurTime.Equal(last.OccurTime) {
					t.Errorf("next cursor %+v, want the last item %s", page.Next, last.ID)
				}
			}
		})
	}
}

func TestListInteractionsRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    app.ListInteractions
		want string
	}{
		{"missing customer", app.ListInteractions{}, "customer_id"},
		{"customer not a uuid", app.ListInteractions{CustomerID: "42"}, "customer_id"},
		{"negative page size", app.ListInteractions{CustomerID: customerID, PageSize: -1}, "page_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := app.New(newMemStore(), &customers{}, nil)
			_, err := svc.Timeline.ListInteractions(context.Background(), tt.q)
			var verr *validation.Error
			if !errors.As(err, &verr) || len(verr.Violations) != 1 || verr.Violations[0].Field != tt.want {
				t.Errorf("err = %v, want a violation of %s", err, tt.want)
			}
		})
	}
}
