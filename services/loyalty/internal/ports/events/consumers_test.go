package events_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

const customer = "01890a5d-ac96-774b-bcce-b302099a8057"

func newHandlers(t *testing.T) (*events.Handlers, *app.Service) {
	t.Helper()
	db := testinfra.OpenDB(t, testinfra.SQLiteURL(t), migrations.FS)
	cfg, err := loyalty.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.New(sqlstore.New(db, platformevents.NewOutbox(db, nil, nil), eventsadapter.NewEncoder(), nil),
		app.Options{DefaultProgramID: cfg.DefaultProgramID})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Programs.EnsureProgram(context.Background(), cfg.DefaultProgram()); err != nil {
		t.Fatal(err)
	}
	return events.NewHandlers(struct {
		*app.Accounts
		*app.Points
		*app.Merges
	}{svc.Accounts, svc.Points, svc.Merges}), svc
}

func purchaseMessage(t *testing.T, eventID, interactionID string, amountMinor int64) platformevents.Message {
	t.Helper()
	payload, err := proto.Marshal(&interactionv1.PurchaseRecorded{
		InteractionId: interactionID,
		CustomerId:    customer,
		Total:         &typev1.Money{CurrencyCode: "CNY", AmountMinor: amountMinor},
	})
	if err != nil {
		t.Fatal(err)
	}
	return platformevents.Message{ID: eventID, Subject: interactionv1.SubjectPurchaseRecorded, Payload: payload, NumDelivered: 1}
}

// TestPurchaseHandlerTwiceSameEventID is the handler-level half of the
// acceptance test: the same event id handled twice credits once.
func TestPurchaseHandlerTwiceSameEventID(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	m := purchaseMessage(t, "01890a5d-ac96-774b-bcce-00000000e001", "i-1", 12850)
	for range 2 {
		if err := h.PurchaseRecorded(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := svc.Accounts.Account(ctx, "", customer)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Summary.Spendable() != 128 {
		t.Fatalf("balance = %d, want 128: the replayed event was credited again", acc.Summary.Spendable())
	}
}

func TestCustomerCreatedOpensAccount(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	payload, err := proto.Marshal(&customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: customer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CustomerCreated(ctx, platformevents.Message{ID: "e1", Subject: customerv1.SubjectCustomerCreated, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	acc, err := svc.Accounts.Account(ctx, "", customer)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Tier.Code != "normal" || acc.Summary.Total != 0 {
		t.Fatalf("account = %+v, want NORMAL with 0 points", acc)
	}
}

func TestBadEventsArePermanent(t *testing.T) {
	t.Parallel()
	h, _ := newHandlers(t)
	ctx := context.Background()
	noCustomer, _ := proto.Marshal(&customerv1.CustomerCreated{})
	badID, _ := proto.Marshal(&customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: "nope"}})
	badPurchase, _ := proto.Marshal(&interactionv1.PurchaseRecorded{InteractionId: "i", CustomerId: customer})
	badReturn, _ := proto.Marshal(&interactionv1.ReturnRecorded{InteractionId: "r", CustomerId: customer, Refund: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 1}})
	badSurvey, _ := proto.Marshal(&interactionv1.SurveyAnswered{CustomerId: customer})
	garbage := []byte{0xff, 0xff, 0xff}
	tests := []struct {
		name    string
		handler func(context.Context, platformevents.Message) error
		payload []byte
	}{
		{"undecodable customer event", h.CustomerCreated, garbage},
		{"customer event without customer", h.CustomerCreated, noCustomer},
		{"customer id not a uuid", h.CustomerCreated, badID},
		{"undecodable purchase", h.PurchaseRecorded, garbage},
		{"purchase without currency", h.PurchaseRecorded, badPurchase},
		{"undecodable return", h.ReturnRecorded, garbage},
		{"return without purchase", h.ReturnRecorded, badReturn},
		{"undecodable survey", h.SurveyAnswered, garbage},
		{"survey without survey id", h.SurveyAnswered, badSurvey},
		{"unsubscribed interaction subject", h.Interactions, nil},
		{"undecodable merge", h.CustomerMerged, garbage},
		{"merge without ids", h.CustomerMerged, nil},
		{"undecodable erasure", h.CustomerErased, garbage},
		{"erasure without id", h.CustomerErased, nil},
	}
	for _, tt := range tests {
		err := tt.handler(ctx, platformevents.Message{ID: "bad-" + tt.name, Payload: tt.payload})
		if !platformevents.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", tt.name, err)
		}
	}
}

// TestCustomersRouting feeds the customers consumer's handler one event of
// each subject it subscribes to, and one it does not.
func TestCustomersRouting(t *testing.T) {
	t.Parallel()
	h, svc := newHandlers(t)
	ctx := context.Background()
	const survivor = "01890a5d-ac96-774b-bcce-b302099a8099"
	msg := func(id, subject string, m proto.Message) platformevents.Message {
		t.Helper()
		payload, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return platformevents.Message{ID: id, Subject: subject, Payload: payload}
	}
	if err := h.PurchaseRecorded(ctx, purchaseMessage(t, "e-p", "i-1", 5000)); err != nil {
		t.Fatal(err)
	}
	steps := []platformevents.Message{
		msg("e-c", customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: survivor}}),
		msg("e-m", customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
			MergedCustomerId: customer, SurvivorCustomerId: survivor, Survivor: &customerv1.Customer{Id: survivor},
		}),
		msg("e-e", customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: survivor}),
	}
	for _, m := range steps {
		if err := h.Customers(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Subject, err)
		}
	}
	acc, err := svc.Accounts.Account(ctx, "", customer)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Member.CustomerID != survivor || acc.Summary.Total != 50 {
		t.Fatalf("account of the merged customer = %+v, want the survivor's with 50 points", acc)
	}
	other := msg("e-x", customerv1.SubjectCustomerDeleted, &customerv1.CustomerDeleted{CustomerId: survivor})
	if err := h.Customers(ctx, other); !platformevents.IsPermanent(err) {
		t.Fatalf("unsubscribed subject: err = %v, want permanent", err)
	}
	conflict := msg("e-m2", customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
		MergedCustomerId: survivor, SurvivorCustomerId: customer,
	})
	if err := h.Customers(ctx, conflict); !platformevents.IsPermanent(err) {
		t.Fatalf("merge contradicting an earlier one: err = %v, want permanent", err)
	}
}
