package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// TestStore is the contract suite, run against every database; each case
// gets fresh databases.
func TestStore(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, url string)
	}{
		{"list newest first with keyset pages", testList},
		{"inbox marks each event once", testMarkHandled},
		{"messages created once per idempotency key, many at once", testCreateMessages},
		{"claim queued", testClaimQueued},
		{"two replicas claim each message once", testClaimTwoReplicas},
		{"mark sent and failed once", testMarkOutcome},
		{"publish writes the outbox in the tx", testPublish},
		{"consents by customer and channel", testConsents},
		{"merge re-keys messages", testMergeCustomer},
		{"erasure", testErasure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range testinfra.Databases(t) {
				t.Run(d.Name, func(t *testing.T) { c.run(t, d.URL) })
			}
		})
	}
}

func open(t *testing.T, url string) (*sqlstore.Store, *sqldb.DB) {
	t.Helper()
	db := testinfra.OpenDB(t, url, migrations.FS)
	// The outbox only writes rows here; no relay runs.
	return sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), events.NewEncoder()), db
}

// base is the create time the test messages are laid out from.
var base = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func message(id, customer string, at time.Time, status domain.Status) domain.Message {
	return domain.Message{
		ID: id, CustomerID: customer, Channel: domain.ChannelEmail, Address: "x@example.com",
		Template: domain.TemplateWelcome, Subject: "欢迎加入", Body: "王小明，您好！",
		Status: status, CreateTime: at,
	}
}

func create(t *testing.T, s *sqlstore.Store, msgs ...domain.Message) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx domain.Tx) error {
		for _, m := range msgs {
			if _, err := tx.CreateMessage(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(msgs []domain.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func equalIDs(t *testing.T, what string, got []domain.Message, want ...string) {
	t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, ids(got), want)
	}
}

func testCreateMessages(t *testing.T, url string) {
	s, _ := open(t, url)
	keyed := func(id, key string) domain.Message {
		m := message(id, "c1", base, domain.StatusQueued)
		m.IdempotencyKey = key
		return m
	}
	create(t, s, keyed("m1", "k1"))
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		// k1 is taken, the second k2 comes after the first, m5 has no key.
		created, err := tx.CreateMessages(ctx, []domain.Message{keyed("m2", "k2"), keyed("m3", "k1"), keyed("m4", "k2"),
			message("m5", "c1", base, domain.StatusQueued), keyed("m6", "k3")})
		equalIDs(t, "created", created, "m2", "m5", "m6")
		return err
	})
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		taken, err := tx.KeyTaken(ctx, "k3")
		if !taken {
			t.Error("k3 not taken after its message was created")
		}
		return err
	})
}

