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

	segevents "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/migrations"
)

func newHandlers(t *testing.T) (*segevents.Handlers, *app.Service) {
	t.Helper()
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	svc, err := app.New(sqlstore.New(db, events.NewOutbox(db, nil, nil)), domain.Policy{
		Currency: "CNY", Window: 24 * time.Hour, Cutoffs: domain.DefaultCutoffs(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return segevents.NewHandlers(svc), svc
}

func message(t *testing.T, msg proto.Message) events.Message {
	t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return events.Message{ID: uuid.NewString(), Payload: data, Time: time.Now().UTC()}
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	garbage := events.Message{ID: uuid.NewString(), Payload: []byte{0xff, 0xff, 0xff}}

	if err := h.CustomerCreated(ctx, garbage); !events.IsPermanent(err) {
		t.Errorf("undecodable CustomerCreated: %v, want permanent", err)
	}
	if err := h.PurchaseRecorded(ctx, garbage); !events.IsPermanent(err) {
		t.Errorf("undecodable PurchaseRecorded: %v, want permanent", err)
	}
	if err := h.CustomerCreated(ctx, message(t, &customerv1.CustomerCreated{})); !events.IsPermanent(err) {
		t.Errorf("CustomerCreated without id: %v, want permanent", err)
	}
	bad := &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: uuid.NewString(),
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: -5}, OccurTime: timestamppb.Now(),
	}
	if err := h.PurchaseRecorded(ctx, message(t, bad)); !events.IsPermanent(err) {
		t.Errorf("negative purchase: %v, want permanent", err)
	}

	id := uuid.NewString()
	if err := h.CustomerCreated(ctx, message(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: id}})); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	good := &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: id,
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 1234}, OccurTime: timestamppb.New(at),
	}
	if err := h.PurchaseRecorded(ctx, message(t, good)); err != nil {
		t.Fatal(err)
	}
	v, err := svc.GetCustomerValue(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.TrailingSpend.Minor != 1234 || v.Class != domain.ClassA || !v.LastPurchaseTime.Equal(at) {
		t.Errorf("value after purchase = %+v", v)
	}
}
