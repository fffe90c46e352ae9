package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	eventsadapter "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	segevents "github.com/guanxi-crm/guanxi/services/segmentation/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

func newHandlers(t *testing.T) (*segevents.Handlers, *app.Service) {
	t.Helper()
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	svc, err := app.New(sqlstore.New(db, events.NewOutbox(db, nil, nil), eventsadapter.NewEncoder()), domain.Policy{
		Currency: "CNY", Window: 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return segevents.NewHandlers(svc.Facts), svc
}

func message(t *testing.T, msg proto.Message) events.Message {
	t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return events.Message{ID: uuid.NewString(), Payload: data, Time: time.Now().UTC()}
}

// as gives m the subject it is delivered under.
func as(subject string, m events.Message) events.Message {
	m.Subject = subject
	return m
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	garbage := events.Message{ID: uuid.NewString(), Payload: []byte{0xff, 0xff, 0xff}}

	if err := h.Customers(ctx, as(customerv1.SubjectCustomerCreated, garbage)); !events.IsPermanent(err) {
		t.Errorf("undecodable CustomerCreated: %v, want permanent", err)
	}
	if err := h.Purchases(ctx, as(interactionv1.SubjectPurchaseRecorded, garbage)); !events.IsPermanent(err) {
		t.Errorf("undecodable PurchaseRecorded: %v, want permanent", err)
	}
	if err := h.Customers(ctx, as(customerv1.SubjectCustomerCreated, message(t, &customerv1.CustomerCreated{}))); !events.IsPermanent(err) {
		t.Errorf("CustomerCreated without id: %v, want permanent", err)
	}
	bad := &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: uuid.NewString(),
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: -5}, OccurTime: timestamppb.Now(),
	}
	if err := h.Purchases(ctx, as(interactionv1.SubjectPurchaseRecorded, message(t, bad))); !events.IsPermanent(err) {
		t.Errorf("negative purchase: %v, want permanent", err)
	}

	id := uuid.NewString()
	if err := h.Customers(ctx, as(customerv1.SubjectCustomerCreated, message(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: id}}))); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	good := &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: id,
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 1234}, OccurTime: timestamppb.New(at),
	}
	if err := h.Purchases(ctx, as(interactionv1.SubjectPurchaseRecorded, message(t, good))); err != nil {
		t.Fatal(err)
	}
	v, err := svc.Values.GetCustomerValue(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.TrailingSpend.Minor != 1234 || v.Class != domain.ClassA || !v.LastPurchaseTime.Equal(at) {
		t.Errorf("value after purchase = %+v", v)
	}
}

// TestCustomersRouting feeds the customers consumer's handler one event of
// each subject it subscribes to, and some it must refuse.
func TestCustomersRouting(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	merged, survivor := uuid.NewString(), uuid.NewString()
	at := time.Now().Add(-time.Minute).UTC()
	if err := h.Purchases(ctx, as(interactionv1.SubjectPurchaseRecorded, message(t, &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: merged,
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 700}, OccurTime: timestamppb.New(at),
	}))); err != nil {
		t.Fatal(err)
	}
	routed := func(subject string, msg proto.Message) events.Message {
		m := message(t, msg)
		m.Subject = subject
		return m
	}
	for _, m := range []events.Message{
		routed(customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: survivor}}),
		routed(customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor}),
		routed(customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: survivor, EraseTime: timestamppb.Now()}),
	} {
		if err := h.Customers(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Subject, err)
		}
	}
	v, err := svc.Values.GetCustomerValue(ctx, merged)
	if err != nil {
		t.Fatal(err)
	}
	if v.CustomerID != survivor || v.TrailingSpend.Minor != 700 {
		t.Errorf("value of the merged id = %+v, want the survivor's with 700", v)
	}
	for name, m := range map[string]events.Message{
		"unsubscribed subject": routed(customerv1.SubjectCustomerDeleted, &customerv1.CustomerDeleted{CustomerId: survivor}),
		"undecodable merge":    {ID: uuid.NewString(), Subject: customerv1.SubjectCustomerMerged, Payload: []byte{0xff, 0xff}},
		"merge without ids":    routed(customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{}),
		"cyclic merge":         routed(customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{MergedCustomerId: survivor, SurvivorCustomerId: merged}),
		"undecodable erasure":  {ID: uuid.NewString(), Subject: customerv1.SubjectCustomerErased, Payload: []byte{0xff, 0xff}},
		"erasure without id":   routed(customerv1.SubjectCustomerErased, &customerv1.CustomerErased{}),
	} {
		if err := h.Customers(ctx, m); !events.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
}
