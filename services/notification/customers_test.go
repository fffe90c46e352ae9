package notification_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// A customer whose name, email and phone appear nowhere else, so finding
// any of them in a response means personal data leaked.
const (
	piiName  = "欧阳娜娜Zq"
	piiEmail = "zq.ouyang.7731@example.cn"
	piiPhone = "+8613877310042"
)

// assertNoPersonalData fails if a response, in any rendering, holds the
// distinctive name, email or phone: marshalling the whole message means a
// field added later cannot slip past.
func assertNoPersonalData(t *testing.T, what string, m proto.Message) {
	t.Helper()
	js, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	text, err := prototext.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, rendering := range []string{string(js), string(text)} {
		for _, s := range []string{piiName, piiEmail, piiPhone} {
			if strings.Contains(rendering, s) {
				t.Errorf("%s holds %q: %s", what, s, rendering)
			}
		}
	}
}

// gateSender delivers everything, except that a delivery to blockAddress
// holds the dispatcher until release is called: messages queued meanwhile
// stay QUEUED and unclaimed.
type gateSender struct {
	blockAddress string
	blocked      chan struct{}
	released     chan struct{}
	once         sync.Once

	mu        sync.Mutex
	delivered []domain.Delivery
}

func newGateSender(blockAddress string) *gateSender {
	return &gateSender{blockAddress: blockAddress, blocked: make(chan struct{}), released: make(chan struct{})}
}

// setBlock changes the address that blocks.
func (g *gateSender) setBlock(address string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.blockAddress = address
}

func (g *gateSender) Send(ctx context.Context, d notification.Delivery) (notification.Receipt, error) {
	g.mu.Lock()
	block := g.blockAddress
	g.mu.Unlock()
	if d.Address == block {
		g.once.Do(func() { close(g.blocked) })
		select {
		case <-g.released:
		case <-ctx.Done():
			return notification.Receipt{}, ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.delivered = append(g.delivered, d)
	return notification.Receipt{ProviderResponse: "250 ok"}, nil
}

func (g *gateSender) release() { close(g.released) }

func (g *gateSender) deliveries() []domain.Delivery {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]domain.Delivery(nil), g.delivered...)
}

// hold publishes a customer whose welcome blocks the dispatcher, and waits
// until it does.
func (h *harness) hold(t *testing.T, g *gateSender) {
	t.Helper()
	id := newID(t)
	h.publishCreated(t, id, id, &customerv1.Customer{Id: newID(t), DisplayName: "blocker", Email: g.blockAddress})
	select {
	case <-g.blocked:
	case <-time.After(waitFor):
		t.Fatal("the dispatcher never reached the blocking message")
	}
}

func (h *harness) publish(t *testing.T, subject string, m proto.Message) string {
	t.Helper()
	id := newID(t)
	testinfra.PublishEvent(t, h.js, subject, m, id, id)
	return id
}

// drain creates a customer behind everything published so far and waits
// for its message: the customers consumer handles events in order.
func (h *harness) drain(t *testing.T) {
	t.Helper()
	sentinel := newID(t)
	id := newID(t)
	h.publishCreated(t, id, id, &customerv1.Customer{Id: sentinel})
	testinfra.Eventually(t, waitFor, "the sentinel's message", func() bool { return len(h.messages(t, sentinel)) == 1 })
}

