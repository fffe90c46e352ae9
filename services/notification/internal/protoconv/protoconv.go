// Package protoconv holds the proto forms of notification values, for the
// gRPC API and the events.
package protoconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

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
		Builtin: t.Builtin, Variables: kind.Variables, Purpose: string(kind.Purpose),
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
