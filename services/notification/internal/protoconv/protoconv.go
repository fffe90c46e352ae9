// Package protoconv holds the proto forms of notification values that the
// gRPC API and the events share.
package protoconv

import (
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
