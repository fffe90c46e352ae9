package events

import (
	"google.golang.org/protobuf/proto"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// ChangedMember returns the member an event of this service on subject
// says changed (its program and customer), for the account caches of the
// other replicas; ok is false for an event about no member, or one that
// does not decode.
func ChangedMember(subject string, payload []byte) (programID, customerID string, ok bool) {
	var msg interface {
		proto.Message
		GetProgramId() string
		GetCustomerId() string
	}
	switch subject {
	case loyaltyv1.SubjectPointsEarned:
		msg = &loyaltyv1.PointsEarned{}
	case loyaltyv1.SubjectTierChanged:
		msg = &loyaltyv1.TierChanged{}
	case loyaltyv1.SubjectPointsExpiring:
		msg = &loyaltyv1.PointsExpiring{}
	case loyaltyv1.SubjectMemberEnrolled:
		msg = &loyaltyv1.MemberEnrolled{}
	default:
		return "", "", false
	}
	if proto.Unmarshal(payload, msg) != nil || msg.GetCustomerId() == "" {
		return "", "", false
	}
	return msg.GetProgramId(), msg.GetCustomerId(), true
}
