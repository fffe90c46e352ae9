package events

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// An outbox row holds the events one Enqueue call wrote: a single event in
// its columns, or several in the payload column encoded as below, so a
// transaction that changes ten thousand customers writes one row instead
// of ten thousand (each a heap tuple and an index entry to insert, read
// and delete). The encoding is protobuf wire format, a repeated field 1
// holding one message per event with these fields:
const (
	fieldEvent       protowire.Number = 1
	fieldID          protowire.Number = 1
	fieldSubject     protowire.Number = 2
	fieldType        protowire.Number = 3
	fieldSource      protowire.Number = 4
	fieldTime        protowire.Number = 5 // unix microseconds
	fieldPayload     protowire.Number = 6
	fieldTraceParent protowire.Number = 7
)

// encodeBatch encodes evs for one outbox row.
func encodeBatch(evs []Event) []byte {
	var out, ev []byte
	for _, e := range evs {
		ev = ev[:0]
		ev = appendString(ev, fieldID, e.ID)
		ev = appendString(ev, fieldSubject, e.Subject)
		ev = appendString(ev, fieldType, e.Type)
		ev = appendString(ev, fieldSource, e.Source)
		ev = protowire.AppendTag(ev, fieldTime, protowire.VarintType)
		ev = protowire.AppendVarint(ev, uint64(sqldb.Micros(e.Time)))
		ev = protowire.AppendTag(ev, fieldPayload, protowire.BytesType)
		ev = protowire.AppendBytes(ev, e.Payload)
		ev = appendString(ev, fieldTraceParent, e.TraceParent)
		out = protowire.AppendTag(out, fieldEvent, protowire.BytesType)
		out = protowire.AppendBytes(out, ev)
	}
	return out
}

func appendString(b []byte, n protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

var errBadBatch = errors.New("malformed outbox batch")

// decodeBatch reads what encodeBatch wrote.
func decodeBatch(b []byte) ([]Event, error) {
	var out []Event
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != fieldEvent || typ != protowire.BytesType {
			return nil, errBadBatch
		}
		b = b[n:]
		msg, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errBadBatch
		}
		b = b[n:]
		ev, err := decodeEvent(msg)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func decodeEvent(b []byte) (Event, error) {
	var ev Event
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Event{}, errBadBatch
		}
		b = b[n:]
		if num == fieldTime {
			if typ != protowire.VarintType {
				return Event{}, errBadBatch
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return Event{}, errBadBatch
			}
			ev.Time = sqldb.FromMicros(int64(v))
			b = b[n:]
			continue
		}
		if typ != protowire.BytesType {
			return Event{}, fmt.Errorf("%w: field %d", errBadBatch, num)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return Event{}, errBadBatch
		}
		b = b[n:]
		switch num {
		case fieldID:
			ev.ID = string(v)
		case fieldSubject:
			ev.Subject = string(v)
		case fieldType:
			ev.Type = string(v)
		case fieldSource:
			ev.Source = string(v)
		case fieldPayload:
			ev.Payload = v
		case fieldTraceParent:
			ev.TraceParent = string(v)
		}
	}
	return ev, nil
}
