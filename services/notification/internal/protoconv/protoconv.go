// Package protoconv holds the proto forms of notification values, for the
// gRPC API and the events.
package protoconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// ToProtoChannel is the proto form of c.
func ToProtoChannel(c domain.Channel) notificationv1.Channel {
	switch c {
	case domain.ChannelEmail:
		return notificationv1.Channel_CHANNEL_EMAIL
	case domain.ChannelSMS:
		return notificationv1.Channel_CHANNEL_SMS
	case domain.ChannelWeChat:
		return notificationv1.Channel_CHANNEL_WECHAT
	case domain.ChannelPush:
		return notificationv1.Channel_CHANNEL_PUSH
	case domain.ChannelWebhook:
		return notificationv1.Channel_CHANNEL_WEBHOOK
	default:
		return notificationv1.Channel_CHANNEL_UNSPECIFIED
	}
}

// ToDomainChannel is the domain form of c; ChannelNone for unspecified or
// unknown values.
func ToDomainChannel(c notificationv1.Channel) domain.Channel {
	switch c {
	case notificationv1.Channel_CHANNEL_EMAIL:
		return domain.ChannelEmail
	case notificationv1.Channel_CHANNEL_SMS:
		return domain.ChannelSMS
	case notificationv1.Channel_CHANNEL_WECHAT:
		return domain.ChannelWeChat
	case notificationv1.Channel_CHANNEL_PUSH:
		return domain.ChannelPush
	case notificationv1.Channel_CHANNEL_WEBHOOK:
		return domain.ChannelWebhook
	default:
		return domain.ChannelNone
	}
}

// ToProtoMessages is the proto form of ms.
func ToProtoMessages(ms []domain.Message) []*notificationv1.Message {
	out := make([]*notificationv1.Message, 0, len(ms))
	for _, m := range ms {
		out = append(out, ToProtoMessage(m))
	}
	return out
}

// ToProtoMessage is the proto form of m.
func ToProtoMessage(m domain.Message) *notificationv1.Message {
	out := &notificationv1.Message{
		Id:            m.ID,
		CustomerId:    m.CustomerID,
		AgentId:       m.AgentID,
		CampaignId:    m.CampaignID,
		Channel:       ToProtoChannel(m.Channel),
		Template:      m.Template,
		Locale:        m.Locale,
		Subject:       m.Subject,
		Body:          m.Body,
		Status:        ToProtoStatus(m.Status),
		FailureReason: m.FailureReason,
		StatusReason:  m.StatusReason,
		CreateTime:    timestamppb.New(m.CreateTime),
		AttemptCount:  int32(m.Attempts),
		DeadLetter:    m.DeadLetter,
	}
	if !m.SendTime.IsZero() {
		out.SendTime = timestamppb.New(m.SendTime)
	}
	if !m.NotBefore.IsZero() {
		out.NotBefore = timestamppb.New(m.NotBefore)
	}
	return out
}

// ToProtoStatus is the proto form of s.
func ToProtoStatus(s domain.Status) notificationv1.MessageStatus {
	switch s {
	case domain.StatusQueued:
		return notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED
	case domain.StatusSent:
		return notificationv1.MessageStatus_MESSAGE_STATUS_SENT
	case domain.StatusDelivered:
		return notificationv1.MessageStatus_MESSAGE_STATUS_DELIVERED
	case domain.StatusFailed:
		return notificationv1.MessageStatus_MESSAGE_STATUS_FAILED
	case domain.StatusSuppressed:
		return notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED
	default:
		return notificationv1.MessageStatus_MESSAGE_STATUS_UNSPECIFIED
	}
}

// ToProtoTemplate is the proto form of t, with its kind's variables and purpose.
func ToProtoTemplate(t domain.Template) *notificationv1.Template {
	kind, _ := domain.LookupKind(t.Kind)
	out := &notificationv1.Template{
		Kind: t.Kind, Channel: ToProtoChannel(t.Channel), Locale: t.Locale, Subject: t.Subject, Body: t.Body,
		Builtin: t.Builtin, Variables: kind.Variables, Purpose: string(kind.Purpose), HtmlBody: t.HTMLBody,
	}
	if !t.UpdateTime.IsZero() {
		out.UpdateTime = timestamppb.New(t.UpdateTime)
	}
	return out
}

