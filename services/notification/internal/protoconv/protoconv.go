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
	default:
		return notificationv1.Channel_CHANNEL_UNSPECIFIED
	}
}
