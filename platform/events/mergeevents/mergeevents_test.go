package mergeevents_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/events/mergeevents"
	"github.com/guanxi-crm/guanxi/platform/merges"
)

// payload stands in for the customer service's event messages, which
// platform does not import: a Struct read through the same getters.
type payload struct{ *structpb.Struct }

func (p payload) str(k string) string { return p.GetFields()[k].GetStringValue() }

func (p payload) GetMergedCustomerId() string   { return p.str("merged_customer_id") }
func (p payload) GetSurvivorCustomerId() string { return p.str("survivor_customer_id") }
func (p payload) GetCustomerId() string         { return p.str("customer_id") }

func (p payload) GetEraseTime() *timestamppb.Timestamp {
	if v, ok := p.GetFields()["erase_time"]; ok {
		return timestamppb.New(time.Unix(int64(v.GetNumberValue()), 0))
	}
	return nil
}

func encode(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMerge(t *testing.T) {
	t.Parallel()
	at := time.Unix(1000, 0).UTC()
	m := events.Message{ID: "e1", Subject: "customer.customer.merged", Time: at,
		Payload: encode(t, map[string]any{"merged_customer_id": "a", "survivor_customer_id": "b"})}
	got, err := mergeevents.Merge(m, payload{&structpb.Struct{}})
	if want := (merges.Merge{MergedID: "a", SurvivorID: "b", At: at}); err != nil || got != want {
		t.Errorf("Merge = %+v, %v; want %+v", got, err, want)
	}
	m.Payload = []byte{0xff}
	if _, err := mergeevents.Merge(m, payload{&structpb.Struct{}}); !events.IsPermanent(err) {
		t.Errorf("undecodable payload: %v, want a permanent error", err)
	}
}

func TestErasure(t *testing.T) {
	t.Parallel()
	at := time.Unix(1000, 0).UTC()
	for _, tt := range []struct {
		name   string
		fields map[string]any
		want   merges.Erasure
	}{
		{"erase time carried", map[string]any{"customer_id": "c", "erase_time": 500}, merges.Erasure{CustomerID: "c", EraseTime: time.Unix(500, 0).UTC()}},
		{"event time otherwise", map[string]any{"customer_id": "d"}, merges.Erasure{CustomerID: "d", EraseTime: at}},
	} {
		m := events.Message{ID: "e1", Subject: "customer.customer.erased", Time: at, Payload: encode(t, tt.fields)}
		got, err := mergeevents.Erasure(m, payload{&structpb.Struct{}})
		if err != nil || got.CustomerID != tt.want.CustomerID || !got.EraseTime.Equal(tt.want.EraseTime) {
			t.Errorf("%s: Erasure = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	m := events.Message{Subject: "customer.customer.erased", Payload: []byte{0xff}}
	if _, err := mergeevents.Erasure(m, payload{&structpb.Struct{}}); !events.IsPermanent(err) {
		t.Errorf("undecodable payload: %v, want a permanent error", err)
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Unix(1000, 0).UTC()
	m := events.Message{ID: "e1", Time: at, Payload: encode(t, map[string]any{"merged_customer_id": "a", "survivor_customer_id": "b", "customer_id": "c"})}
	var gotID string
	var gotMerge merges.Merge
	var gotErasure merges.Erasure
	boom := errors.New("boom")
	err := mergeevents.ApplyMerge(ctx, m, payload{&structpb.Struct{}}, func(_ context.Context, id string, mg merges.Merge) error {
		gotID, gotMerge = id, mg
		return boom
	})
	if !errors.Is(err, boom) || gotID != "e1" || gotMerge != (merges.Merge{MergedID: "a", SurvivorID: "b", At: at}) {
		t.Errorf("ApplyMerge: err %v, applied %s %+v", err, gotID, gotMerge)
	}
	err = mergeevents.ApplyErasure(ctx, m, payload{&structpb.Struct{}}, func(_ context.Context, id string, e merges.Erasure) error {
		gotID, gotErasure = id, e
		return nil
	})
	if err != nil || gotID != "e1" || gotErasure.CustomerID != "c" || !gotErasure.EraseTime.Equal(at) {
		t.Errorf("ApplyErasure: err %v, applied %s %+v", err, gotID, gotErasure)
	}
	m.Payload = []byte{0xff}
	called := false
	err = mergeevents.ApplyMerge(ctx, m, payload{&structpb.Struct{}}, func(context.Context, string, merges.Merge) error { called = true; return nil })
	if !events.IsPermanent(err) || called {
		t.Errorf("undecodable merge: err %v, applied %v", err, called)
	}
	err = mergeevents.ApplyErasure(ctx, m, payload{&structpb.Struct{}}, func(context.Context, string, merges.Erasure) error { called = true; return nil })
	if !events.IsPermanent(err) || called {
		t.Errorf("undecodable erasure: err %v, applied %v", err, called)
	}
}
