package interaction_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// forEachDatabase runs fn on a fresh SQLite file and, when configured, a
// fresh PostgreSQL database.
func forEachDatabase(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, db := range testinfra.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { fn(t, db.URL) })
	}
}

// TestTimelineAcrossChannels records one interaction of each kind on the
// channels that carry it, with their details, and reads them back through
// the timeline's filters.
func TestTimelineAcrossChannels(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		known := newUUID(t)
		svc := startServiceOn(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second, dbURL)
		ctx := ctxTimeout(t)
		base := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
		at := func(h int) *timestamppb.Timestamp { return timestamppb.New(base.Add(time.Duration(h) * time.Hour)) }
		type kind = interactionv1.InteractionKind
		type channel = interactionv1.Channel
		record := func(in *interactionv1.Interaction) *interactionv1.Interaction {
			t.Helper()
			in.CustomerId = known
			resp, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: in})
			if err != nil {
				t.Fatalf("record %v on %v: %v", in.GetKind(), in.GetChannel(), err)
			}
			return resp.GetInteraction()
		}
		inquiry := record(&interactionv1.Interaction{
			Kind: interactionv1.InteractionKind_INTERACTION_KIND_INQUIRY, Channel: interactionv1.Channel_CHANNEL_CALL_CENTER,
			Direction: interactionv1.Direction_DIRECTION_INBOUND, AgentId: "agent-7", TeamId: "hotline", OccurTime: at(1),
			Summary: "问发票怎么开", Details: map[string]string{"call_duration_s": "184", "queue": "billing"},
		})
		purchase := teaPurchase(known)
		purchase.Purchase.OrderId = "SO-1"
		purchase.Channel, purchase.OccurTime = interactionv1.Channel_CHANNEL_STORE, at(2)
		purchase.Purchase.WarrantyEndTime = timestamppb.New(base.AddDate(1, 0, 0))
		purchase.Details = map[string]string{"store_id": "SH-01"}
		bought := record(purchase)
		returned := record(&interactionv1.Interaction{
			Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN, Channel: interactionv1.Channel_CHANNEL_STORE, OccurTime: at(3),
			Return: &interactionv1.Return{PurchaseInteractionId: bought.GetId(), OrderId: "SO-1", Refund: cny(4000), Reason: "杯子有裂纹",
				Lines: []*interactionv1.PurchaseLine{{Sku: "CUP-2", Category: "tableware", Quantity: 2, UnitPrice: cny(2000)}}},
		})
		for i, k := range []kind{
			interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT, interactionv1.InteractionKind_INTERACTION_KIND_REPAIR_REQUEST,
			interactionv1.InteractionKind_INTERACTION_KIND_FEEDBACK, interactionv1.InteractionKind_INTERACTION_KIND_VISIT,
			interactionv1.InteractionKind_INTERACTION_KIND_SURVEY_RESPONSE, interactionv1.InteractionKind_INTERACTION_KIND_NOTE,
		} {
			ch := []channel{interactionv1.Channel_CHANNEL_WECHAT, interactionv1.Channel_CHANNEL_PHONE, interactionv1.Channel_CHANNEL_EMAIL,
				interactionv1.Channel_CHANNEL_IN_PERSON, interactionv1.Channel_CHANNEL_SMS, interactionv1.Channel_CHANNEL_FAX}[i]
			record(&interactionv1.Interaction{Kind: k, Channel: ch, OccurTime: at(4 + i), Details: map[string]string{"n": "x"}})
		}

		list := func(filter string, size int32) []*interactionv1.Interaction {
			t.Helper()
			resp, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: filter, PageSize: size})
			if err != nil {
				t.Fatalf("list %q: %v", filter, err)
			}
			return resp.GetInteractions()
		}
		all := list("", 100)
		if len(all) != 9 {
			t.Fatalf("timeline has %d entries, want 9", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].GetOccurTime().AsTime().After(all[i-1].GetOccurTime().AsTime()) {
				t.Fatalf("timeline not newest first at %d", i)
			}
		}
		if got := list("channel = CALL_CENTER", 10); len(got) != 1 || !proto.Equal(got[0], inquiry) {
			t.Errorf("call center filter = %v, want the inquiry %v", got, inquiry)
		}
		if got := list("kind = RETURN", 10); len(got) != 1 || !proto.Equal(got[0], returned) {
			t.Errorf("return filter = %v, want %v", got, returned)
		}
		if got := list("channel = STORE AND kind = INTERACTION_KIND_PURCHASE", 10); len(got) != 1 || !proto.Equal(got[0], bought) {
			t.Errorf("store purchase filter = %v, want %v", got, bought)
		}
		window := `occur_time >= "` + base.Add(2*time.Hour).Format(time.RFC3339) + `" AND occur_time < "` + base.Add(5*time.Hour).Format(time.RFC3339) + `"`
		if got := list(window, 10); len(got) != 3 || got[0].GetKind() != interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT || got[2].GetId() != bought.GetId() {
			t.Errorf("time window = %d entries, want complaint, return, purchase", len(got))
		}
		if got := list("agent_id = \"agent-7\" AND direction = INBOUND", 10); len(got) != 1 || got[0].GetDetails()["queue"] != "billing" {
			t.Errorf("agent filter = %v", got)
		}
		// Paging keeps the filter.
		first, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: "channel = STORE", PageSize: 1})
		if err != nil || len(first.GetInteractions()) != 1 || first.GetNextPageToken() == "" {
			t.Fatalf("first store page = %v, %v", first, err)
		}
		second, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: "channel = STORE", PageSize: 1, PageToken: first.GetNextPageToken()})
		if err != nil || len(second.GetInteractions()) != 1 || second.GetInteractions()[0].GetId() != bought.GetId() || second.GetNextPageToken() != "" {
			t.Fatalf("second store page = %v, %v", second, err)
		}

		for _, bad := range []string{"channel = PIGEON", "colour = red", "occur_time > yesterday"} {
			_, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, Filter: bad})
			if status.Code(err) != codes.InvalidArgument || !hasViolation(err, "filter") {
				t.Errorf("filter %q: %v, want InvalidArgument on filter", bad, err)
			}
		}

		// The return is announced for loyalty and segmentation.
		nc, js, err := events.Connect(svc.natsURL, "interaction-test", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		cons, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{interactionv1.SubjectReturnRecorded}})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("no return event: %v", err)
		}
		var ev interactionv1.ReturnRecorded
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetInteractionId() != returned.GetId() || ev.GetPurchaseInteractionId() != bought.GetId() || ev.GetRefund().GetAmountMinor() != 4000 ||
			len(ev.GetLines()) != 1 || ev.GetLines()[0].GetSku() != "CUP-2" || ev.GetCustomerId() != known || ev.GetOrderId() != "SO-1" {
			t.Errorf("ReturnRecorded = %v", &ev)
		}
	})
}

