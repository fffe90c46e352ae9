package segmentation_test

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
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
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

// drainCustomers registers a customer behind everything published so far
// on the customer stream and waits for it: the customers consumer handles
// events in order, so everything before it has been handled.
func (h harness) drainCustomers(t *testing.T) {
	t.Helper()
	sentinel := newID(t)
	h.publish(t, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: sentinel}})
	testinfra.Eventually(t, 10*time.Second, "the sentinel customer", func() bool {
		_, err := h.client.GetCustomerValue(context.Background(), &segmentationv1.GetCustomerValueRequest{CustomerId: sentinel})
		return err == nil
	})
}

// valueReaches waits until the customer's value shows want purchases.
func (h harness) valueReaches(t *testing.T, customerID string, count int64) *segmentationv1.CustomerValue {
	t.Helper()
	var last *segmentationv1.CustomerValue
	testinfra.Eventually(t, 10*time.Second, "the customer's purchases", func() bool {
		resp, err := h.client.GetCustomerValue(context.Background(), &segmentationv1.GetCustomerValueRequest{CustomerId: customerID})
		last = resp.GetValue()
		return err == nil && last.GetPurchaseCount() == count
	})
	return last
}

func TestMergeOverTheBus(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startOn(t, d.URL, testinfra.EmbeddedNATS(t))
			ctx := context.Background()
			top, merged, survivor := newID(t), newID(t), newID(t)
			recent := time.Now().Add(-24 * time.Hour)
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), top, 8500, recent))
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), merged, 1000, recent))
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), survivor, 500, recent))
			h.valueReaches(t, top, 1)
			h.valueReaches(t, merged, 1)
			if v := h.valueReaches(t, survivor, 1); v.GetAbcClass() != segmentationv1.AbcClass_ABC_CLASS_C {
				t.Fatalf("survivor before the merge = %v, want C", v)
			}

			mergeID := newID(t)
			mergeEvent := &customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor}
			h.publishWithID(t, mergeID, customerv1.SubjectCustomerMerged, mergeEvent)
			v := h.valueReaches(t, survivor, 2)
			if v.GetTrailingSpend().GetAmountMinor() != 1500 || v.GetAbcClass() != segmentationv1.AbcClass_ABC_CLASS_B {
				t.Fatalf("survivor after the merge = %v, want 1500 spent, B", v)
			}
			viaMerged, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: merged})
			if err != nil {
				t.Fatal(err)
			}
			if viaMerged.GetValue().GetCustomerId() != survivor || viaMerged.GetValue().GetPurchaseCount() != 2 {
				t.Fatalf("value of the merged id = %v, want the survivor's", viaMerged.GetValue())
			}

			// A purchase still naming the merged customer counts for the survivor.
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), merged, 1000, recent))
			h.valueReaches(t, survivor, 3)

			// The merge replayed, past the dedupe window and as a new event.
			testinfra.PublishEvent(t, h.js, customerv1.SubjectCustomerMerged, mergeEvent, mergeID, newID(t))
			h.publish(t, customerv1.SubjectCustomerMerged, mergeEvent)
			h.drainCustomers(t)
			if v := h.valueReaches(t, survivor, 3); v.GetTrailingSpend().GetAmountMinor() != 2500 {
				t.Fatalf("survivor after replayed merges = %v, want 2500 spent", v)
			}
		})
	}
}

func TestErasureLeavesNoPersonalData(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startOn(t, d.URL, testinfra.EmbeddedNATS(t))
			ctx := context.Background()
			id := newID(t)
			h.publish(t, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{
				Id: id, DisplayName: piiName, Email: piiEmail, Phone: piiPhone,
				OtherEmails: []string{piiEmail}, OtherPhones: []string{piiPhone},
				Addresses: []*customerv1.Address{{Lines: []string{piiName + "收"}}},
			}})
			h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), id, 12850, time.Now().Add(-time.Hour)))
			h.valueReaches(t, id, 1)

			h.publish(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: id, EraseTime: timestamppb.Now()})
			h.drainCustomers(t)

			resp, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: id})
			if err != nil {
				t.Fatal(err)
			}
			assertNoPersonalData(t, "GetCustomerValue", resp)
			if resp.GetValue().GetLifetimeSpend().GetAmountMinor() != 12850 {
				t.Fatalf("value after erasure = %v, want the spend kept", resp.GetValue())
			}
		})
	}
}

// TestUpgradedCustomersConsumerReadsEarlierEvents starts the service on a
// broker where segmentation-customers already exists as an older release
// left it: subscribed to created events only and past a merge published
// meanwhile. The merge must still be applied.
func TestUpgradedCustomersConsumerReadsEarlierEvents(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	js := connect(t, natsURL)
	ctx := context.Background()
	old := harness{js: js}
	merged, survivor := newID(t), newID(t)
	old.publish(t, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: merged}})
	old.publish(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor})
	old.publish(t, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: survivor}})
	cons, err := js.CreateOrUpdateConsumer(ctx, customerv1.Stream, jetstream.ConsumerConfig{
		Durable:       "segmentation-customers",
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

	h := startOn(t, "sqlite://"+t.TempDir()+"/segmentation.db", natsURL)
	h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), merged, 4200, time.Now().Add(-time.Hour)))
	if v := h.valueReaches(t, survivor, 1); v.GetTrailingSpend().GetAmountMinor() != 4200 {
		t.Fatalf("survivor = %v, want the purchase naming the merged customer", v)
	}
}