// ToProtoCampaign is the proto form of c.
func ToProtoCampaign(c domain.Campaign) *notificationv1.Campaign {
	out := &notificationv1.Campaign{
		Id: c.ID, Name: c.Name, SegmentId: c.SegmentID, TemplateKind: c.Kind, RatePerSecond: int32(c.RatePerSecond),
		State: ToProtoCampaignState(c.State), MembersProcessed: c.Processed, CreateTime: timestamppb.New(c.CreateTime), Error: c.Error,
		Counts: &notificationv1.CampaignCounts{
			Queued: c.Counts[domain.StatusQueued], Sent: c.Counts[domain.StatusSent], Delivered: c.Counts[domain.StatusDelivered],
			Failed: c.Counts[domain.StatusFailed], Suppressed: c.Counts[domain.StatusSuppressed],
		},
	}
	if !c.ScheduleTime.IsZero() {
		out.ScheduleTime = timestamppb.New(c.ScheduleTime)
	}
	if !c.StartTime.IsZero() {
		out.StartTime = timestamppb.New(c.StartTime)
	}
	if !c.EndTime.IsZero() {
		out.EndTime = timestamppb.New(c.EndTime)
	}
	return out
}

// ToProtoCampaignState is the proto form of s.
func ToProtoCampaignState(s domain.CampaignState) notificationv1.CampaignState {
	switch s {
	case domain.CampaignScheduled:
		return notificationv1.CampaignState_CAMPAIGN_STATE_SCHEDULED
	case domain.CampaignRunning:
		return notificationv1.CampaignState_CAMPAIGN_STATE_RUNNING
	case domain.CampaignPaused:
		return notificationv1.CampaignState_CAMPAIGN_STATE_PAUSED
	case domain.CampaignCompleted:
		return notificationv1.CampaignState_CAMPAIGN_STATE_COMPLETED
	case domain.CampaignCancelled:
		return notificationv1.CampaignState_CAMPAIGN_STATE_CANCELLED
	default:
		return notificationv1.CampaignState_CAMPAIGN_STATE_UNSPECIFIED
	}
}

// FromConsentChannel maps the customer service's consent channel to the
// channel messages go out on. Phone calls have none.
func FromConsentChannel(ch customerv1.ConsentChannel) domain.Channel {
	switch ch {
	case customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL:
		return domain.ChannelEmail
	case customerv1.ConsentChannel_CONSENT_CHANNEL_SMS:
		return domain.ChannelSMS
	case customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT:
		return domain.ChannelWeChat
	case customerv1.ConsentChannel_CONSENT_CHANNEL_PUSH:
		return domain.ChannelPush
	default:
		return domain.ChannelNone
	}
}

// FromConsentStatus maps the customer service's consent status; an unknown
// one is refused by validation.
func FromConsentStatus(s customerv1.ConsentStatus) domain.ConsentStatus {
	switch s {
	case customerv1.ConsentStatus_CONSENT_STATUS_UNSPECIFIED:
		return domain.ConsentUnanswered
	case customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN:
		return domain.ConsentOptedIn
	case customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT:
		return domain.ConsentOptedOut
	default:
		return domain.ConsentStatus(s.String())
	}
}

// ToConsentChannel is the customer service's consent channel for ch.
func ToConsentChannel(ch domain.Channel) customerv1.ConsentChannel {
	switch ch {
	case domain.ChannelEmail:
		return customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL
	case domain.ChannelSMS:
		return customerv1.ConsentChannel_CONSENT_CHANNEL_SMS
	case domain.ChannelWeChat:
		return customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT
	case domain.ChannelPush:
		return customerv1.ConsentChannel_CONSENT_CHANNEL_PUSH
	default:
		return customerv1.ConsentChannel_CONSENT_CHANNEL_UNSPECIFIED
	}
}

// ToConsentStatus is the customer service's consent status for s.
func ToConsentStatus(s domain.ConsentStatus) customerv1.ConsentStatus {
	switch s {
	case domain.ConsentOptedIn:
		return customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN
	case domain.ConsentOptedOut:
		return customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT
	default:
		return customerv1.ConsentStatus_CONSENT_STATUS_UNSPECIFIED
	}
}
