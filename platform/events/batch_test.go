package events

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestBatchRoundTrip(t *testing.T) {
	evs := []Event{
		{ID: "a", Subject: "s.one", Type: "T", Source: "guanxi/test", Time: time.UnixMicro(1_700_000_000_123_456).UTC(),
			Payload: []byte{0, 1, 2}, TraceParent: "00-x-y-01"},
		{ID: "b", Subject: "s.two", Type: "T", Source: "guanxi/test", Time: time.UnixMicro(0).UTC(), Payload: []byte{}},
	}
	got, err := decodeBatch(encodeBatch(evs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 2 && got[1].Payload == nil {
		got[1].Payload = []byte{}
	}
	if !reflect.DeepEqual(got, evs) {
		t.Fatalf("decoded %+v, want %+v", got, evs)
	}
	for _, bad := range [][]byte{{0xff}, {0x0a, 0x05, 0x0a}, {0x12, 0x00}, encodeBatch(evs)[:10]} {
		if _, err := decodeBatch(bad); !errors.Is(err, errBadBatch) {
			t.Errorf("decodeBatch(%x) = %v, want errBadBatch", bad, err)
		}
	}
}
