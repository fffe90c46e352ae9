package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	return sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), events.NewEncoder())
}

// recordingSender accepts every delivery and remembers it.
type recordingSender struct {
	mu   sync.Mutex
	sent []domain.Delivery
}

func (s *recordingSender) Send(_ context.Context, d domain.Delivery) (domain.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, d)
	return domain.Receipt{ProviderResponse: "ok"}, nil
}

func (s *recordingSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

func runDispatcher(t *testing.T, d *app.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dispatcher Run = %v, want nil", err)
		}
	})
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func status(t *testing.T, svc *app.Service, customerID string) domain.Status {
	t.Helper()
	page, err := svc.Messages.ListMessages(context.Background(), customerID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) == 0 {
		return ""
	}
	return page.Messages[0].Status
}

// A commit wakes the dispatcher: with a poll interval of an hour the
// messages still go out at once.
func TestQueuedMessageWakesDispatcher(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	sender := &recordingSender{}
	d := app.NewDispatcher(store, sender, nil, app.DispatcherOptions{Interval: time.Hour})
	svc := app.NewService(store, app.Options{Waker: d})
	runDispatcher(t, d)

	// The first message may go out in the dispatcher's first round; the
	// second is queued after that round claimed its batch, so only a
	// wake-up can send it.
	for i, r := range []domain.Recipient{
		{CustomerID: newID(t), Name: "Ann", Email: "ann@example.com", Locale: "en"},
		{CustomerID: newID(t), Name: "王芳", Email: "fang@example.cn"},
	} {
		if err := svc.Customers.WelcomeCustomer(context.Background(), newID(t), r, nil, true); err != nil {
			t.Fatal(err)
		}
		testinfra.Eventually(t, 5*time.Second, "the message sent", func() bool { return status(t, svc, r.CustomerID) == domain.StatusSent })
		if sender.count() != i+1 {
			t.Errorf("sender got %d deliveries, want %d", sender.count(), i+1)
		}
	}
}

// A message left QUEUED with nobody to wake the dispatcher (queued before a
// crash) goes out on the next poll.
func TestDispatcherPollsLeftBehindMessages(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	// Queued by a process that died before dispatching: no waker.
	svc := app.NewService(store, app.Options{})
	cust := newID(t)
	if err := svc.Customers.WelcomeCustomer(context.Background(), newID(t), domain.Recipient{CustomerID: cust, Name: "李雷", Phone: "13800000000"}, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := status(t, svc, cust); got != domain.StatusQueued {
		t.Fatalf("status before dispatch = %q, want QUEUED", got)
	}

	sender := &recordingSender{}
	runDispatcher(t, app.NewDispatcher(store, sender, nil, app.DispatcherOptions{Interval: 50 * time.Millisecond}))
	testinfra.Eventually(t, 5*time.Second, "the left-behind message sent", func() bool { return status(t, svc, cust) == domain.StatusSent })
	if sender.count() != 1 || sender.sent[0].Channel != domain.ChannelSMS || sender.sent[0].Address != "13800000000" {
		t.Errorf("sender got %+v, want one SMS", sender.sent)
	}
}

func TestWelcomeCustomerOncePerEvent(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	svc := app.NewService(store, app.Options{})
	cust, event := newID(t), newID(t)
	r := domain.Recipient{CustomerID: cust, Name: "Ann", Email: "ann@example.com"}
	for range 3 {
		if err := svc.Customers.WelcomeCustomer(context.Background(), event, r, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	page, err := svc.Messages.ListMessages(context.Background(), cust, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 {
		t.Errorf("one event handled three times made %d messages, want 1", len(page.Messages))
	}
}

func TestListMessagesPages(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	svc := app.NewService(store, app.Options{})
	ctx := context.Background()
	cust := newID(t)
	var want []string
	base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	err := store.InTx(ctx, func(tx domain.Tx) error {
		for i := range 5 {
			m := domain.Message{ID: newID(t), CustomerID: cust, Channel: domain.ChannelEmail, Address: "a@example.com",
				Template: domain.TemplateWelcome, Subject: "s", Body: "b", Status: domain.StatusQueued,
				CreateTime: base.Add(time.Duration(i) * time.Second)}
			if _, err := tx.CreateMessage(ctx, m); err != nil {
				return err
			}
			want = append([]string{m.ID}, want...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page, err := svc.Messages.ListMessages(ctx, cust, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) > 2 {
			t.Fatalf("page of %d messages, want at most 2", len(page.Messages))
		}
		for _, m := range page.Messages {
			got = append(got, m.ID)
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if len(got) != len(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("paged %v, want %v (newest first)", got, want)
		}
	}

	// An exact page leaves no token pointing at an empty page.
	page, err := svc.Messages.ListMessages(ctx, cust, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 5 || page.NextPageToken != "" {
		t.Errorf("page of all = %d messages, token %q; want 5 and no token", len(page.Messages), page.NextPageToken)
	}
}

func TestListMessagesValidation(t *testing.T) {
	t.Parallel()
	svc := app.NewService(newStore(t), app.Options{})
	tests := []struct {
		name      string
		customer  string
		size      int
		token     string
		wantField string
	}{
		{"empty customer", "", 0, "", "customer_id"},
		{"customer not a uuid", "abc", 0, "", "customer_id"},
		{"negative page size", "0190aaaa-0000-7000-8000-000000000001", -5, "", "page_size"},
		{"bad token base64", "0190aaaa-0000-7000-8000-000000000001", 0, "%%%", "page_token"},
		{"bad token json", "0190aaaa-0000-7000-8000-000000000001", 0, "bm90IGpzb24", "page_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := svc.Messages.ListMessages(context.Background(), tt.customer, tt.size, tt.token)
			var verr *validation.Error
			if !errors.As(err, &verr) || len(verr.Violations) != 1 || verr.Violations[0].Field != tt.wantField {
				t.Errorf("err = %v, want a validation error on %s", err, tt.wantField)
			}
		})
	}
}
