package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/migrations"
)

// recorder is the store's encoder and outbox: it keeps the domain events
// written, once the writing transaction committed.
type recorder struct {
	mu        sync.Mutex
	encoded   map[string]domain.Event // by wire event id
	committed []domain.Event
}

func (r *recorder) Encode(_ context.Context, ev domain.Event) (events.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.encoded == nil {
		r.encoded = map[string]domain.Event{}
	}
	id := strconv.Itoa(len(r.encoded))
	r.encoded[id] = ev
	return events.Event{ID: id}, nil
}

func (r *recorder) Enqueue(_ context.Context, tx *sqldb.Tx, evs ...events.Event) error {
	tx.AfterCommit(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ev := range evs {
			r.committed = append(r.committed, r.encoded[ev.ID])
		}
	})
	return nil
}

func (r *recorder) events() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.Event(nil), r.committed...)
}

// TestStoreContract runs the one store suite against every database.
func TestStoreContract(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			rec := &recorder{}
			s := sqlstore.New(db, rec, rec)
			// The subtests share one database, so they run in order.
			t.Run("CreateGet", func(t *testing.T) { testCreateGet(t, s, rec) })
			t.Run("GetMissing", func(t *testing.T) { testGetMissing(t, s) })
			t.Run("RollbackWritesNothing", func(t *testing.T) { testRollback(t, s, rec) })
			t.Run("RequestID", func(t *testing.T) { testRequestID(t, s) })
			t.Run("Update", func(t *testing.T) { testUpdate(t, s) })
			t.Run("UpdateMany", func(t *testing.T) { testUpdateMany(t, s) })
			t.Run("ListPaging", func(t *testing.T) { testListPaging(t, s) })
			t.Run("ListKeyset", func(t *testing.T) { testListKeyset(t, s) })
			t.Run("ListDeep", func(t *testing.T) { testListDeep(t, s) })
		})
	}
}

// phoneSeq makes every test customer's phone its own, as the store refuses
// to let two customers claim one.
var phoneSeq atomic.Int64

var clock = time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC)

