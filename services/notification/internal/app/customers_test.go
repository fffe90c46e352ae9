package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// fixture is the service on one database, with a dispatcher driven by hand
// (DispatchOnce) through the default sink.
type fixture struct {
	db    *sqldb.DB
	store *sqlstore.Store
	svc   *app.Service
	sink  *channels.Sink
	disp  *app.Dispatcher
}

func newFixture(t *testing.T, url string) fixture {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	store := sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), events.NewEncoder())
	sink := channels.NewSink(db, nil)
	return fixture{
		db: db, store: store, sink: sink,
		svc:  app.NewService(store, app.Options{}),
		disp: app.NewDispatcher(store, sink, nil, app.DispatcherOptions{Interval: time.Hour}),
	}
}

func eachDatabase(t *testing.T, fn func(t *testing.T, f fixture)) {
	t.Helper()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) { fn(t, newFixture(t, d.URL)) })
	}
}

func (f fixture) messages(t *testing.T, customerID string) []domain.Message {
	t.Helper()
	page, err := f.svc.Messages.ListMessages(context.Background(), customerID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

func (f fixture) dispatch(t *testing.T) {
	t.Helper()
	if _, err := f.disp.DispatchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// failedEvents returns the MessageFailed events in the outbox.
func (f fixture) failedEvents(t *testing.T) []*notificationv1.MessageFailed {
	t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT payload FROM outbox WHERE subject = ? ORDER BY id`, notificationv1.SubjectMessageFailed)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*notificationv1.MessageFailed
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		ev := &notificationv1.MessageFailed{}
		if err := proto.Unmarshal(raw, ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f fixture) consent(t *testing.T, customerID string, ch domain.Channel) domain.ConsentStatus {
	t.Helper()
	all, err := f.store.ConsentsOf(context.Background(), []string{customerID})
	if err != nil {
		t.Fatal(err)
	}
	return all[customerID][ch]
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func answer(customerID string, ch domain.Channel, s domain.ConsentStatus, at time.Time) domain.Consent {
	return domain.Consent{CustomerID: customerID, Channel: ch, Status: s, Source: "test", UpdateTime: at}
}

// TestOptOutAtDispatchTime queues a welcome email, then the customer opts
// out of email before the dispatcher gets to it: the message is not sent
// and fails with the opt-out as its reason.
func TestOptOutAtDispatchTime(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		cust := newID(t)
		r := domain.Recipient{CustomerID: cust, Name: "Ann", Email: "ann@example.com", Locale: "en"}
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), r, nil, true); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Customers.ChangeConsent(ctx, newID(t), answer(cust, domain.ChannelEmail, domain.ConsentOptedOut, t0)); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t)
		msgs := f.messages(t, cust)
		if len(msgs) != 1 || msgs[0].Status != domain.StatusSuppressed || msgs[0].StatusReason != "customer opted out of email" {
			t.Fatalf("messages = %+v, want one SUPPRESSED: customer opted out of email", msgs)
		}
		if caught, _ := f.sink.Deliveries(ctx, ""); len(caught) != 0 {
			t.Fatalf("the sink got %d deliveries, want none", len(caught))
		}
		failed := f.failedEvents(t)
		if len(failed) != 1 || failed[0].GetReason() != "customer opted out of email" || failed[0].GetMessageId() != msgs[0].ID {
			t.Fatalf("MessageFailed events = %v", failed)
		}
	})
}

// TestUnansweredAndOptedInChannelsSend: the welcome is a service message,
// which needs no opt-in; an opt-out on another channel does not matter.
func TestUnansweredAndOptedInChannelsSend(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		unanswered, optedIn := newID(t), newID(t)
		if err := f.svc.Customers.ChangeConsent(ctx, newID(t), answer(unanswered, domain.ChannelSMS, domain.ConsentOptedOut, t0)); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Customers.ChangeConsent(ctx, newID(t), answer(optedIn, domain.ChannelEmail, domain.ConsentOptedIn, t0)); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{unanswered, optedIn} {
			if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), domain.Recipient{CustomerID: id, Email: id + "@example.com"}, nil, true); err != nil {
				t.Fatal(err)
			}
		}
		f.dispatch(t)
		for _, id := range []string{unanswered, optedIn} {
			if msgs := f.messages(t, id); len(msgs) != 1 || msgs[0].Status != domain.StatusSent {
				t.Errorf("messages of %s = %+v, want one SENT", id, msgs)
			}
		}
	})
}

// TestConsentKeepsTheLatestAnswer applies answers out of order: one given
// earlier than the stored one changes nothing.
func TestConsentKeepsTheLatestAnswer(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		cust := newID(t)
		steps := []struct {
			c    domain.Consent
			want domain.ConsentStatus
		}{
			{answer(cust, domain.ChannelSMS, domain.ConsentOptedOut, t0.Add(time.Hour)), domain.ConsentOptedOut},
			{answer(cust, domain.ChannelSMS, domain.ConsentOptedIn, t0), domain.ConsentOptedOut},
			{answer(cust, domain.ChannelSMS, domain.ConsentOptedIn, t0.Add(2*time.Hour)), domain.ConsentOptedIn},
			{answer(cust, domain.ChannelEmail, domain.ConsentOptedOut, t0), domain.ConsentOptedIn},
		}
		for i, s := range steps {
			if err := f.svc.Customers.ChangeConsent(ctx, newID(t), s.c); err != nil {
				t.Fatal(err)
			}
			if got := f.consent(t, cust, domain.ChannelSMS); got != s.want {
				t.Fatalf("after answer %d: SMS = %q, want %q", i, got, s.want)
			}
		}
		if got := f.consent(t, cust, domain.ChannelEmail); got != domain.ConsentOptedOut {
			t.Errorf("email = %q, want OPTED_OUT", got)
		}
		var verr *validation.Error
		err := f.svc.Customers.ChangeConsent(ctx, newID(t), answer(cust, domain.ChannelNone, domain.ConsentOptedOut, t0))
		if !errors.As(err, &verr) {
			t.Errorf("consent without a channel: err = %v, want a validation error", err)
		}
	})
}

// TestWelcomeHonoursConsentsGivenAtSignup: the created event's consents
// are stored first and choose the channel.
func TestWelcomeHonoursConsentsGivenAtSignup(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		smsOnly, neither := newID(t), newID(t)
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t),
			domain.Recipient{CustomerID: smsOnly, Email: "a@example.com", Phone: "+8613800000000"},
			[]domain.Consent{answer(smsOnly, domain.ChannelEmail, domain.ConsentOptedOut, t0)}, true); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t),
			domain.Recipient{CustomerID: neither, Email: "b@example.com"},
			[]domain.Consent{answer(neither, domain.ChannelEmail, domain.ConsentOptedOut, t0)}, true); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t)
		if msgs := f.messages(t, smsOnly); len(msgs) != 1 || msgs[0].Channel != domain.ChannelSMS || msgs[0].Status != domain.StatusSent {
			t.Errorf("messages = %+v, want one SMS sent", msgs)
		}
		if msgs := f.messages(t, neither); len(msgs) != 1 || msgs[0].Status != domain.StatusSuppressed || msgs[0].StatusReason != "customer opted out of email" {
			t.Errorf("messages = %+v, want one SUPPRESSED for the opt-out", msgs)
		}
		if got := f.consent(t, smsOnly, domain.ChannelEmail); got != domain.ConsentOptedOut {
			t.Errorf("signup consent stored as %q", got)
		}
	})
}

func TestMergeMovesMessagesAndConsents(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		merged, survivor := newID(t), newID(t)
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), domain.Recipient{CustomerID: merged, Email: "m@example.com"}, nil, true); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), domain.Recipient{CustomerID: survivor, Phone: "+8613800000000"}, nil, true); err != nil {
			t.Fatal(err)
		}
		// SMS: the merged customer opted out after the survivor opted in.
		// Email: the survivor answered last. WeChat: only the event says.
		for _, c := range []domain.Consent{
			answer(merged, domain.ChannelSMS, domain.ConsentOptedOut, t0.Add(time.Hour)),
			answer(survivor, domain.ChannelSMS, domain.ConsentOptedIn, t0),
			answer(merged, domain.ChannelEmail, domain.ConsentOptedOut, t0),
			answer(survivor, domain.ChannelEmail, domain.ConsentOptedIn, t0.Add(time.Hour)),
		} {
			if err := f.svc.Customers.ChangeConsent(ctx, newID(t), c); err != nil {
				t.Fatal(err)
			}
		}
		m := domain.Merge{MergedID: merged, SurvivorID: survivor, At: t0}
		fromEvent := []domain.Consent{answer(survivor, domain.ChannelWeChat, domain.ConsentOptedIn, t0)}
		mergeEvent := newID(t)
		if err := f.svc.Customers.MergeCustomers(ctx, mergeEvent, m, domain.Recipient{}, fromEvent); err != nil {
			t.Fatal(err)
		}
		msgs := f.messages(t, survivor)
		if len(msgs) != 2 {
			t.Fatalf("survivor has %d messages, want both", len(msgs))
		}
		for _, msg := range msgs {
			if msg.CustomerID != survivor {
				t.Errorf("message %s names %s", msg.ID, msg.CustomerID)
			}
		}
		if via := f.messages(t, merged); len(via) != 2 {
			t.Errorf("messages of the merged id = %d, want the survivor's 2", len(via))
		}
		for ch, want := range map[domain.Channel]domain.ConsentStatus{
			domain.ChannelSMS: domain.ConsentOptedOut, domain.ChannelEmail: domain.ConsentOptedIn, domain.ChannelWeChat: domain.ConsentOptedIn,
		} {
			if got := f.consent(t, survivor, ch); got != want {
				t.Errorf("survivor %s = %q, want %q", ch, got, want)
			}
			if got := f.consent(t, merged, ch); got != domain.ConsentUnanswered {
				t.Errorf("merged customer keeps %s = %q", ch, got)
			}
		}
		// Replays move nothing; later events naming the merged customer
		// are the survivor's; its late created event welcomes nobody.
		for _, ev := range []string{mergeEvent, newID(t)} {
			if err := f.svc.Customers.MergeCustomers(ctx, ev, m, domain.Recipient{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.Customers.ChangeConsent(ctx, newID(t), answer(merged, domain.ChannelSMS, domain.ConsentOptedIn, t0.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
		if got := f.consent(t, survivor, domain.ChannelSMS); got != domain.ConsentOptedIn {
			t.Errorf("survivor SMS after an answer naming the merged id = %q, want OPTED_IN", got)
		}
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), domain.Recipient{CustomerID: merged, Email: "m@example.com"}, nil, true); err != nil {
			t.Fatal(err)
		}
		if n := len(f.messages(t, survivor)); n != 2 {
			t.Errorf("survivor has %d messages after a late welcome of the merged id, want 2", n)
		}
		if err := f.svc.Customers.MergeCustomers(ctx, newID(t), domain.Merge{MergedID: survivor, SurvivorID: merged}, domain.Recipient{}, nil); !errors.Is(err, domain.ErrMergeConflict) {
			t.Errorf("cyclic merge: err = %v, want ErrMergeConflict", err)
		}
	})
}

func TestEraseCustomer(t *testing.T) {
	eachDatabase(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		const name, email, phone = "欧阳娜娜", "nana@example.cn", "+8613877310042"
		cust := newID(t)
		r := domain.Recipient{CustomerID: cust, Name: name, Email: email, Phone: phone}
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), r, nil, true); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t) // the first welcome goes out
		// A second message stays queued, a third failed at the channel
		// with a reason quoting the address.
		err := f.store.InTx(ctx, func(tx domain.Tx) error {
			for _, m := range []domain.Message{
				{ID: newID(t), CustomerID: cust, Channel: domain.ChannelSMS, Address: phone, Template: domain.TemplateWelcome,
					Subject: "欢迎加入", Body: name + "，您好！", Status: domain.StatusQueued, CreateTime: t0},
				{ID: newID(t), CustomerID: cust, Channel: domain.ChannelEmail, Address: email, Template: domain.TemplateWelcome,
					Subject: "欢迎加入", Body: name + "，您好！", Status: domain.StatusFailed, FailureReason: "550 " + email + " unknown", CreateTime: t0},
			} {
				if _, err := tx.CreateMessage(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		eraseEvent := newID(t)
		for range 2 {
			if err := f.svc.Customers.EraseCustomer(ctx, eraseEvent, domain.Erasure{CustomerID: cust, EraseTime: t0}); err != nil {
				t.Fatal(err)
			}
		}
		f.dispatch(t)

		msgs := f.messages(t, cust)
		if len(msgs) != 3 {
			t.Fatalf("%d messages after the erasure, want all 3 kept", len(msgs))
		}
		statuses := map[domain.Status]int{}
		for _, m := range msgs {
			statuses[m.Status]++
			for _, s := range []string{m.Address, m.Subject, m.Body, m.FailureReason} {
				for _, pii := range []string{name, email, phone} {
					if strings.Contains(s, pii) {
						t.Errorf("message %s still holds %q", m.ID, pii)
					}
				}
			}
		}
		if statuses[domain.StatusSent] != 1 || statuses[domain.StatusFailed] != 2 {
			t.Errorf("statuses = %v, want the sent one kept and the queued one failed", statuses)
		}
		caught, err := f.sink.Deliveries(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(caught) != 1 {
			t.Fatalf("the sink caught %d deliveries, want only the one sent before the erasure", len(caught))
		}
		if c := caught[0]; c.Address != "" || c.Subject != "" || c.Body != "" {
			t.Errorf("the sink keeps %+v", c.Delivery)
		}
		failed := f.failedEvents(t)
		if len(failed) != 1 || failed[0].GetReason() != domain.ReasonErased {
			t.Errorf("MessageFailed events = %v, want one for the queued message", failed)
		}
		// A created event handled late (a replay) welcomes nobody.
		if err := f.svc.Customers.WelcomeCustomer(ctx, newID(t), r, nil, true); err != nil {
			t.Fatal(err)
		}
		if n := len(f.messages(t, cust)); n != 3 {
			t.Errorf("%d messages after a late welcome, want 3", n)
		}
	})
}
