package interaction_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// TestIngestRefusesNUL: an event holding a NUL character (here in an order
// id) is refused as every gRPC request with one is: over gRPC with
// InvalidArgument naming the field, over NATS with a rejection naming it;
// nothing is recorded (SQLite kept it, PostgreSQL failed on it).
func TestIngestRefusesNUL(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)
	event := &interactionv1.IngestEvent{Source: "pos", ExternalId: "nul-1", Interaction: &interactionv1.Interaction{
		CustomerId: known, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE, Channel: interactionv1.Channel_CHANNEL_IN_PERSON,
		Purchase: &interactionv1.Purchase{OrderId: "SO\x00-1", Total: cny(100)},
	}}
	const field = "interaction.purchase.order_id"

	_, err := svc.client.BatchIngestEvents(ctx, &interactionv1.BatchIngestEventsRequest{Events: []*interactionv1.IngestEvent{event}})
	if status.Code(err) != codes.InvalidArgument || !hasViolation(err, "events[0]."+field) {
		t.Errorf("gRPC: %v, want InvalidArgument on events[0].%s", err, field)
	}

	nc, js, err := events.Connect(svc.natsURL, "ingest-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	testinfra.Eventually(t, 10*time.Second, "INGEST stream", func() bool {
		_, err := js.Stream(ctx, interactionv1.IngestStream)
		return err == nil
	})
	reply := nats.NewInbox()
	sub, err := nc.SubscribeSync(reply)
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg("ingest.pos")
	msg.Header.Set("Content-Type", "application/protobuf")
	msg.Header.Set(interactionv1.IngestReplyHeader, reply)
	msg.Header.Set("Authorization", svc.ingestAuth)
	msg.Data = data
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no result: %v", err)
	}
	var r interactionv1.IngestResult
	if err := proto.Unmarshal(got.Data, &r); err != nil {
		t.Fatal(err)
	}
	if r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED || r.GetField() != field {
		t.Errorf("NATS: result %v, want rejected on %s", &r, field)
	}
	list, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known})
	if err != nil || len(list.GetInteractions()) != 0 {
		t.Errorf("interactions after the refusals: %v, %v; want none", list.GetInteractions(), err)
	}
}
