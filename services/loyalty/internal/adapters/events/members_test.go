package events_test

import (
	"context"
	"testing"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// TestChangedMember: every event about a member names it, as encoded for
// the outbox, so the other replicas drop its cached account; a program's
// event and a payload that does not decode name none.
func TestChangedMember(t *testing.T) {
	enc := events.NewEncoder()
	for _, ev := range []domain.Event{
		domain.PointsEarned{ProgramID: "p", CustomerID: customer, Points: 5},
		domain.TierChanged{ProgramID: "p", CustomerID: customer},
		domain.PointsExpiring{ProgramID: "p", CustomerID: customer, Points: 5},
		domain.MemberEnrolled{ProgramID: "p", CustomerID: customer},
	} {
		wire, err := enc.Encode(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		program, id, ok := events.ChangedMember(wire.Subject, wire.Payload)
		if !ok || program != "p" || id != customer {
			t.Errorf("%s names %q %q %v, want p %s", wire.Subject, program, id, ok, customer)
		}
	}
	wire, err := enc.Encode(context.Background(), domain.ProgramChanged{Program: domain.Program{ID: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := events.ChangedMember(wire.Subject, wire.Payload); ok {
		t.Error("a program's event names a member")
	}
	if _, _, ok := events.ChangedMember("loyalty.points.earned", []byte{0xff, 0xff}); ok {
		t.Error("an undecodable payload names a member")
	}
}
