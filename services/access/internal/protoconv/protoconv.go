// Package protoconv converts between access's domain values and their
// proto forms.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	"github.com/guanxi-crm/guanxi/services/access/internal/domain"
)

// ToProtoAPIKey converts an API key; its secret is never part of it.
func ToProtoAPIKey(k domain.APIKey) *accessv1.ApiKey {
	out := &accessv1.ApiKey{
		Id: k.ID, Name: k.Name, Subject: k.Subject, Roles: k.Roles, Teams: k.Teams, Permissions: k.Permissions,
		Creator: k.Creator, CreateTime: timestamppb.New(k.CreateTime),
	}
	out.ExpireTime, out.RevokeTime = toProtoTime(k.ExpireTime), toProtoTime(k.RevokeTime)
	return out
}

// toProtoTime leaves a zero time (never expires, not revoked) unset.
func toProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
