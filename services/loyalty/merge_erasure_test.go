package loyalty_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

// A customer whose name, email and phone appear nowhere else, so finding
// any of them in a response means personal data leaked.
const (
	piiName  = "欧阳娜娜Zq"
	piiEmail = "zq.ouyang.7731@example.cn"
	piiPhone = "+8613877310042"
)

// assertNoPersonalData fails if a response, in any rendering, holds the
// distinctive name, email or phone: marshalling the whole message means a
// field added later cannot slip past.
func assertNoPersonalData(t *testing.T, what string, m proto.Message) {
	t.Helper()
	js, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	text, err := prototext.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, rendering := range []string{string(js), string(text)} {
		for _, s := range []string{piiName, piiEmail, piiPhone} {
			if strings.Contains(rendering, s) {
				t.Errorf("%s holds %q after erasure: %s", what, s, rendering)
			}
		}
	}
}

// customerCreated publishes the created event of a customer.
func (h harness) customerCreated(t *testing.T, c *customerv1.Customer) {
	t.Helper()
	id := newID(t)
	h.publish(t, customerv1.SubjectCustomerCreated, id, id, &customerv1.CustomerCreated{Customer: c})
}

// drainCustomers publishes a customer behind everything published so far on
// the customer stream and waits for its account: the customers consumer
// handles events in order, so everything before it has been handled.
func (h harness) drainCustomers(t *testing.T) {
	t.Helper()
	sentinel := newID(t)
	h.customerCreated(t, &customerv1.Customer{Id: sentinel})
	testinfra.Eventually(t, 10*time.Second, "the sentinel customer's account", func() bool {
		_, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: sentinel})
		return err == nil
	})
}

func TestMergeOverTheBus(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startOn(t, defaultConfig(t), d.URL, testinfra.EmbeddedNATS(t))
			ctx := context.Background()
			merged, survivor := newID(t), newID(t)
			h.customerCreated(t, &customerv1.Customer{Id: merged})
			h.customerCreated(t, &customerv1.Customer{Id: survivor})
			p1, p2 := newID(t), newID(t)
			h.publishPurchase(t, p1, p1, merged, newID(t), cny(30000))
			h.publishPurchase(t, p2, p2, survivor, newID(t), cny(20000))
			h.balanceReaches(t, merged, 300)
			h.balanceReaches(t, survivor, 200)

			mergeID := newID(t)
			mergeEvent := &customerv1.CustomerMerged{
				MergedCustomerId: merged, SurvivorCustomerId: survivor,
				Survivor: &customerv1.Customer{Id: survivor, MergedCustomerIds: []string{merged}},
			}
			h.publish(t, customerv1.SubjectCustomerMerged, mergeID, mergeID, mergeEvent)
			acc := h.balanceReaches(t, survivor, 500)
			if acc.GetLifetimePoints() != 500 {
				t.Fatalf("survivor = %v, want 500 lifetime points", acc)
			}
			viaMerged, err := h.client.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: merged})
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(viaMerged.GetAccount(), acc) {
				t.Fatalf("account of the merged id = %v, want the survivor's %v", viaMerged.GetAccount(), acc)
			}

			// A purchase event still naming the merged customer lands on the
			// survivor's account.
			p3 := newID(t)
			h.publishPurchase(t, p3, p3, merged, newID(t), cny(1000))
			h.balanceReaches(t, survivor, 510)

			// The merge replayed, as the same event past the dedupe window and
			// as a new event, then a sentinel behind both: nothing moves.
			h.publish(t, customerv1.SubjectCustomerMerged, mergeID, newID(t), mergeEvent)
			again := newID(t)
			h.publish(t, customerv1.SubjectCustomerMerged, again, again, mergeEvent)
			h.drainCustomers(t)
			final, err := h.client.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: survivor})
			if err != nil {
				t.Fatal(err)
			}
			if final.GetAccount().GetPointsBalance() != 510 || final.GetAccount().GetLifetimePoints() != 510 {
				t.Fatalf("survivor after replayed merges = %v, want 510 points", final.GetAccount())
			}
		})
	}
}

func TestErasureLeavesNoPersonalData(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startOn(t, defaultConfig(t), d.URL, testinfra.EmbeddedNATS(t))
			ctx := context.Background()
			id := newID(t)
			h.customerCreated(t, &customerv1.Customer{
				Id: id, DisplayName: piiName, Email: piiEmail, Phone: piiPhone,
				OtherEmails: []string{piiEmail}, OtherPhones: []string{piiPhone},
				Addresses: []*customerv1.Address{{Lines: []string{piiName + "收"}}},
			})
			p := newID(t)
			h.publishPurchase(t, p, p, id, newID(t), cny(12850))
			h.balanceReaches(t, id, 128)

			erased := newID(t)
			h.publish(t, customerv1.SubjectCustomerErased, erased, erased,
				&customerv1.CustomerErased{CustomerId: id, EraseTime: timestamppb.Now()})
			h.drainCustomers(t)

			resp, err := h.client.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: id})
			if err != nil {
				t.Fatal(err)
			}
			assertNoPersonalData(t, "GetLoyaltyAccount", resp)
			// Points are an aggregate without personal data and stay.
			if resp.GetAccount().GetPointsBalance() != 128 {
				t.Fatalf("account after erasure = %v, want its 128 points kept", resp.GetAccount())
			}
		})
	}
}

// TestUpgradedCustomersConsumerReadsEarlierEvents starts the service on a
// broker where loyalty-customers already exists as an older release left
// it: subscribed to created events only and past a merge the upgraded
// customer service published meanwhile. The merge must still be applied.
func TestUpgradedCustomersConsumerReadsEarlierEvents(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	js := connect(t, natsURL)
	ctx := context.Background()
	merged, survivor := newID(t), newID(t)
	old := harness{js: js}
	old.customerCreated(t, &customerv1.Customer{Id: merged})
	mergeID := newID(t)
	old.publish(t, customerv1.SubjectCustomerMerged, mergeID, mergeID,
		&customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor})
	old.customerCreated(t, &customerv1.Customer{Id: survivor})
	cons, err := js.CreateOrUpdateConsumer(ctx, customerv1.Stream, jetstream.ConsumerConfig{
		Durable:       "loyalty-customers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: customerv1.SubjectCustomerCreated,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("the old consumer took %d created events, want 2", n)
	}

	h := startOn(t, defaultConfig(t), "sqlite://"+t.TempDir()+"/loyalty.db", natsURL)
	p := newID(t)
	h.publishPurchase(t, p, p, merged, newID(t), cny(4200))
	acc := h.balanceReaches(t, survivor, 42)
	if acc.GetCustomerId() != survivor {
		t.Fatalf("purchase for the merged customer credited %v, want the survivor", acc)
	}
	info, err := js.Consumer(ctx, customerv1.Stream, "loyalty-customers")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.FilterSubjects; len(got) != 3 {
		t.Fatalf("consumer filter subjects = %v, want the three the service reads", got)
	}
}
