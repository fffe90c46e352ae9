// Package protoconv converts interactions between the domain and their
// protobuf form. The gRPC port and the event publisher share it so that an
// interaction reads the same on the API and on the bus.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/validation"
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
	domain.KindInquiry:     interactionv1.InteractionKind_INTERACTION_KIND_INQUIRY,
	domain.KindReturn:      interactionv1.InteractionKind_INTERACTION_KIND_RETURN,
	domain.KindRepair:      interactionv1.InteractionKind_INTERACTION_KIND_REPAIR_REQUEST,
	domain.KindFeedback:    interactionv1.InteractionKind_INTERACTION_KIND_FEEDBACK,
	domain.KindVisit:       interactionv1.InteractionKind_INTERACTION_KIND_VISIT,
	domain.KindSurvey:      interactionv1.InteractionKind_INTERACTION_KIND_SURVEY_RESPONSE,
}

var directionToProto = map[domain.Direction]interactionv1.Direction{
	domain.DirectionUnspecified: interactionv1.Direction_DIRECTION_UNSPECIFIED,
	domain.DirectionInbound:     interactionv1.Direction_DIRECTION_INBOUND,
	domain.DirectionOutbound:    interactionv1.Direction_DIRECTION_OUTBOUND,
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
	domain.ChannelCallCenter:  interactionv1.Channel_CHANNEL_CALL_CENTER,
	domain.ChannelWeChat:      interactionv1.Channel_CHANNEL_WECHAT,
	domain.ChannelStore:       interactionv1.Channel_CHANNEL_STORE,
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

// ToDomainDirection converts a proto direction; ok is false for an unknown
// value.
func ToDomainDirection(d interactionv1.Direction) (dir domain.Direction, ok bool) {
	for k, p := range directionToProto {
		if p == d {
			return k, true
		}
	}
	return "", false
}

// ToDomainInteraction converts an interaction given as input. It reports
// what the domain cannot see once converted: enum values this service does
// not know and malformed timestamps. Output-only fields are ignored.
func ToDomainInteraction(p *interactionv1.Interaction) (domain.Interaction, validation.Violations) {
	var v validation.Violations
	kind, ok := ToDomainKind(p.GetKind())
	if !ok {
		v.Add("kind", "unknown kind")
	}
	channel, ok := ToDomainChannel(p.GetChannel())
	if !ok {
		v.Add("channel", "unknown channel")
	}
	dir, ok := ToDomainDirection(p.GetDirection())
	if !ok {
		v.Add("direction", "unknown direction")
	}
	in := domain.Interaction{
		CustomerID: p.GetCustomerId(),
		Kind:       kind,
		Channel:    channel,
		Direction:  dir,
		Summary:    p.GetSummary(),
		Source:     p.GetSource(),
		SourceID:   p.GetSourceId(),
		AgentID:    p.GetAgentId(),
		TeamID:     p.GetTeamId(),
		CaseID:     p.GetCaseId(),
		Details:    p.GetDetails(),
	}
	in.OccurTime = toDomainTime(&v, "occur_time", p.GetOccurTime())
	if pp := p.GetPurchase(); pp != nil {
		in.Purchase = &domain.Purchase{
			Total:       ToDomainMoney(pp.GetTotal()),
			OrderID:     pp.GetOrderId(),
			Lines:       toDomainLines(pp.GetLines()),
			WarrantyEnd: toDomainTime(&v, "purchase.warranty_end_time", pp.GetWarrantyEndTime()),
		}
	}
	if r := p.GetReturn(); r != nil {
		in.Return = &domain.Return{
			PurchaseInteractionID: r.GetPurchaseInteractionId(),
			OrderID:               r.GetOrderId(),
			Refund:                ToDomainMoney(r.GetRefund()),
			Lines:                 toDomainLines(r.GetLines()),
			Reason:                r.GetReason(),
		}
	}
	return in, v
}

func toDomainLines(lines []*interactionv1.PurchaseLine) []domain.PurchaseLine {
	if len(lines) == 0 {
		return nil
	}
	out := make([]domain.PurchaseLine, len(lines))
	for i, l := range lines {
		out[i] = domain.PurchaseLine{
			SKU:         l.GetSku(),
			ProductName: l.GetProductName(),
			Category:    l.GetCategory(),
			Quantity:    l.GetQuantity(),
			UnitPrice:   ToDomainMoney(l.GetUnitPrice()),
		}
	}
	return out
}

// toDomainTime converts an optional timestamp, reporting a malformed one.
func toDomainTime(v *validation.Violations, field string, ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	if err := ts.CheckValid(); err != nil {
		v.Add(field, "is not a valid timestamp")
		return time.Time{}
	}
	return ts.AsTime()
}

// ToDomainIngestEvent converts one ingested event; the interaction's
// source and source id are the event's.
func ToDomainIngestEvent(p *interactionv1.IngestEvent) domain.IngestEvent {
	ev := domain.IngestEvent{
		Source:     p.GetSource(),
		ExternalID: p.GetExternalId(),
		Phone:      p.GetPhone(),
		CallerName: p.GetCallerName(),
	}
	if p.GetInteraction() == nil {
		ev.Violations.Add("interaction", "is required")
		return ev
	}
	in, v := ToDomainInteraction(p.GetInteraction())
	ev.Interaction = in
	ev.Violations = v.Nest("interaction")
	return ev
}

// ToProtoIngestResult converts the result of the event at index.
func ToProtoIngestResult(index int, r domain.IngestResult) *interactionv1.IngestResult {
	out := &interactionv1.IngestResult{
		Index:           int32(index),
		Source:          r.Source,
		ExternalId:      r.ExternalID,
		InteractionId:   r.InteractionID,
		CustomerId:      r.CustomerID,
		ProspectCreated: r.ProspectCreated,
		Reason:          r.Reason,
		Field:           r.Field,
	}
	switch r.Outcome {
	case domain.OutcomeCreated:
		out.Outcome = interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED
	case domain.OutcomeDuplicate:
		out.Outcome = interactionv1.IngestOutcome_INGEST_OUTCOME_DUPLICATE
	case domain.OutcomeRejected:
		out.Outcome = interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED
	}
	return out
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
		Direction:  directionToProto[in.Direction],
		AgentId:    in.AgentID,
		TeamId:     in.TeamID,
		CaseId:     in.CaseID,
		Details:    in.Details,
	}
	if p := in.Purchase; p != nil {
		out.Purchase = &interactionv1.Purchase{
			Total:           ToProtoMoney(p.Total),
			OrderId:         p.OrderID,
			Lines:           ToProtoLines(p.Lines),
			WarrantyEndTime: ToProtoTime(p.WarrantyEnd),
		}
	}
	if r := in.Return; r != nil {
		out.Return = &interactionv1.Return{
			PurchaseInteractionId: r.PurchaseInteractionID,
			OrderId:               r.OrderID,
			Refund:                ToProtoMoney(r.Refund),
			Lines:                 ToProtoLines(r.Lines),
			Reason:                r.Reason,
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
