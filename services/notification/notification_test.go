package notification_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
)

// waitFor is how long an asynchronous outcome may take: consume, commit,
// dispatch, relay.
const waitFor = 10 * time.Second

// harness is one running notification service with its bus and database.
type harness struct {
	client notificationv1.NotificationServiceClient
	js     jetstream.JetStream
	sink   *channels.Sink
	db     *sqldb.DB
}

// start boots Run on SQLite in t.TempDir(), an embedded JetStream and a
// loopback listener; sender replaces the default sink when not nil.
func start(t *testing.T, sender notification.Sender) *harness {
	t.Helper()
	return startLogging(t, sender, t.Output())
}

// startLogging is start with the service's log going to logs.
func startLogging(t *testing.T, sender notification.Sender, logs io.Writer) *harness {
	t.Helper()
	return startOn(t, "sqlite://"+filepath.Join(t.TempDir(), "notification.db"), sender, logs)
}

// startOn is startLogging on the database at dbURL.
func startOn(t *testing.T, dbURL string, sender notification.Sender, logs io.Writer) *harness {
	t.Helper()
	return startWith(t, testinfra.EmbeddedNATS(t), dbURL, sender, logs)
}

// startWith is startOn on the JetStream at natsURL.
func startWith(t *testing.T, natsURL, dbURL string, sender notification.Sender, logs io.Writer) *harness {
	t.Helper()
	// One dispatcher, so a sender that holds a delivery holds every
	// message queued behind it.
	return startConfigured(t, natsURL, dbURL, logs, func(cfg *notification.Config) { cfg.Sender, cfg.DispatchWorkers = sender, 1 })
}

