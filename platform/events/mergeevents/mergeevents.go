// Package mergeevents decodes the customer service's CustomerMerged and
// CustomerErased events into the merges values the services' use cases
// take. It names the payloads by their getters, so platform need not import
// the services' proto module; callers pass the generated message to decode
// into (and may read it afterwards, as notification reads the survivor's
// profile).
package mergeevents

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/merges"
)

// MergedPayload is a customerv1.CustomerMerged.
type MergedPayload interface {
	proto.Message
	GetMergedCustomerId() string
	GetSurvivorCustomerId() string
}

// ErasedPayload is a customerv1.CustomerErased.
type ErasedPayload interface {
	proto.Message
	GetCustomerId() string
	GetEraseTime() *timestamppb.Timestamp
}

// Merge decodes m's payload into ev and returns the merge it reports,
// dated with the event's time. A payload that does not decode can never be
// handled, so its error is permanent (dead-lettered at once).
func Merge(m events.Message, ev MergedPayload) (merges.Merge, error) {
	if err := decode(m, ev); err != nil {
		return merges.Merge{}, err
	}
	return merges.Merge{MergedID: ev.GetMergedCustomerId(), SurvivorID: ev.GetSurvivorCustomerId(), At: m.Time}, nil
}

// Erasure decodes m's payload into ev and returns the erasure it reports:
// at the erase time the event carries, or else at the event's time. A
// payload that does not decode is a permanent error, as with Merge.
func Erasure(m events.Message, ev ErasedPayload) (merges.Erasure, error) {
	if err := decode(m, ev); err != nil {
		return merges.Erasure{}, err
	}
	e := merges.Erasure{CustomerID: ev.GetCustomerId(), EraseTime: m.Time}
	if ev.GetEraseTime() != nil {
		e.EraseTime = ev.GetEraseTime().AsTime()
	}
	return e, nil
}

// ApplyMerge decodes m's payload into ev and hands the merge to apply with
// the event's id, the key that makes the follow-up idempotent. A handler
// reads as one line per event; the service still says which of apply's
// errors no retry can fix.
func ApplyMerge(ctx context.Context, m events.Message, ev MergedPayload, apply func(ctx context.Context, eventID string, mg merges.Merge) error) error {
	mg, err := Merge(m, ev)
	if err != nil {
		return err
	}
	return apply(ctx, m.ID, mg)
}

// ApplyErasure is ApplyMerge for a CustomerErased event.
func ApplyErasure(ctx context.Context, m events.Message, ev ErasedPayload, apply func(ctx context.Context, eventID string, e merges.Erasure) error) error {
	e, err := Erasure(m, ev)
	if err != nil {
		return err
	}
	return apply(ctx, m.ID, e)
}

func decode(m events.Message, ev proto.Message) error {
	if err := proto.Unmarshal(m.Payload, ev); err != nil {
		return events.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err))
	}
	return nil
}
