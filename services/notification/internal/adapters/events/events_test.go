package events_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// encode encodes ev and decodes its payload into msg, returning its subject.
func encode(t *testing.T, ev domain.Event, msg proto.Message) (string, proto.Message, error) {
	t.Helper()
	out, err := events.NewEncoder().Encode(context.Background(), ev)
	if err != nil {
		return "", nil, err
	}
	if out.Source != events.Source {
		t.Errorf("source %q, want %q", out.Source, events.Source)
	}
	if err := proto.Unmarshal(out.Payload, msg); err != nil {
		t.Fatal(err)
	}
	return out.Subject, msg, nil
}

func TestEncode(t *testing.T) {
	t.Parallel()
	subject, msg, err := encode(t, domain.MessageFailed{MessageID: "m", CustomerID: "c", Channel: domain.ChannelEmail, Reason: "r"}, &notificationv1.MessageFailed{})
	if err != nil {
		t.Fatal(err)
	}
	want := &notificationv1.MessageFailed{MessageId: "m", CustomerId: "c", Channel: notificationv1.Channel_CHANNEL_EMAIL, Reason: "r"}
	if subject != notificationv1.SubjectMessageFailed || !proto.Equal(msg, want) {
		t.Errorf("Encode = %s %v, want %s %v", subject, msg, notificationv1.SubjectMessageFailed, want)
	}
	subject, msg, err = encode(t, domain.MessageSent{MessageID: "m", CustomerID: "c", Channel: domain.ChannelSMS, Template: "welcome"}, &notificationv1.MessageSent{})
	if err != nil {
		t.Fatal(err)
	}
	wantSent := &notificationv1.MessageSent{MessageId: "m", CustomerId: "c", Channel: notificationv1.Channel_CHANNEL_SMS, Template: "welcome"}
	if subject != notificationv1.SubjectMessageSent || !proto.Equal(msg, wantSent) {
		t.Errorf("Encode = %s %v, want %s %v", subject, msg, notificationv1.SubjectMessageSent, wantSent)
	}
}
