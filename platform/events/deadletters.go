package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is one message of the dead-letter stream: an event a consumer
// gave up on, and why.
type DeadLetter struct {
	// Seq is its sequence in the DEADLETTER stream, what ReplayDeadLetter
	// takes.
	Seq uint64
	// Consumer is the durable that gave up, Subject and Stream where the
	// event was published, Reason why it was dead-lettered.
	Consumer, Subject, Stream, Reason string
	// EventID and Type are the event's Ce-Id and Ce-Type.
	EventID, Type string
	// Time is when it was dead-lettered.
	Time time.Time
	// Data is the event's payload.
	Data []byte
}

// ListDeadLetters returns the dead letters in the order they came, of
// every consumer; none when there is no dead-letter stream yet.
func ListDeadLetters(ctx context.Context, js jetstream.JetStream) ([]DeadLetter, error) {
	stream, err := js.Stream(ctx, DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	var out []DeadLetter
	for seq := uint64(1); ; {
		raw, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(DeadLetterSubjectPrefix+">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("list dead letters: read: %w", err)
		}
		seq = raw.Sequence + 1
		out = append(out, DeadLetter{
			Seq:      raw.Sequence,
			Consumer: raw.Header.Get(HeaderDeadLetterConsumer),
			Subject:  raw.Header.Get(HeaderDeadLetterSubject),
			Stream:   raw.Header.Get(HeaderDeadLetterStream),
			Reason:   raw.Header.Get(HeaderDeadLetterReason),
			EventID:  raw.Header.Get(HeaderID),
			Type:     raw.Header.Get(HeaderType),
			Time:     raw.Time,
			Data:     raw.Data,
		})
	}
}

// ReplayDeadLetter replays the dead letter at sequence seq of the
// dead-letter stream, as ReplayDeadLetters does for a consumer's.
func ReplayDeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	stream, err := js.Stream(ctx, DeadLetterStream)
	if err != nil {
		return fmt.Errorf("replay dead letter %d: %w", seq, err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("replay dead letter %d: %w", seq, err)
	}
	return replay(ctx, js, stream, raw)
}

// replay republishes the dead letter raw to its original subject and
// removes it from the dead-letter stream. The copy gets a fresh
// Nats-Msg-Id so the original stream does not drop it as a duplicate, but
// keeps Ce-Id: every consumer of that subject sees the event again, and
// their inboxes skip it where it was already handled.
func replay(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, raw *jetstream.RawStreamMsg) error {
	original := raw.Header.Get(HeaderDeadLetterSubject)
	if original == "" {
		return fmt.Errorf("dead letter %d has no %s header", raw.Sequence, HeaderDeadLetterSubject)
	}
	m := nats.NewMsg(original)
	m.Data = raw.Data
	for k, v := range raw.Header {
		if strings.HasPrefix(k, "Guanxi-Dlq-") || strings.HasPrefix(k, "Nats-") {
			continue
		}
		m.Header[k] = append([]string(nil), v...)
	}
	msgID := uuid.NewString()
	m.Header.Set(HeaderMsgID, msgID)
	if _, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("replay dead letter %d: publish to %s: %w", raw.Sequence, original, err)
	}
	if err := stream.DeleteMsg(ctx, raw.Sequence); err != nil {
		return fmt.Errorf("replay dead letter %d: delete: %w", raw.Sequence, err)
	}
	return nil
}
