package events_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

type welcomer struct {
	eventID string
	r       domain.Recipient
	calls   int
}

func (w *welcomer) WelcomeCustomer(_ context.Context, eventID string, r domain.Recipient) error {
	w.calls++
	w.eventID, w.r = eventID, r
	return nil
}

func TestCustomerCreatedHandler(t *testing.T) {
	t.Parallel()
	full, err := proto.Marshal(&customerv1.CustomerCreated{Customer: &customerv1.Customer{
		Id: "c1", DisplayName: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN",
		TimeZone: "Asia/Shanghai", Tags: []string{"vip"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	noID, err := proto.Marshal(&customerv1.CustomerCreated{Customer: &customerv1.Customer{DisplayName: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		payload       []byte
		wantPermanent bool
		wantRecipient domain.Recipient
	}{
		{"customer", full, false, domain.Recipient{CustomerID: "c1", Name: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN"}},
		{"undecodable", []byte{0xff, 0xff, 0xff}, true, domain.Recipient{}},
		{"no customer", nil, true, domain.Recipient{}},
		{"no customer id", noID, true, domain.Recipient{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &welcomer{}
			err := events.CustomerCreatedHandler(w)(context.Background(), platformevents.Message{
				ID: "e1", Subject: customerv1.SubjectCustomerCreated, Payload: tt.payload,
			})
			if tt.wantPermanent {
				if !platformevents.IsPermanent(err) || w.calls != 0 {
					t.Errorf("err = %v, calls = %d; want a permanent error and no call", err, w.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.calls != 1 || w.eventID != "e1" || w.r != tt.wantRecipient {
				t.Errorf("called %d times with (%q, %+v), want once with (e1, %+v)", w.calls, w.eventID, w.r, tt.wantRecipient)
			}
		})
	}
}

func TestToPayload(t *testing.T) {
	t.Parallel()
	subject, msg, err := events.ToPayload(domain.MessageFailed{MessageID: "m", CustomerID: "c", Channel: domain.ChannelEmail, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := &notificationv1.MessageFailed{MessageId: "m", CustomerId: "c", Channel: notificationv1.Channel_CHANNEL_EMAIL, Reason: "r"}
	if subject != notificationv1.SubjectMessageFailed || !proto.Equal(msg, want) {
		t.Errorf("ToPayload = %s %v, want %s %v", subject, msg, notificationv1.SubjectMessageFailed, want)
	}
	subject, msg, err = events.ToPayload(domain.MessageSent{MessageID: "m", CustomerID: "c", Channel: domain.ChannelSMS, Template: "welcome"})
	if err != nil {
		t.Fatal(err)
	}
	wantSent := &notificationv1.MessageSent{MessageId: "m", CustomerId: "c", Channel: notificationv1.Channel_CHANNEL_SMS, Template: "welcome"}
	if subject != notificationv1.SubjectMessageSent || !proto.Equal(msg, wantSent) {
		t.Errorf("ToPayload = %s %v, want %s %v", subject, msg, notificationv1.SubjectMessageSent, wantSent)
	}
}