// startConfigured is startWith with the configuration changed by
// configure: clock, channels, caps, quiet hours.
func startConfigured(t *testing.T, natsURL, dbURL string, logs io.Writer, configure func(*notification.Config)) *harness {
	t.Helper()
	ctx := context.Background()

	// The customer service owns its stream; here the test plays its part.
	nc, js, err := platformevents.Connect(natsURL, "notification-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := platformevents.EnsureStream(ctx, js, customerv1.Stream, customerv1.StreamSubjects); err != nil {
		t.Fatal(err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := notification.Config{
		DatabaseURL:      dbURL,
		Broker:           servicehost.Broker{NATSURL: natsURL},
		DispatchInterval: time.Second,
		Listener:         lis,
		Auth:             testinfra.AuthConfig(t),
	}
	configure(&cfg)
	// A second handle on the service's database, as a developer would open
	// it, to see what the sink caught. Opened before the service, because two
	// handles switching a fresh SQLite file to WAL at once can fail with
	// SQLITE_BUSY without waiting on busy_timeout.
	db, err := sqldb.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	testinfra.Background(t, func(ctx context.Context) error { return notification.Run(ctx, cfg, logger) })

	conn, err := grpcclient.Dial(lis.Addr().String(), testinfra.CallAsService(t, cfg.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	return &harness{
		client: notificationv1.NewNotificationServiceClient(conn),
		js:     js,
		sink:   channels.NewSink(db, nil),
		db:     db,
	}
}

// publishCreated publishes a CustomerCreated as the customer service's
// relay would, with event id ceID and JetStream dedupe id msgID.
func (h *harness) publishCreated(t *testing.T, ceID, msgID string, c *customerv1.Customer) {
	t.Helper()
	testinfra.PublishEvent(t, h.js, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: c}, ceID, msgID)
}

// messages lists all of a customer's messages.
func (h *harness) messages(t *testing.T, customerID string) []*notificationv1.Message {
	t.Helper()
	resp, err := h.client.ListMessages(context.Background(), &notificationv1.ListMessagesRequest{CustomerId: customerID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetMessages()
}

// waitStatus waits until the customer has a message and its newest has
// status, and returns it.
func (h *harness) waitStatus(t *testing.T, customerID string, want notificationv1.MessageStatus) *notificationv1.Message {
	t.Helper()
	var msg *notificationv1.Message
	testinfra.Eventually(t, waitFor, "a "+want.String()+" message", func() bool {
		msgs := h.messages(t, customerID)
		if len(msgs) == 0 {
			return false
		}
		msg = msgs[0]
		return msg.GetStatus() == want
	})
	return msg
}

// lastEvent waits for the newest event on subject whose message id is
// messageID and returns its payload.
func (h *harness) waitEvent(t *testing.T, subject, messageID string, into proto.Message) {
	t.Helper()
	stream, err := h.js.Stream(context.Background(), notificationv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	testinfra.Eventually(t, waitFor, subject+" for "+messageID, func() bool {
		raw, err := stream.GetLastMsgForSubject(context.Background(), subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(raw.Data, into); err != nil {
			t.Fatal(err)
		}
		id, _ := into.ProtoReflect().Get(into.ProtoReflect().Descriptor().Fields().ByName("message_id")).Interface().(string)
		return id == messageID
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

func TestWelcomeMessage(t *testing.T) {
	var logs testinfra.Buffer
	h := startLogging(t, nil, io.MultiWriter(&logs, t.Output()))
	custA := newID(t)
	eventA := newID(t)
	h.publishCreated(t, eventA, eventA, &customerv1.Customer{
		Id: custA, DisplayName: "王小明", Email: "wang@example.cn", Phone: "+8613800000000", Locale: "zh-CN",
	})

	msg := h.waitStatus(t, custA, notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
	if msg.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL || msg.GetTemplate() != "welcome" ||
		msg.GetSubject() != "欢迎加入" || msg.GetBody() != "王小明，您好！感谢您成为我们的客户。" {
		t.Errorf("welcome message = %v", msg)
	}
	if msg.GetCustomerId() != custA || msg.GetFailureReason() != "" {
		t.Errorf("welcome message = %v", msg)
	}
	if _, err := uuid.Parse(msg.GetId()); err != nil {
		t.Errorf("message id %q is not a UUID", msg.GetId())
	}
	if msg.GetSendTime() == nil || msg.GetCreateTime() == nil || msg.GetSendTime().AsTime().Before(msg.GetCreateTime().AsTime()) {
		t.Errorf("times: create %v, send %v", msg.GetCreateTime(), msg.GetSendTime())
	}

	caught, err := h.sink.Deliveries(context.Background(), msg.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if len(caught) != 1 {
		t.Fatalf("sink caught %d deliveries of the message, want 1", len(caught))
	}
	if d := caught[0]; d.Address != "wang@example.cn" || d.Subject != msg.GetSubject() || d.Body != msg.GetBody() || string(d.Channel) != "EMAIL" {
		t.Errorf("caught delivery = %+v", d)
	}

	var sent notificationv1.MessageSent
	h.waitEvent(t, notificationv1.SubjectMessageSent, msg.GetId(), &sent)
	if sent.GetCustomerId() != custA || sent.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL || sent.GetTemplate() != "welcome" {
		t.Errorf("MessageSent = %v", &sent)
	}

	// The same event again (a replay keeps Ce-Id; JetStream sees a new
	// message), then another customer, English, reachable by phone only.
	h.publishCreated(t, eventA, newID(t), &customerv1.Customer{
		Id: custA, DisplayName: "王小明", Email: "wang@example.cn", Locale: "zh-CN",
	})
	custB := newID(t)
	eventB := newID(t)
	h.publishCreated(t, eventB, eventB, &customerv1.Customer{
		Id: custB, DisplayName: "Ann Lee", Phone: "+447700900000", Locale: "en-GB",
	})
	msgB := h.waitStatus(t, custB, notificationv1.MessageStatus_MESSAGE_STATUS_SENT)
	if msgB.GetChannel() != notificationv1.Channel_CHANNEL_SMS || msgB.GetSubject() != "" ||
		msgB.GetBody() != "Hello Ann Lee, thank you for becoming our customer." {
		t.Errorf("second customer's message = %v", msgB)
	}
	// One consumer handles the stream in order: B's message exists, so the
	// redelivered event was handled before it.
	if msgs := h.messages(t, custA); len(msgs) != 1 {
		t.Errorf("after a redelivered event the customer has %d messages, want 1", len(msgs))
	}
	all, err := h.sink.Deliveries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("sink caught %d deliveries, want 2", len(all))
	}

	out := logs.String()
	if !strings.Contains(out, msg.GetId()) {
		t.Errorf("the log does not name the delivered message %s", msg.GetId())
	}
	for _, personal := range []string{"wang@example.cn", "+8613800000000", "王小明", "Ann Lee", "+447700900000"} {
		if strings.Contains(out, personal) {
			t.Errorf("the log contains personal data %q", personal)
		}
	}
}

func TestWelcomeWithoutContact(t *testing.T) {
	h := start(t, nil)
	cust := newID(t)
	event := newID(t)
	h.publishCreated(t, event, event, &customerv1.Customer{Id: cust, DisplayName: "赵六"})

	msg := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_FAILED)
	if msg.GetFailureReason() != "no email or phone to reach the customer" || msg.GetSendTime() != nil ||
		msg.GetChannel() != notificationv1.Channel_CHANNEL_UNSPECIFIED || msg.GetSubject() != "欢迎加入" {
		t.Errorf("message = %v", msg)
	}
	var failed notificationv1.MessageFailed
	h.waitEvent(t, notificationv1.SubjectMessageFailed, msg.GetId(), &failed)
	if failed.GetCustomerId() != cust || failed.GetReason() != msg.GetFailureReason() {
		t.Errorf("MessageFailed = %v", &failed)
	}
	caught, err := h.sink.Deliveries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(caught) != 0 {
		t.Errorf("sink caught %d deliveries of an unreachable customer, want 0", len(caught))
	}
}

// refusingSender is a channel that refuses every delivery.
type refusingSender struct {
	mu    sync.Mutex
	tried []notification.Delivery
}

func (s *refusingSender) Send(_ context.Context, d notification.Delivery) (notification.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tried = append(s.tried, d)
	return notification.Receipt{}, notification.Permanent(errors.New("550 mailbox unavailable"))
}

func TestSenderFailure(t *testing.T) {
	sender := &refusingSender{}
	h := start(t, sender)
	cust := newID(t)
	event := newID(t)
	h.publishCreated(t, event, event, &customerv1.Customer{Id: cust, DisplayName: "Bob", Email: "bob@example.com", Locale: "en"})

	msg := h.waitStatus(t, cust, notificationv1.MessageStatus_MESSAGE_STATUS_FAILED)
	if msg.GetFailureReason() != "550 mailbox unavailable" || msg.GetSendTime() != nil || msg.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL {
		t.Errorf("message = %v", msg)
	}
	var failed notificationv1.MessageFailed
	h.waitEvent(t, notificationv1.SubjectMessageFailed, msg.GetId(), &failed)
	if failed.GetReason() != "550 mailbox unavailable" || failed.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL || failed.GetCustomerId() != cust {
		t.Errorf("MessageFailed = %v", &failed)
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if len(sender.tried) != 1 || sender.tried[0].MessageID != msg.GetId() || sender.tried[0].Address != "bob@example.com" ||
		sender.tried[0].Template != "welcome" || !strings.HasPrefix(sender.tried[0].Body, "Hello Bob") {
		t.Errorf("sender was asked %+v, want the message once", sender.tried)
	}
}

func TestListMessagesInput(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()

	resp, err := h.client.ListMessages(ctx, &notificationv1.ListMessagesRequest{CustomerId: newID(t)})
	if err != nil {
		t.Fatalf("unknown customer: %v", err)
	}
	if len(resp.GetMessages()) != 0 || resp.GetNextPageToken() != "" {
		t.Errorf("unknown customer: %v, want an empty list", resp)
	}

	tests := []struct {
		name      string
		req       *notificationv1.ListMessagesRequest
		wantField string
	}{
		{"missing customer", &notificationv1.ListMessagesRequest{}, "customer_id"},
		{"customer not a uuid", &notificationv1.ListMessagesRequest{CustomerId: "customers/42"}, "customer_id"},
		{"negative page size", &notificationv1.ListMessagesRequest{CustomerId: newID(t), PageSize: -1}, "page_size"},
		{"forged page token", &notificationv1.ListMessagesRequest{CustomerId: newID(t), PageToken: "not a token!"}, "page_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.ListMessages(ctx, tt.req)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", status.Code(err), err)
			}
			v := rpcerr.Violations(err)
			if len(v) != 1 || v[0].Field != tt.wantField {
				t.Errorf("violations = %+v, want one on %s", v, tt.wantField)
			}
		})
	}
}
