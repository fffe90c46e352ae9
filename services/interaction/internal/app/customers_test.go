package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

const (
	survivorID = "01890a5d-ac96-774b-bcce-b302099a8058"
	thirdID    = "01890a5d-ac96-774b-bcce-b302099a8059"
)

func purchaseFor(id string) app.RecordInteraction {
	return app.RecordInteraction{Interaction: domain.Interaction{
		CustomerID: id,
		Purchase:   &domain.Purchase{Total: domain.Money{CurrencyCode: "CNY", AmountMinor: 12850}},
	}}
}

// TestRecordForMergedCustomerKeepsTheSurvivor records a purchase naming a
// merged customer, which the customer service answers with the survivor:
// the interaction and both its events name the survivor.
func TestRecordForMergedCustomerKeepsTheSurvivor(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	svc := app.New(store, &customers{resolve: func(string) (string, error) { return survivorID, nil }}, func() time.Time { return clock })
	got, err := svc.Timeline.RecordInteraction(context.Background(), purchaseFor(customerID))
	if err != nil {
		t.Fatal(err)
	}
	if got.CustomerID != survivorID {
		t.Errorf("recorded under %s, want the survivor %s", got.CustomerID, survivorID)
	}
	if len(store.published) != 2 {
		t.Fatalf("%d events, want 2", len(store.published))
	}
	for _, ev := range store.published {
		switch e := ev.(type) {
		case domain.InteractionRecorded:
			if e.Interaction.CustomerID != survivorID {
				t.Errorf("InteractionRecorded names %s", e.Interaction.CustomerID)
			}
		case domain.PurchaseRecorded:
			if e.CustomerID != survivorID {
				t.Errorf("PurchaseRecorded names %s", e.CustomerID)
			}
		}
	}
}

// TestRecordFollowsKnownMerges covers a customer service that still
// answers with the merged id: the merge this service learnt decides.
func TestRecordFollowsKnownMerges(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	store.merges[customerID] = survivorID
	svc := app.New(store, &customers{resolve: func(id string) (string, error) { return id, nil }}, func() time.Time { return clock })
	got, err := svc.Timeline.RecordInteraction(context.Background(), purchaseFor(customerID))
	if err != nil {
		t.Fatal(err)
	}
	if got.CustomerID != survivorID {
		t.Errorf("recorded under %s, want the survivor %s", got.CustomerID, survivorID)
	}
}

func TestRecordRefusesErasedCustomer(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	store.erased[customerID] = true
	svc := app.New(store, &customers{resolve: func(id string) (string, error) { return id, nil }}, func() time.Time { return clock })
	_, err := svc.Timeline.RecordInteraction(context.Background(), purchaseFor(customerID))
	var erased *domain.CustomerErasedError
	if !errors.As(err, &erased) || erased.CustomerID != customerID {
		t.Fatalf("err = %v, want CustomerErasedError", err)
	}
	if len(store.published) != 0 {
		t.Errorf("published %d events for an erased customer", len(store.published))
	}
}

func TestListOfMergedCustomerIsTheSurvivors(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	store.merges[customerID] = survivorID
	svc := app.New(store, &customers{}, nil)
	if _, err := svc.Timeline.ListInteractions(context.Background(), app.ListInteractions{CustomerID: customerID}); err != nil {
		t.Fatal(err)
	}
	if store.lastListed != survivorID {
		t.Errorf("listed %s, want the survivor %s", store.lastListed, survivorID)
	}
}

func TestMergeAndEraseCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	svc := app.New(store, &customers{}, func() time.Time { return clock })
	if err := svc.Merges.MergeCustomers(ctx, "ev-1", domain.Merge{MergedID: customerID, SurvivorID: survivorID}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Merges.MergeCustomers(ctx, "ev-2", domain.Merge{MergedID: survivorID, SurvivorID: thirdID}); err != nil {
		t.Fatal(err)
	}
	// A late copy of the first merge, under a new event id, is applied
	// already: nothing to do.
	if err := svc.Merges.MergeCustomers(ctx, "ev-3", domain.Merge{MergedID: customerID, SurvivorID: survivorID}); err != nil {
		t.Fatal(err)
	}
	if store.merges[customerID] != thirdID {
		t.Errorf("first merged customer points at %q, want %s", store.merges[customerID], thirdID)
	}
	err := svc.Merges.MergeCustomers(ctx, "ev-4", domain.Merge{MergedID: thirdID, SurvivorID: customerID})
	if !errors.Is(err, domain.ErrMergeConflict) {
		t.Errorf("cyclic merge: err = %v, want ErrMergeConflict", err)
	}
	// An erasure naming a merged customer erases the survivor, which holds
	// its timeline.
	if err := svc.Merges.EraseCustomer(ctx, "ev-5", domain.Erasure{CustomerID: customerID, EraseTime: clock}); err != nil {
		t.Fatal(err)
	}
	if !store.erased[thirdID] || store.erased[customerID] {
		t.Errorf("erased %v, want the survivor %s", store.erased, thirdID)
	}
	for _, err := range []error{
		svc.Merges.MergeCustomers(ctx, "ev-6", domain.Merge{MergedID: "x", SurvivorID: survivorID}),
		svc.Merges.EraseCustomer(ctx, "ev-7", domain.Erasure{CustomerID: ""}),
	} {
		if err == nil {
			t.Error("bad input accepted")
		}
	}
}
