// Package protoconv converts interactions between the domain and their
// protobuf form. The gRPC port and the event publisher share it so that an
// interaction reads the same on the API and on the bus.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

var kindToProto = map[domain.Kind]interactionv1.InteractionKind{
	domain.KindUnspecified: interactionv1.InteractionKind_INTERACTION_KIND_UNSPECIFIED,
	domain.KindPurchase:    interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
	domain.KindCall:        interactionv1.InteractionKind_INTERACTION_KIND_CALL,
	domain.KindMessage:     interactionv1.InteractionKind_INTERACTION_KIND_MESSAGE,
	domain.KindMeeting:     interactionv1.InteractionKind_INTERACTION_KIND_MEETING,
	domain.KindComplaint:   interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT,
	domain.KindNote:        interactionv1.InteractionKind_INTERACTION_KIND_NOTE,
}

var channelToProto = map[domain.Channel]interactionv1.Channel{
	domain.ChannelUnspecified: interactionv1.Channel_CHANNEL_UNSPECIFIED,
	domain.ChannelPhone:       interactionv1.Channel_CHANNEL_PHONE,
	domain.ChannelEmail:       interactionv1.Channel_CHANNEL_EMAIL,
	domain.ChannelSMS:         interactionv1.Channel_CHANNEL_SMS,
	domain.ChannelWeb:         interactionv1.Channel_CHANNEL_WEB,
	domain.ChannelSocial:      interactionv1.Channel_CHANNEL_SOCIAL,
	domain.ChannelInPerson:    interactionv1.Channel_CHANNEL_IN_PERSON,
	domain.ChannelFax:         interactionv1.Channel_CHANNEL_FAX,
	domain.ChannelPartner:     interactionv1.Channel_CHANNEL_PARTNER,
	domain.ChannelApp:         interactionv1.Channel_CHANNEL_APP,
}

// ToDomainKind converts a proto kind; ok is false for a value this service
// does not know (a newer client, or garbage).
func ToDomainKind(k interactionv1.InteractionKind) (kind domain.Kind, ok bool) {
	for d, p := range kindToProto {
		if p == k {
			return d, true
		}
	}
	return "", false
}

// ToDomainChannel converts a proto channel; ok is false for an unknown value.
func ToDomainChannel(c interactionv1.Channel) (channel domain.Channel, ok bool) {
	for d, p := range channelToProto {
		if p == c {
			return d, true
		}
	}
	return "", false
}

// ToProtoInteraction converts a recorded interaction.
func ToProtoInteraction(in domain.Interaction) *interactionv1.Interaction {
	out := &interactionv1.Interaction{
		Id:         in.ID,
		CustomerId: in.CustomerID,
		Kind:       kindToProto[in.Kind],
		Channel:    channelToProto[in.Channel],
		OccurTime:  ToProtoTime(in.OccurTime),
		Summary:    in.Summary,
		Source:     in.Source,
		SourceId:   in.SourceID,
		CreateTime: ToProtoTime(in.CreateTime),
	}
	if p := in.Purchase; p != nil {
		out.Purchase = &interactionv1.Purchase{
			Total:   ToProtoMoney(p.Total),
			OrderId: p.OrderID,
			Lines:   ToProtoLines(p.Lines),
		}
	}
	return out
}

// ToProtoLines converts purchase lines.
func ToProtoLines(lines []domain.PurchaseLine) []*interactionv1.PurchaseLine {
	if len(lines) == 0 {
		return nil
	}
	out := make([]*interactionv1.PurchaseLine, len(lines))
	for i, l := range lines {
		out[i] = &interactionv1.PurchaseLine{
			Sku:         l.SKU,
			ProductName: l.ProductName,
			Category:    l.Category,
			Quantity:    l.Quantity,
			UnitPrice:   ToProtoMoney(l.UnitPrice),
		}
	}
	return out
}

// ToProtoMoney converts an amount.
func ToProtoMoney(m domain.Money) *typev1.Money {
	return &typev1.Money{CurrencyCode: m.CurrencyCode, AmountMinor: m.AmountMinor}
}

// ToDomainMoney converts an amount; nil is the zero Money.
func ToDomainMoney(m *typev1.Money) domain.Money {
	return domain.Money{CurrencyCode: m.GetCurrencyCode(), AmountMinor: m.GetAmountMinor()}
}

// ToProtoTime converts a time; the zero time becomes nil.
func ToProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
