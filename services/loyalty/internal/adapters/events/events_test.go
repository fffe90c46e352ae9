package events_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

const customer = "01890a5d-ac96-774b-bcce-b302099a8057"

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event       domain.Event
		wantSubject string
		want        proto.Message
	}{
		{
			domain.PointsEarned{ProgramID: "p", CustomerID: customer, Points: 5, PointsBalance: 7, InteractionID: "i", Cause: "purchase:i"},
			loyaltyv1.SubjectPointsEarned,
			&loyaltyv1.PointsEarned{ProgramId: "p", CustomerId: customer, Points: 5, PointsBalance: 7, InteractionId: "i", Cause: "purchase:i"},
		},
		{
			domain.TierChanged{ProgramID: "p", CustomerID: customer, Old: domain.TierDef{Code: "silver", Name: "Silver"},
				New: domain.TierDef{Code: "vip", Name: "VIP"}},
			loyaltyv1.SubjectTierChanged,
			&loyaltyv1.TierChanged{ProgramId: "p", CustomerId: customer, OldTier: loyaltyv1.Tier_TIER_NORMAL, NewTier: loyaltyv1.Tier_TIER_VIP,
				OldTierCode: "silver", NewTierCode: "vip", NewTierName: "VIP"},
		},
		{
			domain.PointsExpiring{ProgramID: "p", CustomerID: customer, Points: 9, ExpireTime: time.Unix(1700000000, 0).UTC(), PointsBalance: 20},
			loyaltyv1.SubjectPointsExpiring,
			&loyaltyv1.PointsExpiring{ProgramId: "p", CustomerId: customer, Points: 9, ExpireTime: timestamppb.New(time.Unix(1700000000, 0)), PointsBalance: 20},
		},
		{
			domain.ProgramChanged{Program: domain.Program{ID: "p", Name: "Gold", TimeZone: "Asia/Shanghai", UpdateTime: time.Unix(1700000000, 0).UTC(),
				MemberDays: []domain.MemberDay{{ID: "wed", Weekday: 3, MultiplierPercent: 200}, {ID: "18th", MonthDay: 18, MultiplierPercent: 150}}}},
			loyaltyv1.SubjectProgramChanged,
			&loyaltyv1.ProgramChanged{ProgramId: "p", Name: "Gold", TimeZone: "Asia/Shanghai", UpdateTime: timestamppb.New(time.Unix(1700000000, 0)),
				MemberDays: []*loyaltyv1.MemberDay{{Id: "wed", Weekday: 3, MultiplierPercent: 200}, {Id: "18th", MonthDay: 18, MultiplierPercent: 150}}},
		},
		{
			domain.MemberEnrolled{ProgramID: "p", CustomerID: customer, Tier: domain.TierDef{Code: "normal", Name: "Normal"}},
			loyaltyv1.SubjectMemberEnrolled,
			&loyaltyv1.MemberEnrolled{ProgramId: "p", CustomerId: customer, TierCode: "normal", TierName: "Normal"},
		},
	}
	for _, tt := range tests {
		ev, err := events.NewEncoder().Encode(context.Background(), tt.event)
		if err != nil {
			t.Fatal(err)
		}
		msg := tt.want.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(ev.Payload, msg); err != nil {
			t.Fatal(err)
		}
		if ev.Subject != tt.wantSubject || ev.Source != events.Source || !proto.Equal(msg, tt.want) {
			t.Errorf("Encode(%+v) = %s %s %v, want %s %v", tt.event, ev.Subject, ev.Source, msg, tt.wantSubject, tt.want)
		}
	}
	var unknown domain.Event
	if _, err := events.NewEncoder().Encode(context.Background(), unknown); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}
