package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// recorder is a Customers remembering each call.
type recorder struct {
	calls    []string
	eventID  string
	r        domain.Recipient
	consents []domain.Consent
	consent  domain.Consent
	merge    domain.Merge
	erasure  domain.Erasure
}

func (w *recorder) WelcomeCustomer(_ context.Context, eventID string, r domain.Recipient, consents []domain.Consent) error {
	w.calls = append(w.calls, "welcome")
	w.eventID, w.r, w.consents = eventID, r, consents
	return nil
}

func (w *recorder) ChangeConsent(_ context.Context, eventID string, c domain.Consent) error {
	w.calls = append(w.calls, "consent")
	w.eventID, w.consent = eventID, c
	return nil
}

func (w *recorder) MergeCustomers(_ context.Context, eventID string, m domain.Merge, consents []domain.Consent) error {
	w.calls = append(w.calls, "merge")
	w.eventID, w.merge, w.consents = eventID, m, consents
	return nil
}

func (w *recorder) EraseCustomer(_ context.Context, eventID string, e domain.Erasure) error {
	w.calls = append(w.calls, "erase")
	w.eventID, w.erasure = eventID, e
	return nil
}

var eventTime = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func handle(t *testing.T, w *recorder, subject string, payload []byte) error {
	t.Helper()
	return events.CustomersHandler(w)(context.Background(), platformevents.Message{
		ID: "e1", Subject: subject, Payload: payload, Time: eventTime,
	})
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCustomerCreated(t *testing.T) {
	t.Parallel()
	answered := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	full := marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{
		Id: "c1", DisplayName: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN",
		TimeZone: "Asia/Shanghai", Tags: []string{"vip"},
		Consents: []*customerv1.Consent{
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "signup-form", UpdateTime: timestamppb.New(answered)},
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT},
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN},
		},
	}})
	tests := []struct {
		name          string
		payload       []byte
		wantPermanent bool
	}{
		{"customer", full, false},
		{"imported", marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: "c2", DisplayName: "x"}, Imported: true}), false},
		{"undecodable", []byte{0xff, 0xff, 0xff}, true},
		{"no customer", nil, true},
		{"no customer id", marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{DisplayName: "x"}}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &recorder{}
			err := handle(t, w, customerv1.SubjectCustomerCreated, tt.payload)
			if tt.name == "imported" {
				if err != nil || len(w.calls) != 0 {
					t.Errorf("imported customer: err %v, calls %v; want no welcome", err, w.calls)
				}
				return
			}
			if tt.wantPermanent {
				if !platformevents.IsPermanent(err) || len(w.calls) != 0 {
					t.Errorf("err = %v, calls = %v; want a permanent error and no call", err, w.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := domain.Recipient{CustomerID: "c1", Name: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN"}
			if len(w.calls) != 1 || w.eventID != "e1" || w.r != want {
				t.Errorf("called %v with (%q, %+v), want welcome once with (e1, %+v)", w.calls, w.eventID, w.r, want)
			}
			wantConsents := []domain.Consent{
				{CustomerID: "c1", Channel: domain.ChannelEmail, Status: domain.ConsentOptedOut, Source: "signup-form", UpdateTime: answered},
				{CustomerID: "c1", Channel: domain.ChannelWeChat, Status: domain.ConsentOptedIn, UpdateTime: eventTime},
			}
			if fmt.Sprint(w.consents) != fmt.Sprint(wantConsents) {
				t.Errorf("consents = %+v, want %+v (phone left out, the event time for an answer without one)", w.consents, wantConsents)
			}
		})
	}
}

func TestConsentChanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	channels := map[customerv1.ConsentChannel]domain.Channel{
		customerv1.ConsentChannel_CONSENT_CHANNEL_SMS:    domain.ChannelSMS,
		customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL:  domain.ChannelEmail,
		customerv1.ConsentChannel_CONSENT_CHANNEL_PUSH:   domain.ChannelPush,
		customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT: domain.ChannelWeChat,
	}
	for from, want := range channels {
		w := &recorder{}
		err := handle(t, w, customerv1.SubjectConsentChanged, marshal(t, &customerv1.ConsentChanged{CustomerId: "c1", Consent: &customerv1.Consent{
			Channel: from, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "app", UpdateTime: timestamppb.New(at),
		}}))
		if err != nil {
			t.Fatal(err)
		}
		wantConsent := domain.Consent{CustomerID: "c1", Channel: want, Status: domain.ConsentOptedOut, Source: "app", UpdateTime: at}
		if w.consent != wantConsent {
			t.Errorf("%v: consent = %+v, want %+v", from, w.consent, wantConsent)
		}
	}
	w := &recorder{}
	phone := marshal(t, &customerv1.ConsentChanged{CustomerId: "c1", Consent: &customerv1.Consent{
		Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT,
	}})
	if err := handle(t, w, customerv1.SubjectConsentChanged, phone); err != nil || len(w.calls) != 0 {
		t.Errorf("phone consent: err %v, calls %v; want it acknowledged and ignored", err, w.calls)
	}
}

func TestMergeAndErase(t *testing.T) {
	t.Parallel()
	w := &recorder{}
	err := handle(t, w, customerv1.SubjectCustomerMerged, marshal(t, &customerv1.CustomerMerged{
		MergedCustomerId: "m", SurvivorCustomerId: "s",
		Survivor: &customerv1.Customer{Id: "s", Consents: []*customerv1.Consent{
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN},
		}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if w.merge != (domain.Merge{MergedID: "m", SurvivorID: "s", At: eventTime}) || len(w.consents) != 1 || w.consents[0].CustomerID != "s" {
		t.Errorf("merge = %+v with consents %+v", w.merge, w.consents)
	}
	erasedAt := eventTime.Add(-time.Hour)
	if err := handle(t, w, customerv1.SubjectCustomerErased, marshal(t, &customerv1.CustomerErased{CustomerId: "c", EraseTime: timestamppb.New(erasedAt)})); err != nil {
		t.Fatal(err)
	}
	if w.erasure != (domain.Erasure{CustomerID: "c", EraseTime: erasedAt}) {
		t.Errorf("erasure = %+v", w.erasure)
	}
	for _, subject := range []string{customerv1.SubjectCustomerMerged, customerv1.SubjectCustomerErased, customerv1.SubjectConsentChanged} {
		if err := handle(t, w, subject, []byte{0xff, 0xff}); !platformevents.IsPermanent(err) {
			t.Errorf("undecodable %s: err = %v, want permanent", subject, err)
		}
	}
	if err := handle(t, w, customerv1.SubjectCustomerDeleted, nil); !platformevents.IsPermanent(err) {
		t.Errorf("unsubscribed subject: err = %v, want permanent", err)
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