func testList(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	const cust = "0190aaaa-0000-7000-8000-000000000001"
	// m2 and m3 share a create time: the id breaks the tie.
	create(t, s,
		message("m1", cust, base, domain.StatusQueued),
		message("m2", cust, base.Add(time.Second), domain.StatusSent),
		message("m3", cust, base.Add(time.Second), domain.StatusFailed),
		message("m4", cust, base.Add(2*time.Second), domain.StatusQueued),
		message("other", "0190aaaa-0000-7000-8000-000000000002", base.Add(3*time.Second), domain.StatusQueued),
	)

	all, err := s.ListMessages(ctx, cust, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "all", all, "m4", "m3", "m2", "m1")
	got := all[1]
	want := message("m3", cust, base.Add(time.Second), domain.StatusFailed)
	if got.CustomerID != want.CustomerID || got.Channel != want.Channel || got.Address != want.Address ||
		got.Template != want.Template || got.Subject != want.Subject || got.Body != want.Body ||
		got.Status != want.Status || !got.CreateTime.Equal(want.CreateTime) || !got.SendTime.IsZero() {
		t.Errorf("round trip = %+v, want %+v", got, want)
	}

	var paged []domain.Message
	var after *domain.Cursor
	for range 10 {
		page, err := s.ListMessages(ctx, cust, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		last := page[len(page)-1]
		after = &domain.Cursor{CreateTime: last.CreateTime, ID: last.ID}
	}
	equalIDs(t, "paged", paged, "m4", "m3", "m2", "m1")

	after = &domain.Cursor{CreateTime: base.Add(time.Second), ID: "m3"}
	rest, err := s.ListMessages(ctx, cust, after, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "after m3", rest, "m2", "m1")

	none, err := s.ListMessages(ctx, "0190aaaa-0000-7000-8000-00000000ffff", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(none) != 0 {
		t.Errorf("unknown customer has %d messages, want none", len(none))
	}
}

func testMarkHandled(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	mark := func(consumer, id string) bool {
		t.Helper()
		var first bool
		err := s.InTx(ctx, func(tx domain.Tx) error {
			var err error
			first, err = tx.MarkHandled(ctx, consumer, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !mark("c", "e1") {
		t.Error("first mark of e1 reported a redelivery")
	}
	if mark("c", "e1") {
		t.Error("second mark of e1 reported a first delivery")
	}
	if !mark("other-consumer", "e1") {
		t.Error("another consumer's first mark of e1 reported a redelivery")
	}

	// A rolled back effect leaves no mark, so the redelivery is handled.
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx domain.Tx) error {
		if _, err := tx.MarkHandled(ctx, "c", "e2"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if !mark("c", "e2") {
		t.Error("mark after rollback reported a redelivery")
	}
}

func testClaimQueued(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	const cust = "0190aaaa-0000-7000-8000-000000000001"
	create(t, s,
		message("q2", cust, base.Add(2*time.Second), domain.StatusQueued),
		message("q1", cust, base.Add(time.Second), domain.StatusQueued),
		message("sent", cust, base, domain.StatusSent),
		message("failed", cust, base, domain.StatusFailed),
		message("q3", cust, base.Add(3*time.Second), domain.StatusQueued),
	)
	now := base.Add(time.Minute)
	const lease = time.Minute

	first, err := s.ClaimDue(ctx, now, lease, 2)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "first claim", first, "q1", "q2")
	if first[0].Address != "x@example.com" || first[0].Body == "" {
		t.Errorf("claimed message lacks its delivery: %+v", first[0])
	}

	second, err := s.ClaimDue(ctx, now, lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "second claim", second, "q3")

	none, err := s.ClaimDue(ctx, now.Add(lease-time.Microsecond), lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "claim within lease", none)

	// q1 is sent meanwhile; the others' claims ran out (their dispatcher
	// died), so they come back.
	err = s.InTx(ctx, func(tx domain.Tx) error {
		_, err := tx.MarkSent(ctx, []string{"q1"}, now, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.ClaimDue(ctx, now.Add(lease), lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "claim after lease", again, "q2", "q3")
}

func testMarkOutcome(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	const cust = "0190aaaa-0000-7000-8000-000000000001"
	create(t, s, message("a", cust, base, domain.StatusQueued), message("b", cust, base.Add(time.Second), domain.StatusQueued))
	sendTime := base.Add(time.Minute + 123*time.Microsecond)

	outcome := func(fn func(tx domain.Tx) (bool, error)) bool {
		t.Helper()
		var ok bool
		if err := s.InTx(ctx, func(tx domain.Tx) error {
			var err error
			ok, err = fn(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !outcome(func(tx domain.Tx) (bool, error) { return markSent(ctx, tx, "a", sendTime) }) {
		t.Error("MarkSent of a queued message did nothing")
	}
	if outcome(func(tx domain.Tx) (bool, error) { return markSent(ctx, tx, "a", sendTime.Add(time.Hour)) }) {
		t.Error("second MarkSent changed a sent message")
	}
	if outcome(func(tx domain.Tx) (bool, error) { return tx.MarkFailed(ctx, "a", "late", 1, false) }) {
		t.Error("MarkFailed changed a sent message")
	}
	if !outcome(func(tx domain.Tx) (bool, error) { return tx.MarkFailed(ctx, "b", "mailbox full", 1, false) }) {
		t.Error("MarkFailed of a queued message did nothing")
	}
	if outcome(func(tx domain.Tx) (bool, error) { return markSent(ctx, tx, "b", sendTime) }) {
		t.Error("MarkSent changed a failed message")
	}
	if outcome(func(tx domain.Tx) (bool, error) { return markSent(ctx, tx, "missing", sendTime) }) {
		t.Error("MarkSent of a missing message reported success")
	}

	msgs, err := s.ListMessages(ctx, cust, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "messages", msgs, "b", "a")
	b, a := msgs[0], msgs[1]
	if a.Status != domain.StatusSent || !a.SendTime.Equal(sendTime) || a.FailureReason != "" {
		t.Errorf("a = %s sent %v reason %q, want SENT at %v", a.Status, a.SendTime, a.FailureReason, sendTime)
	}
	if b.Status != domain.StatusFailed || b.FailureReason != "mailbox full" || !b.SendTime.IsZero() {
		t.Errorf("b = %s sent %v reason %q, want FAILED, mailbox full", b.Status, b.SendTime, b.FailureReason)
	}
}

func testPublish(t *testing.T, url string) {
	s, db := open(t, url)
	ctx := context.Background()

	committed := false
	err := s.InTx(ctx, func(tx domain.Tx) error {
		tx.AfterCommit(func() { committed = true })
		return tx.Publish(ctx, domain.MessageSent{MessageID: "m1", CustomerID: "c1", Channel: domain.ChannelSMS, Template: domain.TemplateWelcome})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !committed {
		t.Error("AfterCommit hook did not run after commit")
	}

	rolledBack := false
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx domain.Tx) error {
		tx.AfterCommit(func() { rolledBack = true })
		if err := tx.Publish(ctx, domain.MessageFailed{MessageID: "m2", CustomerID: "c1", Reason: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if rolledBack {
		t.Error("AfterCommit hook ran after a rollback")
	}

	rows, err := db.Query(ctx, `SELECT subject, type, source, payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		n++
		var subject, typ, source string
		var payload []byte
		if err := rows.Scan(&subject, &typ, &source, &payload); err != nil {
			t.Fatal(err)
		}
		if subject != notificationv1.SubjectMessageSent || typ != "guanxi.notification.v1.MessageSent" || source != events.Source {
			t.Errorf("outbox row = %s %s %s", subject, typ, source)
		}
		var ev notificationv1.MessageSent
		if err := proto.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetMessageId() != "m1" || ev.GetCustomerId() != "c1" || ev.GetChannel() != notificationv1.Channel_CHANNEL_SMS || ev.GetTemplate() != domain.TemplateWelcome {
			t.Errorf("payload = %v", &ev)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("outbox has %d rows, want 1 (the rolled back event must not be there)", n)
	}
}

func inTx(t *testing.T, s *sqlstore.Store, fn func(ctx context.Context, tx domain.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx domain.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func testConsents(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	const cust, other = "c1", "c2"
	if got, err := consentStatus(ctx, s, cust, domain.ChannelEmail); err != nil || got != domain.ConsentUnanswered {
		t.Fatalf("unanswered = %q, %v", got, err)
	}
	email := domain.Consent{CustomerID: cust, Channel: domain.ChannelEmail, Status: domain.ConsentOptedOut, Source: "form", UpdateTime: base}
	sms := domain.Consent{CustomerID: cust, Channel: domain.ChannelSMS, Status: domain.ConsentOptedIn, Source: "app", UpdateTime: base}
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		if err := tx.SaveConsents(ctx, []domain.Consent{email, sms, {CustomerID: other, Channel: domain.ChannelEmail, Status: domain.ConsentOptedIn, UpdateTime: base}}); err != nil {
			return err
		}
		// A second save replaces the answer; of two in one save the last
		// counts.
		email.Status, email.UpdateTime = domain.ConsentOptedIn, base.Add(time.Hour)
		later := email
		later.Source = "later"
		if err := tx.SaveConsents(ctx, []domain.Consent{email, later}); err != nil {
			return err
		}
		email = later
		return nil
	})
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		got, err := tx.Consents(ctx, []string{cust})
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint([]domain.Consent{email, sms}) {
			t.Errorf("consents = %+v, want %+v", got, []domain.Consent{email, sms})
		}
		return tx.DeleteConsents(ctx, cust)
	})
	if got, _ := consentStatus(ctx, s, cust, domain.ChannelSMS); got != domain.ConsentUnanswered {
		t.Errorf("after delete SMS = %q", got)
	}
	if got, _ := consentStatus(ctx, s, other, domain.ChannelEmail); got != domain.ConsentOptedIn {
		t.Errorf("another customer's consent = %q, want kept", got)
	}
}

func testMergeCustomer(t *testing.T, url string) {
	s, _ := open(t, url)
	ctx := context.Background()
	create(t, s, message("m1", "merged", base, domain.StatusQueued), message("m2", "survivor", base.Add(time.Second), domain.StatusSent))
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		if err := tx.MergeCustomer(ctx, domain.Merge{MergedID: "earlier", SurvivorID: "merged", At: base}); err != nil {
			return err
		}
		return tx.MergeCustomer(ctx, domain.Merge{MergedID: "merged", SurvivorID: "survivor", At: base})
	})
	got, err := s.ListMessages(ctx, "survivor", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(got)) != "[m2 m1]" {
		t.Errorf("survivor's messages = %v, want [m2 m1]", ids(got))
	}
	for id, want := range map[string]string{"earlier": "survivor", "merged": "survivor", "survivor": ""} {
		into, err := s.MergedInto(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if into != want {
			t.Errorf("MergedInto(%s) = %q, want %q", id, into, want)
		}
	}
}

func testErasure(t *testing.T, url string) {
	s, db := open(t, url)
	ctx := context.Background()
	create(t, s, message("m1", "erased", base, domain.StatusQueued), message("m2", "erased", base.Add(time.Second), domain.StatusSent),
		message("m3", "other", base, domain.StatusSent))
	for _, id := range []string{"m2", "m3"} {
		if _, err := db.Exec(ctx, `INSERT INTO sink_deliveries (id, message_id, channel, address, template, subject, body, deliver_time)
			VALUES (?, ?, 'EMAIL', 'x@example.com', 'welcome', 's', 'b', 0)`, "d-"+id, id); err != nil {
			t.Fatal(err)
		}
	}
	inTx(t, s, func(ctx context.Context, tx domain.Tx) error {
		if erased, err := tx.Erased(ctx, "erased"); err != nil || erased {
			t.Errorf("Erased before = %v, %v", erased, err)
		}
		for range 2 {
			if err := tx.RecordErasure(ctx, domain.Erasure{CustomerID: "erased", EraseTime: base}, base); err != nil {
				return err
			}
		}
		msgs, err := tx.LockMessages(ctx, "erased")
		if err != nil {
			return err
		}
		if fmt.Sprint(ids(msgs)) != "[m1 m2]" {
			t.Errorf("locked %v, want the customer's [m1 m2] oldest first", ids(msgs))
		}
		for _, m := range msgs {
			m.Erase()
			if err := tx.SaveErased(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.ForgetDeliveries(ctx, "erased"); err != nil {
			return err
		}
		if erased, err := tx.Erased(ctx, "erased"); err != nil || !erased {
			t.Errorf("Erased after = %v, %v", erased, err)
		}
		return nil
	})
	got, err := s.ListMessages(ctx, "erased", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if m.Address != "" || m.Subject != "" || m.Body != "" || m.Status == domain.StatusQueued {
			t.Errorf("erased message %+v", m)
		}
	}
	if claimed, err := s.ClaimDue(ctx, base.Add(time.Hour), time.Minute, 10); err != nil || len(claimed) != 0 {
		t.Errorf("claimable after erasure: %v, %v", ids(claimed), err)
	}
	rows, err := db.Query(ctx, `SELECT message_id, address FROM sink_deliveries ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sink []string
	for rows.Next() {
		var id, address string
		if err := rows.Scan(&id, &address); err != nil {
			t.Fatal(err)
		}
		sink = append(sink, id+"="+address)
	}
	if fmt.Sprint(sink) != "[m2= m3=x@example.com]" {
		t.Errorf("sink deliveries = %v, want the erased customer's blanked only", sink)
	}
}

func markSent(ctx context.Context, tx domain.Tx, id string, at time.Time) (bool, error) {
	ids, err := tx.MarkSent(ctx, []string{id}, at, 1)
	return len(ids) == 1, err
}

func consentStatus(ctx context.Context, s *sqlstore.Store, customerID string, ch domain.Channel) (domain.ConsentStatus, error) {
	all, err := s.ConsentsOf(ctx, []string{customerID})
	return all[customerID][ch], err
}

// testClaimTwoReplicas has the dispatchers of two replicas (two stores on
// one database) claim due messages at the same time, in small batches:
// every message is claimed by exactly one of them.
func testClaimTwoReplicas(t *testing.T, url string) {
	a, _ := open(t, url)
	b, _ := open(t, url)
	ctx := context.Background()
	const cust = "0190aaaa-0000-7000-8000-000000000002"
	const n = 300
	msgs := make([]domain.Message, n)
	for i := range msgs {
		msgs[i] = message(fmt.Sprintf("m%03d", i), cust, base.Add(time.Duration(i)*time.Millisecond), domain.StatusQueued)
	}
	create(t, a, msgs...)
	now := base.Add(time.Minute)
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for _, s := range []*sqlstore.Store{a, b, a, b} { // two claimers per replica, as DispatchWorkers runs
		wg.Go(func() {
			for {
				got, err := s.ClaimDue(ctx, now, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d of %d messages claimed", len(claimed), n)
	}
	for id, k := range claimed {
		if k != 1 {
			t.Errorf("message %s claimed %d times", id, k)
		}
	}
}
