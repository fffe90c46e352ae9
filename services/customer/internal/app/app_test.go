package app_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/migrations"
)

// recorder keeps the events of committed transactions.
// It is the store's encoder and outbox.
type recorder struct {
	mu      sync.Mutex
	encoded map[string]domain.Event // by wire event id
	events  []domain.Event
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
			r.events = append(r.events, r.encoded[ev.ID])
		}
	})
	return nil
}

// asOwner is a context whose caller, am-li, owns the customers it creates.
func asOwner() context.Context {
	return app.WithCaller(context.Background(), app.Caller{Actor: "am-li"})
}

func (r *recorder) snapshot() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.Event(nil), r.events...)
}

func newApp(t *testing.T, url string) (*app.Service, *recorder) {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	rec := &recorder{}
	return app.New(sqlstore.New(db, rec, rec)), rec
}

func TestApp(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Run("ConcurrentCreateSameRequestID", func(t *testing.T) {
				a, rec := newApp(t, d.URL)
				testConcurrentCreate(t, a, rec)
			})
			t.Run("Update", func(t *testing.T) {
				a, rec := newApp(t, d.URL)
				testUpdate(t, a, rec)
			})
			t.Run("ConcurrentUpdates", func(t *testing.T) {
				a, _ := newApp(t, d.URL)
				testConcurrentUpdates(t, a)
			})
		})
	}
}

func testConcurrentCreate(t *testing.T, a *app.Service, rec *recorder) {
	ctx := asOwner()
	const callers = 8
	ids := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			c, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{
				Profile:   domain.Profile{DisplayName: "Racer"},
				RequestID: "same-key",
			})
			ids[i], errs[i] = c.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("caller %d got %s, caller 0 got %s", i, ids[i], ids[0])
		}
	}
	page, err := a.Customers.ListCustomers(ctx, app.ListCustomers{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) != 1 {
		t.Fatalf("%d customers stored, want 1", len(page.Customers))
	}
	if evs := rec.snapshot(); len(evs) != 1 {
		t.Fatalf("%d events, want 1 CustomerCreated", len(evs))
	}
	// A different key creates another customer.
	other, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "Racer"}, RequestID: "other-key"})
	if err != nil || other.ID == ids[0] {
		t.Fatalf("create with another key = %v, %v", other.ID, err)
	}
}

func testUpdate(t *testing.T, a *app.Service, rec *recorder) {
	ctx := asOwner()
	c, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "Acme", Tags: []string{"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changes: same etag, no event.
	same, err := a.Customers.UpdateCustomer(ctx, app.UpdateCustomer{
		ID: c.ID, Etag: c.Etag(), Profile: domain.Profile{DisplayName: " Acme "}, Fields: []domain.Field{domain.FieldDisplayName},
	})
	if err != nil {
		t.Fatalf("no-op update: %v", err)
	}
	if same.Etag() != c.Etag() || len(rec.snapshot()) != 1 {
		t.Fatalf("no-op update: etag %s (was %s), %d events", same.Etag(), c.Etag(), len(rec.snapshot()))
	}
	up, err := a.Customers.UpdateCustomer(ctx, app.UpdateCustomer{
		ID: c.ID, Etag: c.Etag(), Profile: domain.Profile{DisplayName: "Acme Ltd", Phone: "+1 415 555 2671"},
		Fields: []domain.Field{domain.FieldDisplayName, domain.FieldPhone},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.Etag() == c.Etag() || up.DisplayName != "Acme Ltd" || up.Phone != "+14155552671" {
		t.Fatalf("update returned %+v", up)
	}
	evs := rec.snapshot()
	ev, ok := evs[len(evs)-1].(domain.CustomerUpdated)
	if !ok || len(ev.ChangedFields) != 2 || ev.Customer.Etag() != up.Etag() {
		t.Fatalf("last event = %#v, want CustomerUpdated of display_name, phone", evs[len(evs)-1])
	}
	if _, err := a.Customers.UpdateCustomer(ctx, app.UpdateCustomer{ID: c.ID, Etag: c.Etag(), Profile: domain.Profile{DisplayName: "Lost"},
		Fields: []domain.Field{domain.FieldDisplayName}}); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("update with old etag = %v, want ErrStale", err)
	}
	if _, err := a.Customers.UpdateCustomer(ctx, app.UpdateCustomer{ID: "0190a1b2-0000-7000-8000-000000000000",
		Fields: []domain.Field{domain.FieldDisplayName}, Profile: domain.Profile{DisplayName: "X"}}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update missing = %v, want ErrNotFound", err)
	}
	got, err := a.Customers.GetCustomer(ctx, c.ID)
	if err != nil || got.DisplayName != "Acme Ltd" || got.Etag() != up.Etag() {
		t.Fatalf("get after update = %+v, %v", got, err)
	}
}

// testConcurrentUpdates checks that concurrent writers without an etag each
// either win or get ErrStale, and that the version counts the winners.
func testConcurrentUpdates(t *testing.T, a *app.Service) {
	ctx := asOwner()
	c, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "Start"}})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 6
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = a.Customers.UpdateCustomer(ctx, app.UpdateCustomer{
				ID: c.ID, Profile: domain.Profile{DisplayName: "Writer " + string(rune('A'+i))},
				Fields: []domain.Field{domain.FieldDisplayName},
			})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, domain.ErrStale):
		default:
			t.Fatalf("concurrent update: %v", err)
		}
	}
	got, err := a.Customers.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if wins == 0 || got.Version != int64(1+wins) {
		t.Fatalf("%d winners, version %d", wins, got.Version)
	}
}

