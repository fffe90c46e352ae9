package events_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// TestChangedCustomers: every event names the customers it changed, as
// encoded for the outbox (a merge both), so the other replicas drop them
// from their caches.
func TestChangedCustomers(t *testing.T) {
	const id, other = "0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002"
	now := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	c, err := domain.NewCustomer(id, domain.Profile{Type: domain.TypePerson, DisplayName: "王芳", OwnerID: "am-li"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	enc := events.NewEncoder()
	for _, tc := range []struct {
		ev   domain.Event
		want []string
	}{
		{domain.CustomerCreated{Customer: c}, []string{id}},
		{domain.CustomerUpdated{Customer: c, ChangedFields: []domain.Field{"display_name"}}, []string{id}},
		{domain.CustomerDeleted{ID: id, DeleteTime: now}, []string{id}},
		{domain.CustomerUndeleted{Customer: c}, []string{id}},
		{domain.CustomerErased{ID: id, EraseTime: now}, []string{id}},
		{domain.CustomerMerged{MergedID: other, Survivor: c}, []string{other, id}},
		{domain.ConsentChanged{ID: id, Consent: domain.Consent{Channel: domain.ChannelSMS, Status: domain.ConsentOptedOut, UpdateTime: now}}, []string{id}},
		{domain.OwnershipChanged{Change: domain.OwnershipChange{CustomerID: id, ToOwner: "am-li"}}, []string{id}},
	} {
		wire, err := enc.Encode(context.Background(), tc.ev)
		if err != nil {
			t.Fatalf("%T: %v", tc.ev, err)
		}
		if got := events.ChangedCustomers(wire.Subject, wire.Payload); !slices.Equal(got, tc.want) {
			t.Errorf("%s names %v, want %v", wire.Subject, got, tc.want)
		}
	}
	if got := events.ChangedCustomers("customer.customer.updated", []byte{0xff, 0xff}); len(got) != 0 {
		t.Errorf("an undecodable payload names %v", got)
	}
}
