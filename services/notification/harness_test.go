package notification_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// fakeClock is the services' clock in tests that move time by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// ensureStreams creates the streams of the services whose events the
// tests publish, as their owners would.
func (h *harness) ensureStreams(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for stream, subjects := range map[string]string{
		interactionv1.Stream:  interactionv1.StreamSubjects,
		loyaltyv1.Stream:      loyaltyv1.StreamSubjects,
		segmentationv1.Stream: segmentationv1.StreamSubjects,
	} {
		if err := platformevents.EnsureStream(ctx, h.js, stream, subjects); err != nil {
			t.Fatal(err)
		}
	}
}

// customer publishes a created customer and waits until the service knows
// them (their welcome message exists, or, when imported, the preview of a
// template for them works).
func (h *harness) customer(t *testing.T, c *customerv1.Customer, imported bool) {
	t.Helper()
	ev := newID(t)
	testinfra.PublishEvent(t, h.js, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: c, Imported: imported}, ev, ev)
	testinfra.Eventually(t, waitFor, "the customer known", func() bool {
		_, err := h.client.PreviewTemplate(context.Background(), &notificationv1.PreviewTemplateRequest{
			Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_EMAIL, CustomerId: c.GetId()})
		return err == nil
	})
}

func optOut(ch customerv1.ConsentChannel, at time.Time) *customerv1.Consent {
	return &customerv1.Consent{Channel: ch, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "test", UpdateTime: timestamppb.New(at)}
}

func optIn(ch customerv1.ConsentChannel, at time.Time) *customerv1.Consent {
	return &customerv1.Consent{Channel: ch, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN, Source: "test", UpdateTime: timestamppb.New(at)}
}

func birthday(y, m, d int32) *date.Date { return &date.Date{Year: y, Month: m, Day: d} }

// publishAs publishes m on subject under a fresh event id and returns it.
func (h *harness) publishAs(t *testing.T, subject string, m proto.Message) string {
	t.Helper()
	id := newID(t)
	testinfra.PublishEvent(t, h.js, subject, m, id, id)
	return id
}

// messagesOf waits until the customer has n messages and returns them,
// newest first.
func (h *harness) messagesOf(t *testing.T, customerID string, n int) []*notificationv1.Message {
	t.Helper()
	var msgs []*notificationv1.Message
	testinfra.Eventually(t, waitFor, "messages of the customer", func() bool {
		msgs = h.messages(t, customerID)
		return len(msgs) >= n
	})
	if len(msgs) != n {
		t.Fatalf("customer has %d messages, want %d: %v", len(msgs), n, msgs)
	}
	return msgs
}

// byTemplate finds the customer's message of a template.
func byTemplate(msgs []*notificationv1.Message, template string) *notificationv1.Message {
	for _, m := range msgs {
		if m.GetTemplate() == template {
			return m
		}
	}
	return nil
}

// findEvent waits until the notification stream holds an event on subject
// about messageID, among any others, and decodes it into into.
func (h *harness) findEvent(t *testing.T, subject, messageID string, into proto.Message) {
	t.Helper()
	ctx := context.Background()
	stream, err := h.js.Stream(ctx, notificationv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var next uint64 = 1
	testinfra.Eventually(t, waitFor, subject+" for "+messageID, func() bool {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for ; next <= info.State.LastSeq; next++ {
			raw, err := stream.GetMsg(ctx, next)
			if err != nil || raw.Subject != subject {
				continue
			}
			if err := proto.Unmarshal(raw.Data, into); err != nil {
				t.Fatal(err)
			}
			fd := into.ProtoReflect().Descriptor().Fields().ByName("message_id")
			if into.ProtoReflect().Get(fd).String() == messageID {
				return true
			}
		}
		return false
	})
}