func newCustomer(t *testing.T, name string, created time.Time) domain.Customer {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.NewCustomer(id.String(), domain.Profile{
		Type:        domain.TypeOrganization,
		DisplayName: name,
		Email:       "buyer-" + id.String() + "@Example.COM",
		Phone:       fmt.Sprintf("+86 138-%08d", phoneSeq.Add(1)),
		Locale:      "zh-CN",
		TimeZone:    "Asia/Shanghai",
		Tags:        []string{"vip", "批发"},
		OwnerID:     "am-li",
	}, nil, created)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func create(t *testing.T, s *sqlstore.Store, c domain.Customer, requestID string) error {
	t.Helper()
	return s.InTx(context.Background(), func(tx domain.Tx) error {
		if err := tx.CreateCustomers(context.Background(), []domain.Customer{c}, requestID); err != nil {
			return err
		}
		return tx.Publish(context.Background(), domain.CustomerCreated{Customer: c})
	})
}

func testCreateGet(t *testing.T, s *sqlstore.Store, rec *recorder) {
	ctx := context.Background()
	before := len(rec.events())
	c := newCustomer(t, "王小明", clock)
	if err := create(t, s, c, ""); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := s.Customer(ctx, c.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("stored customer differs (-want +got):\n%s", diff)
	}
	if evs := rec.events(); len(evs) != before+1 || evs[len(evs)-1].CustomerID() != c.ID {
		t.Errorf("events after commit = %v, want one CustomerCreated for %s", evs[before:], c.ID)
	}

	// A customer without optional fields reads back without them.
	bare, err := domain.NewCustomer(uuid.NewString(), domain.Profile{DisplayName: "Bare", OwnerID: "am-li"}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := create(t, s, bare, ""); err != nil {
		t.Fatalf("create bare: %v", err)
	}
	got, err = s.Customer(ctx, bare.ID)
	if err != nil {
		t.Fatalf("get bare: %v", err)
	}
	if diff := cmp.Diff(bare, got); diff != "" {
		t.Errorf("bare customer differs (-want +got):\n%s", diff)
	}
}

func testGetMissing(t *testing.T, s *sqlstore.Store) {
	id := uuid.NewString()
	_, err := s.Customer(context.Background(), id)
	var nf *domain.NotFoundError
	if !errors.As(err, &nf) || nf.ID != id || !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get missing = %v, want NotFoundError{%s}", err, id)
	}
	if _, err := s.CustomerByRequestID(context.Background(), "never-used"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("by missing request id = %v, want ErrNotFound", err)
	}
}

func testRollback(t *testing.T, s *sqlstore.Store, rec *recorder) {
	before := len(rec.events())
	c := newCustomer(t, "Rolled Back", clock)
	boom := errors.New("boom")
	err := s.InTx(context.Background(), func(tx domain.Tx) error {
		if err := tx.CreateCustomers(context.Background(), []domain.Customer{c}, "rollback-req"); err != nil {
			return err
		}
		if err := tx.Publish(context.Background(), domain.CustomerCreated{Customer: c}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if _, err := s.Customer(context.Background(), c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("customer of a rolled back tx: err = %v, want ErrNotFound", err)
	}
	if _, err := s.CustomerByRequestID(context.Background(), "rollback-req"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("request id of a rolled back tx: err = %v, want ErrNotFound", err)
	}
	if got := len(rec.events()); got != before {
		t.Errorf("events after rollback = %d, want %d", got, before)
	}
}

func testRequestID(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	first := newCustomer(t, "First", clock)
	if err := create(t, s, first, "req-1"); err != nil {
		t.Fatalf("create first: %v", err)
	}
	second := newCustomer(t, "Second", clock)
	if err := create(t, s, second, "req-1"); !errors.Is(err, domain.ErrDuplicateRequest) {
		t.Fatalf("create with used request id = %v, want ErrDuplicateRequest", err)
	}
	if _, err := s.Customer(ctx, second.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("second customer was stored: err = %v", err)
	}
	got, err := s.CustomerByRequestID(ctx, "req-1")
	if err != nil {
		t.Fatalf("by request id: %v", err)
	}
	if got.ID != first.ID {
		t.Errorf("by request id = %s, want the first customer %s", got.ID, first.ID)
	}
	// Creates without a request id never collide with each other.
	for i := range 2 {
		if err := create(t, s, newCustomer(t, fmt.Sprintf("No key %d", i), clock), ""); err != nil {
			t.Fatalf("create without request id #%d: %v", i, err)
		}
	}
}

func testUpdate(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	c := newCustomer(t, "Before", clock)
	if err := create(t, s, c, ""); err != nil {
		t.Fatalf("create: %v", err)
	}
	next, changed, err := c.Apply(domain.Profile{DisplayName: "After", Tags: []string{"new"}},
		[]domain.Field{domain.FieldDisplayName, domain.FieldTags, domain.FieldEmail}, nil, clock.Add(time.Hour))
	if err != nil || len(changed) != 3 {
		t.Fatalf("apply = %v, %v", changed, err)
	}
	if err := s.InTx(ctx, func(tx domain.Tx) error { return tx.UpdateCustomer(ctx, next, c.Version) }); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := s.Customer(ctx, c.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("updated customer differs (-want +got):\n%s", diff)
	}
	if got.Email != "" || got.Version != 2 {
		t.Errorf("email %q version %d, want cleared and 2", got.Email, got.Version)
	}

	// Writing against the old version loses.
	stale := next
	stale.DisplayName = "Lost"
	stale.Version = 3
	err = s.InTx(ctx, func(tx domain.Tx) error { return tx.UpdateCustomer(ctx, stale, c.Version) })
	if !errors.Is(err, domain.ErrStale) {
		t.Fatalf("update from version %d = %v, want ErrStale", c.Version, err)
	}
	if got, _ := s.Customer(ctx, c.ID); got.DisplayName != "After" {
		t.Errorf("stale update was written: %q", got.DisplayName)
	}

	missing := newCustomer(t, "Ghost", clock)
	err = s.InTx(ctx, func(tx domain.Tx) error { return tx.UpdateCustomer(ctx, missing, 1) })
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update missing = %v, want ErrNotFound", err)
	}
}

// testUpdateMany updates more customers at once than PostgreSQL writes
// one by one: all or none are written, and one of them cannot take a
// contact another of them holds by being written alongside it.
func testUpdateMany(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	const n = 40
	var cs []domain.Customer
	var ups []domain.CustomerUpdate
	for i := range n {
		c := newCustomer(t, fmt.Sprint("Many ", i), clock)
		if err := create(t, s, c, ""); err != nil {
			t.Fatalf("create: %v", err)
		}
		next, _, err := c.Apply(domain.Profile{DisplayName: fmt.Sprint("Many changed ", i)}, []domain.Field{domain.FieldDisplayName}, nil, clock.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		ups = append(ups, domain.CustomerUpdate{Customer: next, PrevVersion: c.Version})
	}
	update := func(ups []domain.CustomerUpdate) error {
		return s.InTx(ctx, func(tx domain.Tx) error { return tx.UpdateCustomers(ctx, ups) })
	}

	// One stale customer: none is written.
	stale := slices.Clone(ups)
	stale[n/2].PrevVersion = 7
	if err := update(stale); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("update with one stale = %v, want ErrStale", err)
	}
	// One gone: none is written either.
	gone := append(slices.Clone(ups), domain.CustomerUpdate{Customer: newCustomer(t, "Ghost", clock), PrevVersion: 1})
	if err := update(gone); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update with one missing = %v, want ErrNotFound", err)
	}
	for _, c := range cs {
		if got, _ := s.Customer(ctx, c.ID); got.DisplayName != c.DisplayName {
			t.Fatalf("a refused batch wrote %s: %q", c.ID, got.DisplayName)
		}
	}

	// The first takes the phone of the second, rewritten alongside.
	taken := slices.Clone(ups)
	taken[0].Customer.Phone = cs[1].Phone
	if err := update(taken); !errors.Is(err, domain.ErrRetry) {
		t.Fatalf("update taking a batch member's phone = %v, want ErrRetry", err)
	}

	if err := update(ups); err != nil {
		t.Fatalf("update: %v", err)
	}
	for _, u := range ups {
		got, err := s.Customer(ctx, u.Customer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u.Customer, got); diff != "" {
			t.Fatalf("updated customer differs (-want +got):\n%s", diff)
		}
	}
	// Their contacts are still theirs: a new customer with one is refused.
	dup := newCustomer(t, "Copycat", clock)
	dup.Phone = cs[n-1].Phone
	if err := create(t, s, dup, ""); !errors.Is(err, domain.ErrRetry) {
		t.Fatalf("create with an updated customer's phone = %v, want ErrRetry", err)
	}
}

func testListPaging(t *testing.T, s *sqlstore.Store) {
	// Start from a clean view: everything earlier subtests created comes
	// before these, which all share one later creation time or follow it, so
	// ties on create_time are broken by id.
	existing, _ := listAll(t, s, "", 1000)
	base := clock.Add(24 * time.Hour)
	var want []string
	for i := range 7 {
		created := base
		if i >= 4 {
			created = base.Add(time.Duration(i) * time.Second)
		}
		c := newCustomer(t, fmt.Sprintf("Page %d", i), created)
		if err := create(t, s, c, ""); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want = append(want, c.ID)
	}
	all, next := listAll(t, s, "", 1000)
	if len(all) != len(existing)+7 || next != "" {
		t.Fatalf("listed %d, next %q; want %d and no next page", len(all), next, len(existing)+7)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.CreateTime.After(b.CreateTime) || (a.CreateTime.Equal(b.CreateTime) && a.ID >= b.ID) {
			t.Fatalf("list not ordered by (create_time, id) at %d: %v %s then %v %s", i, a.CreateTime, a.ID, b.CreateTime, b.ID)
		}
	}
	// Paging by 3 from after the existing customers visits exactly the new
	// ones in order, however the page boundary falls among equal times.
	after := ""
	if len(existing) > 0 {
		_, after = listAll(t, s, "", len(existing))
	}
	var got []string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, next := listAll(t, s, after, 3)
		for _, c := range page {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	sortedWant := append([]string(nil), want[:4]...)
	slices.Sort(sortedWant)
	sortedWant = append(sortedWant, want[4:]...)
	if diff := cmp.Diff(sortedWant, got); diff != "" {
		t.Errorf("paged ids differ (-want +got):\n%s", diff)
	}
}

func listAll(t *testing.T, s *sqlstore.Store, after string, limit int) ([]domain.Customer, string) {
	t.Helper()
	out, next, err := s.ListCustomers(context.Background(), domain.ListQuery{Limit: limit, After: after})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return out, next
}
