package events_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/ports/events"
)

// FuzzDecodeIngestEvent feeds call-center payloads, as JSON and as
// protobuf, through decoding and the checks an ingested event goes
// through. Nothing may panic, and a payload that does not decode must be
// rejected with a reason rather than recorded empty.
//
//	go test -run '^$' -fuzz FuzzDecodeIngestEvent -fuzztime 30s ./services/interaction/internal/ports/events
func FuzzDecodeIngestEvent(f *testing.F) {
	sample := &interactionv1.IngestEvent{
		Source: "callcenter", ExternalId: "call-1", Phone: "138 0013 8000", CallerName: "王小明",
		Interaction: &interactionv1.Interaction{
			Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Channel: interactionv1.Channel_CHANNEL_PHONE,
			Direction: interactionv1.Direction_DIRECTION_INBOUND, Summary: "客户要求退货", AgentId: "agent-7",
			OccurTime: timestamppb.New(time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)),
			Details:   map[string]string{"queue": "vip"},
		},
	}
	pb, err := proto.Marshal(sample)
	if err != nil {
		f.Fatal(err)
	}
	js, err := protojson.Marshal(sample)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{pb, js, []byte(`{"source":"x","interaction":{"occur_time":"9999-99-99T00:00:00Z","kind":77}}`),
		[]byte(`{"interaction":{"kind":"INTERACTION_KIND_PURCHASE","purchase":{"total":{"units":"-9223372036854775808","nanos":-1},"lines":[{}]}}}`),
		[]byte(`null`), []byte(`{"phone":"+4920100000000000"}`), {0x0a, 0xff}, {}} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte, protobuf bool) {
		h := nats.Header{}
		if protobuf {
			h.Set("Content-Type", "application/protobuf")
		}
		var p interactionv1.IngestEvent
		decodes := proto.Unmarshal(data, &p) == nil
		if !protobuf {
			decodes = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, &p) == nil
		}
		ev := events.DecodeIngestEvent(h, data)
		if !decodes && len(ev.Violations) == 0 {
			t.Fatalf("%q does not decode, yet the event has no violation", data)
		}
		in := &ev.Interaction
		in.Source, in.SourceID = ev.Source, ev.ExternalID
		in.Normalize(now)
		_ = in.ValidateContent(now)
		_ = domain.ValidateCustomerID("interaction.customer_id", in.CustomerID)
		if phone, ok := domain.NormalizePhone(ev.Phone); ok && phone == "" {
			t.Fatalf("phone %q normalized to nothing", ev.Phone)
		}
	})
}
