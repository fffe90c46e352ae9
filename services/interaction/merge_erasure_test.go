package interaction_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
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
				t.Errorf("%s holds %q: %s", what, s, rendering)
			}
		}
	}
}

// customerStream connects to the service's broker and creates the
// customer service's stream, which the service consumes.
func (s service) customerStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, js, err := events.Connect(s.natsURL, "interaction-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := events.EnsureStream(context.Background(), js, customerv1.Stream, customerv1.StreamSubjects); err != nil {
		t.Fatal(err)
	}
	return js
}

func publish(t *testing.T, js jetstream.JetStream, subject string, msg proto.Message) string {
	t.Helper()
	id := newUUID(t)
	testinfra.PublishEvent(t, js, subject, msg, id, id)
	return id
}

func (s service) list(t *testing.T, customerID string) []*interactionv1.Interaction {
	t.Helper()
	resp, err := s.client.ListInteractions(ctxTimeout(t), &interactionv1.ListInteractionsRequest{CustomerId: customerID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetInteractions()
}

func (s service) note(t *testing.T, customerID, summary string) *interactionv1.Interaction {
	t.Helper()
	resp, err := s.client.RecordInteraction(ctxTimeout(t), &interactionv1.RecordInteractionRequest{
		Interaction: &interactionv1.Interaction{CustomerId: customerID, Summary: summary},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetInteraction()
}

// drainCustomers erases a throwaway customer behind everything published
// so far and waits until its note is anonymized: the customers consumer
// handles events in order, so everything before has been handled.
func (s service) drainCustomers(t *testing.T, fake *fakeCustomers, js jetstream.JetStream) {
	t.Helper()
	sentinel := newUUID(t)
	fake.add(sentinel)
	s.note(t, sentinel, "sentinel")
	publish(t, js, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: sentinel})
	testinfra.Eventually(t, 10*time.Second, "the sentinel's erasure", func() bool {
		list := s.list(t, sentinel)
		return len(list) == 1 && list[0].GetSummary() == ""
	})
}

// TestRecordForMergedCustomerKeepsTheSurvivor records a purchase naming a
// merged customer: GetCustomer answers with the survivor, and the purchase
// is stored, listed and announced under the survivor's id.
func TestRecordForMergedCustomerKeepsTheSurvivor(t *testing.T) {
	merged, survivor := newUUID(t), newUUID(t)
	fake := &fakeCustomers{known: survivor}
	fake.merge(merged, survivor)
	svc := startService(t, startCustomers(t, fake), 3*time.Second)
	ctx := ctxTimeout(t)

	resp, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: teaPurchase(merged)})
	if err != nil {
		t.Fatal(err)
	}
	rec := resp.GetInteraction()
	if rec.GetCustomerId() != survivor {
		t.Fatalf("recorded for %s, want the survivor %s", rec.GetCustomerId(), survivor)
	}
	if list := svc.list(t, survivor); len(list) != 1 || !proto.Equal(list[0], rec) {
		t.Fatalf("survivor's timeline = %v, want the purchase", list)
	}

	nc, js, err := events.Connect(svc.natsURL, "interaction-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cons, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("no purchase event: %v", err)
	}
	var ev interactionv1.PurchaseRecorded
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetCustomerId() != survivor {
		t.Errorf("purchase event names %s, want the survivor %s", ev.GetCustomerId(), survivor)
	}
}

func TestMergeEventRekeysTheTimeline(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			merged, survivor := newUUID(t), newUUID(t)
			fake := &fakeCustomers{known: survivor}
			fake.add(merged)
			svc := startServiceOn(t, startCustomers(t, fake), 3*time.Second, d.URL)
			js := svc.customerStream(t)
			svc.note(t, merged, "first")
			svc.note(t, merged, "second")
			svc.note(t, survivor, "third")

			fake.merge(merged, survivor)
			mergeEvent := &customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor}
			mergeID := publish(t, js, customerv1.SubjectCustomerMerged, mergeEvent)
			testinfra.Eventually(t, 10*time.Second, "the survivor's timeline to hold all three", func() bool {
				return len(svc.list(t, survivor)) == 3
			})
			timeline := svc.list(t, survivor)
			for _, in := range timeline {
				if in.GetCustomerId() != survivor {
					t.Errorf("interaction %s names %s after the merge", in.GetId(), in.GetCustomerId())
				}
			}
			// The merged id reads as the survivor, as GetCustomer does.
			viaMerged := svc.list(t, merged)
			if len(viaMerged) != 3 || !proto.Equal(viaMerged[0], timeline[0]) {
				t.Errorf("timeline of the merged id = %v, want the survivor's", viaMerged)
			}

			// Replays change nothing.
			testinfra.PublishEvent(t, js, customerv1.SubjectCustomerMerged, mergeEvent, mergeID, newUUID(t))
			publish(t, js, customerv1.SubjectCustomerMerged, mergeEvent)
			svc.drainCustomers(t, fake, js)
			if got := svc.list(t, survivor); len(got) != 3 {
				t.Errorf("survivor's timeline after replays has %d interactions, want 3", len(got))
			}
		})
	}
}