// TestOptOutBeforeDispatch: a welcome email waits while the customer opts
// out of email; it is never sent and fails with the opt-out.
func TestOptOutBeforeDispatch(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			gate := newGateSender("blocker@example.com")
			h := startOn(t, d.URL, gate, t.Output())
			h.hold(t, gate)

			cust := newID(t)
			created := newID(t)
			h.publishCreated(t, created, created, &customerv1.Customer{Id: cust, DisplayName: "Ann", Email: "ann@example.com", Locale: "en"})
			h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED)
			optOut := time.Now()
			h.publish(t, customerv1.SubjectConsentChanged, &customerv1.ConsentChanged{CustomerId: cust, Consent: &customerv1.Consent{
				Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT,
				Source: "unsubscribe-link", UpdateTime: timestamppb.New(optOut),
			}})
			// An older opt-in arriving late changes nothing.
			h.publish(t, customerv1.SubjectConsentChanged, &customerv1.ConsentChanged{CustomerId: cust, Consent: &customerv1.Consent{
				Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN,
				Source: "signup-form", UpdateTime: timestamppb.New(optOut.Add(-time.Hour)),
			}})
			h.drain(t)
			gate.release()

			msg := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED)
			if msg.GetStatusReason() != "customer opted out of email" {
				t.Fatalf("status reason = %q, want the opt-out", msg.GetStatusReason())
			}
			var failed notificationv1.MessageFailed
			h.waitEvent(t, notificationv1.SubjectMessageFailed, msg.GetId(), &failed)
			if failed.GetReason() != "customer opted out of email" || !failed.GetSuppressed() || failed.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL {
				t.Errorf("MessageFailed = %v", &failed)
			}
			for _, dl := range gate.deliveries() {
				if dl.Address == "ann@example.com" {
					t.Errorf("delivered to an opted-out address: %+v", dl)
				}
			}
		})
	}
}

// TestMergeOverTheBus: the merged customer's messages are listed under
// the survivor, and the merged id reads as the survivor.
func TestMergeOverTheBus(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startOn(t, d.URL, nil, t.Output())
			merged, survivor := newID(t), newID(t)
			for _, c := range []*customerv1.Customer{{Id: merged, Email: "m@example.com"}, {Id: survivor, Phone: "+8613800000000"}} {
				id := newID(t)
				h.publishCreated(t, id, id, c)
				h.waitStatus(t, c.GetId(), notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
			}
			h.publish(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
				MergedCustomerId: merged, SurvivorCustomerId: survivor, Survivor: &customerv1.Customer{Id: survivor},
			})
			testinfra.Eventually(t, waitFor, "the survivor to hold both messages", func() bool { return len(h.messages(t, survivor)) == 2 })
			for _, m := range h.messages(t, merged) {
				if m.GetCustomerId() != survivor {
					t.Errorf("message %s of the merged id names %s, want the survivor", m.GetId(), m.GetCustomerId())
				}
			}
		})
	}
}

// TestErasureLeavesNoPersonalData writes to a customer with a distinctive
// name, email and phone twice: once sent, once (a duplicate profile merged
// in) still queued when the customer is erased. Afterwards nothing the
// API returns holds the three, the queued message was never sent, and the
// sink forgot what it caught.
func TestErasureLeavesNoPersonalData(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			gate := newGateSender("blocker@example.com")
			h := startOn(t, d.URL, gate, t.Output())
			ctx := context.Background()
			person := func(id string) *customerv1.Customer {
				return &customerv1.Customer{Id: id, DisplayName: piiName, Email: piiEmail, Phone: piiPhone,
					OtherEmails: []string{piiEmail}, OtherPhones: []string{piiPhone}, Locale: "zh-CN"}
			}
			cust, duplicate := newID(t), newID(t)
			created := newID(t)
			h.publishCreated(t, created, created, person(cust))
			sent := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
			if !strings.Contains(sent.GetBody(), piiName) {
				t.Fatalf("welcome body %q does not name the customer: the test would prove nothing", sent.GetBody())
			}

			h.hold(t, gate)
			dupCreated := newID(t)
			h.publishCreated(t, dupCreated, dupCreated, person(duplicate))
			h.waitStatus(t, duplicate, notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED)
			h.publish(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
				MergedCustomerId: duplicate, SurvivorCustomerId: cust, Survivor: person(cust),
			})
			h.publish(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: cust, EraseTime: timestamppb.Now()})
			h.drain(t)
			gate.release()
			h.drain(t) // a dispatch round after the release

			for _, id := range []string{cust, duplicate} {
				resp, err := h.client.ListMessages(ctx, &notificationv1.ListMessagesRequest{CustomerId: id})
				if err != nil {
					t.Fatal(err)
				}
				assertNoPersonalData(t, "ListMessages", resp)
				if len(resp.GetMessages()) != 2 {
					t.Fatalf("%d messages listed for %s, want both kept without personal data", len(resp.GetMessages()), id)
				}
				statuses := map[notificationv1.MessageStatus]int{}
				for _, m := range resp.GetMessages() {
					statuses[m.GetStatus()]++
				}
				// The duplicate's queued welcome was settled by the merge
				// (the survivor had its own): suppressed, never sent.
				if statuses[notificationv1.MessageStatus_MESSAGE_STATUS_SENT] != 1 || statuses[notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED] != 1 {
					t.Errorf("statuses = %v, want the sent one and the queued one suppressed by the merge", statuses)
				}
			}
			for _, dl := range gate.deliveries() {
				if dl.Address == piiEmail && dl.MessageID != sent.GetId() {
					t.Errorf("the queued message went out after the erasure: %+v", dl)
				}
			}
		})
	}
}