func TestListPaging(t *testing.T) {
	a, _ := newApp(t, testinfra.SQLiteURL(t))
	ctx := asOwner()
	var want []string
	for range 5 {
		c, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "P"}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c.ID)
	}
	var got []string
	q, pages := app.ListCustomers{PageSize: 2}, 0
	for {
		page, err := a.Customers.ListCustomers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Customers {
			got = append(got, c.ID)
		}
		// Every page knows the total: the last one from the pages before.
		if page.TotalSize != 5 || page.TotalIsLowerBound {
			t.Errorf("page %d: total %d (lower bound %v), want 5", pages, page.TotalSize, page.TotalIsLowerBound)
		}
		if page.Next == "" {
			break
		}
		if page.NextSeen != len(got) {
			t.Errorf("page %d: next seen %d, want %d", pages, page.NextSeen, len(got))
		}
		q.After, q.Seen = page.Next, page.NextSeen
	}
	if pages != 3 || len(got) != 5 {
		t.Fatalf("%d pages, %d customers; want 3, 5", pages, len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want creation order %v", got, want)
		}
	}
	// An exact multiple of the page size ends without an empty extra page.
	page, err := a.Customers.ListCustomers(ctx, app.ListCustomers{PageSize: 5})
	if err != nil || len(page.Customers) != 5 || page.Next != "" {
		t.Fatalf("page of 5 = %d, next %q, %v", len(page.Customers), page.Next, err)
	}
	var ve *validation.Error
	if _, err := a.Customers.ListCustomers(ctx, app.ListCustomers{PageSize: -1}); !errors.As(err, &ve) {
		t.Fatalf("negative page size = %v, want *validation.Error", err)
	}
}

func TestClockPrecision(t *testing.T) {
	fixed := time.Date(2025, 5, 5, 5, 5, 5, 123456789, time.FixedZone("CST", 8*3600))
	ctx := asOwner()
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	rec := &recorder{}
	a := app.New(sqlstore.New(db, rec, rec), app.WithClock(func() time.Time { return fixed }))
	c, err := a.Customers.CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "T"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Customers.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreateTime.Equal(c.CreateTime) || c.CreateTime.Location() != time.UTC || c.CreateTime.Nanosecond() != 123456000 {
		t.Fatalf("created %v, read back %v", c.CreateTime, got.CreateTime)
	}
}