func TestRecordRejectsBadDetails(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)
	tests := []struct {
		name  string
		in    *interactionv1.Interaction
		field string
	}{
		{"return without refund", &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN,
			Return: &interactionv1.Return{OrderId: "SO-1"}}, "interaction.return.refund"},
		{"return without purchase", &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN,
			Return: &interactionv1.Return{Refund: cny(1)}}, "interaction.return.purchase_interaction_id"},
		{"return kind without return", &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN}, "interaction.return"},
		{"return on a note", &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_NOTE,
			Return: &interactionv1.Return{OrderId: "SO-1", Refund: cny(1)}}, "interaction.return"},
		{"unknown direction", &interactionv1.Interaction{Direction: 9}, "interaction.direction"},
		{"unknown channel", &interactionv1.Interaction{Channel: 99}, "interaction.channel"},
		{"return of an unknown purchase", &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN,
			Return: &interactionv1.Return{PurchaseInteractionId: "01890a5d-ac96-774b-bcce-b302099a8001", Refund: cny(1)}}, "interaction.return.purchase_interaction_id"},
		{"case id not a uuid", &interactionv1.Interaction{CaseId: "C-1"}, "interaction.case_id"},
		{"empty detail key", &interactionv1.Interaction{Details: map[string]string{"": "x"}}, "interaction.details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.CustomerId = known
			_, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: tt.in})
			if status.Code(err) != codes.InvalidArgument || !hasViolation(err, tt.field) {
				t.Errorf("err = %v, want InvalidArgument on %s", err, tt.field)
			}
		})
	}
}

// hasViolation reports whether err carries a field violation of field.
func hasViolation(err error, field string) bool {
	for _, v := range rpcerr.Violations(err) {
		if v.Field == field {
			return true
		}
	}
	return false
}