// TestErasureReachesTheSink: the default sink's copy of a delivered message
// loses its personal data with the customer.
func TestErasureReachesTheSink(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	cust := newID(t)
	created := newID(t)
	h.publishCreated(t, created, created, &customerv1.Customer{Id: cust, DisplayName: piiName, Email: piiEmail})
	msg := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
	h.publish(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: cust})
	h.drain(t)
	caught, err := h.sink.Deliveries(ctx, msg.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if len(caught) != 1 {
		t.Fatalf("sink holds %d deliveries of the message, want 1", len(caught))
	}
	if c := caught[0]; strings.Contains(c.Address+c.Subject+c.Body, piiName) || strings.Contains(c.Address, piiEmail) {
		t.Errorf("sink keeps %+v after the erasure", c.Delivery)
	}
}

// TestUpgradedCustomersConsumerReadsEarlierEvents starts the service on a
// broker where notification-customers already exists as an older release
// left it: subscribed to created events only and past an erasure published
// meanwhile. The durable is read again from the start, so the erasure is
// applied.
func TestUpgradedCustomersConsumerReadsEarlierEvents(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	nc, js, err := platformevents.Connect(natsURL, "notification-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	if err := platformevents.EnsureStream(ctx, js, customerv1.Stream, customerv1.StreamSubjects); err != nil {
		t.Fatal(err)
	}
	old := &harness{js: js}
	cust := newID(t)
	created := newID(t)
	old.publishCreated(t, created, created, &customerv1.Customer{Id: cust, DisplayName: piiName, Email: piiEmail})
	old.publish(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: cust})
	other := newID(t)
	old.publishCreated(t, other, other, &customerv1.Customer{Id: newID(t)})
	cons, err := js.CreateOrUpdateConsumer(ctx, customerv1.Stream, jetstream.ConsumerConfig{
		Durable: "notification-customers", AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, FilterSubject: customerv1.SubjectCustomerCreated,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("the old consumer took %d created events, want 2", n)
	}

	h := startWith(t, natsURL, "sqlite://"+t.TempDir()+"/notification.db", nil, t.Output())
	testinfra.Eventually(t, waitFor, "the customer's message, erased", func() bool {
		msgs := h.messages(t, cust)
		return len(msgs) == 1 && msgs[0].GetBody() == "" && msgs[0].GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED
	})
}

// echoSender accepts every delivery and answers, as some providers do,
// with the address it delivered to.
type echoSender struct{}

func (echoSender) Send(_ context.Context, d notification.Delivery) (notification.Receipt, error) {
	return notification.Receipt{ProviderResponse: "accepted for " + d.Address}, nil
}