func TestErasureLeavesNoPersonalData(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			id := newUUID(t)
			fake := &fakeCustomers{known: id}
			svc := startServiceOn(t, startCustomers(t, fake), 3*time.Second, d.URL)
			js := svc.customerStream(t)
			ctx := ctxTimeout(t)

			purchase := teaPurchase(id)
			purchase.Summary = piiName + " 买了龙井茶"
			reports := []*interactionv1.RecordInteractionRequest{
				{RequestId: "req-call", Interaction: &interactionv1.Interaction{
					CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Channel: interactionv1.Channel_CHANNEL_PHONE,
					Summary: piiName + " 来电 " + piiPhone + ", 请回邮件 " + piiEmail, Source: "call-center", SourceId: piiPhone,
				}},
				{RequestId: "req-mail", Interaction: &interactionv1.Interaction{
					CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_MESSAGE, Channel: interactionv1.Channel_CHANNEL_EMAIL,
					Summary: "From: " + piiName + " <" + piiEmail + ">", Source: "mailbox", SourceId: "<" + piiEmail + ">",
				}},
				{RequestId: "req-buy", Interaction: purchase},
			}
			for _, r := range reports {
				if _, err := svc.client.RecordInteraction(ctx, r); err != nil {
					t.Fatal(err)
				}
			}

			fake.erase(id)
			publish(t, js, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: id, EraseTime: timestamppb.Now()})
			svc.drainCustomers(t, fake, js)

			resp, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: id})
			if err != nil {
				t.Fatal(err)
			}
			assertNoPersonalData(t, "ListInteractions", resp)
			if n := len(resp.GetInteractions()); n != 3 {
				t.Fatalf("%d interactions after the erasure, want all 3 kept without personal data", n)
			}
			for _, in := range resp.GetInteractions() {
				if p := in.GetPurchase(); p != nil && p.GetTotal().GetAmountMinor() != 12850 {
					t.Errorf("purchase total after erasure = %v, want it kept", p.GetTotal())
				}
			}
			// Retrying a report, or a new one, records nothing and answers
			// without the customer's data.
			for _, r := range append(reports, &interactionv1.RecordInteractionRequest{
				Interaction: &interactionv1.Interaction{CustomerId: id, Summary: "new"},
			}) {
				got, err := svc.client.RecordInteraction(ctx, r)
				if status.Code(err) != codes.FailedPrecondition {
					t.Errorf("record %s after erasure: %v, %v; want FailedPrecondition", r.GetRequestId(), got, err)
				}
				assertNoPersonalData(t, "RecordInteraction error", status.Convert(err).Proto())
			}
			if n := len(svc.list(t, id)); n != 3 {
				t.Errorf("%d interactions after retries, want 3", n)
			}
		})
	}
}
