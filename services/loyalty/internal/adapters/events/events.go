// Package events turns the loyalty service's domain events into their wire
// form, the proto payloads and subjects of loyalty's events.proto, for the
// store to write to the transactional outbox.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/protoconv"
)

// Source is the Ce-Source of every event this service publishes.
const Source = "guanxi/loyalty"

// NewEncoder returns what gives the loyalty domain's events their wire form;
// the store (through platform/events.Transactor) writes them to the outbox.
func NewEncoder() events.ProtoEncoder[domain.Event] {
	return events.ProtoEncoder[domain.Event]{Source: Source, ToProto: toProtoEvent}
}

func toProtoEvent(e domain.Event) (subject string, msg proto.Message, err error) {
	switch e := e.(type) {
	case domain.PointsEarned:
		return loyaltyv1.SubjectPointsEarned, &loyaltyv1.PointsEarned{
			CustomerId:    e.CustomerID,
			Points:        e.Points,
			PointsBalance: e.PointsBalance,
			InteractionId: e.InteractionID,
			ProgramId:     e.ProgramID,
			Cause:         e.Cause,
		}, nil
	case domain.TierChanged:
		return loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{
			CustomerId:  e.CustomerID,
			OldTier:     protoconv.ToProtoTier(e.Old.Code),
			NewTier:     protoconv.ToProtoTier(e.New.Code),
			ProgramId:   e.ProgramID,
			OldTierCode: e.Old.Code,
			NewTierCode: e.New.Code,
			NewTierName: e.New.Name,
		}, nil
	case domain.PointsExpiring:
		return loyaltyv1.SubjectPointsExpiring, &loyaltyv1.PointsExpiring{
			CustomerId:    e.CustomerID,
			ProgramId:     e.ProgramID,
			Points:        e.Points,
			ExpireTime:    timestamppb.New(e.ExpireTime),
			PointsBalance: e.PointsBalance,
		}, nil
	case domain.ProgramChanged:
		p := e.Program
		ev := &loyaltyv1.ProgramChanged{ProgramId: p.ID, Name: p.Name, TimeZone: p.TimeZone, UpdateTime: timestamppb.New(p.UpdateTime)}
		for _, d := range p.MemberDays {
			ev.MemberDays = append(ev.MemberDays, &loyaltyv1.MemberDay{Id: d.ID, Weekday: int32(d.Weekday),
				MonthDay: int32(d.MonthDay), MultiplierPercent: d.MultiplierPercent})
		}
		return loyaltyv1.SubjectProgramChanged, ev, nil
	case domain.MemberEnrolled:
		return loyaltyv1.SubjectMemberEnrolled, &loyaltyv1.MemberEnrolled{
			CustomerId: e.CustomerID, ProgramId: e.ProgramID, TierCode: e.Tier.Code, TierName: e.Tier.Name,
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown event type %T", e)
	}
}