// TestErasureRemovesProfileAndProviderAnswers: erasure also removes what
// the service kept of the customer to write to them (no preview, no
// birthday greeting any more) and the providers' answers, which may quote
// the address.
func TestErasureRemovesProfileAndProviderAnswers(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newClock(time.Date(2025, 2, 14, 10, 0, 0, 0, shanghai))
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.Sender, cfg.Now, cfg.ScanInterval = echoSender{}, clock.Now, time.Hour
				cfg.DispatchInterval = 50 * time.Millisecond
			})
			cust := newID(t)
			h.publishCreated(t, cust, cust, &customerv1.Customer{Id: cust, DisplayName: piiName, Email: piiEmail, Phone: piiPhone,
				Birthday: &date.Date{Year: 1990, Month: 2, Day: 15}})
			sent := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
			got, err := h.client.GetMessage(ctx, &notificationv1.GetMessageRequest{Id: sent.GetId()})
			if err != nil || len(got.GetMessage().GetAttempts()) != 1 || !strings.Contains(got.GetMessage().GetAttempts()[0].GetProviderResponse(), piiEmail) {
				t.Fatalf("before erasure: %v, %v; want the provider's answer quoting the address (or the test proves nothing)", got, err)
			}

			h.publish(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: cust, EraseTime: timestamppb.Now()})
			testinfra.Eventually(t, waitFor, "the profile gone", func() bool {
				_, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "birthday",
					Channel: notificationv1.Channel_CHANNEL_EMAIL, CustomerId: cust})
				return status.Code(err) == codes.NotFound
			})
			got, err = h.client.GetMessage(ctx, &notificationv1.GetMessageRequest{Id: sent.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			assertNoPersonalData(t, "GetMessage", got)

			// Their birthday comes; nobody is greeted.
			clock.Set(time.Date(2025, 2, 15, 10, 0, 0, 0, shanghai))
			if n := h.runSchedules(t).GetMessagesCreated(); n != 0 {
				t.Errorf("scan after erasure created %d messages, want none", n)
			}
		})
	}
}

// TestMergeReaddressesQueuedMessages: messages still queued for a merged
// customer go to the survivor, rendered again with the survivor's name and
// address and the event's own values (a tier's name): the survivor, who
// had no welcome (imported), gets the merged record's welcome as their
// own, and nothing goes out with the merged record's name or address.
func TestMergeReaddressesQueuedMessages(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			gate := newGateSender("blocker@example.com")
			h := startOn(t, d.URL, gate, t.Output())
			h.ensureStreams(t)
			survivor, merged := newID(t), newID(t)
			profile := &customerv1.Customer{Id: survivor, DisplayName: "周杰", Email: "zj@example.cn"}
			h.customer(t, profile, true)
			h.hold(t, gate)
			id := newID(t)
			h.publishCreated(t, id, id, &customerv1.Customer{Id: merged, DisplayName: "周 杰", Email: "z2@example.cn"})
			h.waitStatus(t, merged, notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED)
			h.publish(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: merged, ProgramId: "p", NewTierCode: "gold", NewTierName: "金卡"})
			h.messagesOf(t, merged, 2)

			h.publish(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
				MergedCustomerId: merged, SurvivorCustomerId: survivor, Survivor: profile,
			})
			var msgs []*notificationv1.Message
			testinfra.Eventually(t, waitFor, "the queued messages re-addressed", func() bool {
				msgs = h.messages(t, survivor)
				return len(msgs) == 2 && !strings.Contains(msgs[0].GetBody()+msgs[1].GetBody(), "周 杰")
			})
			welcome, tier := byTemplate(msgs, "welcome"), byTemplate(msgs, "tier_changed")
			if welcome.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED || !strings.HasPrefix(welcome.GetBody(), "周杰，") {
				t.Errorf("welcome = %v, want the survivor's, still queued", welcome)
			}
			if tier.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED || tier.GetBody() != "周杰，您的会员等级已更新为金卡。" {
				t.Errorf("tier notice = %v, want the survivor's with the tier's name", tier)
			}

			gate.release()
			for _, m := range msgs {
				testinfra.Eventually(t, waitFor, "the re-addressed messages sent", func() bool {
					return h.get(t, m.GetId()).GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
				})
			}
			toSurvivor := 0
			for _, dl := range gate.deliveries() {
				if dl.Address == "z2@example.cn" || strings.Contains(dl.Body, "周 杰") {
					t.Errorf("delivered to the merged record: %+v", dl)
				}
				if dl.Address == "zj@example.cn" {
					toSurvivor++
				}
			}
			if toSurvivor != 2 {
				t.Errorf("%d deliveries to the survivor's address, want the 2 re-addressed", toSurvivor)
			}
		})
	}
}
