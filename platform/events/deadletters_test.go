package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestListAndReplayOneDeadLetter: the dead letters list with what an
// operator needs (consumer, subject, reason, event id), and replaying one
// by its sequence hands that event, and only it, back to its consumer.
func TestListAndReplayOneDeadLetter(t *testing.T) {
	t.Parallel()
	f := startConsumer(t, testinfra.EmbeddedNATS(t), 5, func(events.Message) error {
		return events.Permanent(errors.New("cannot decode payload"))
	})
	first := f.publish(t, "survey.answered")
	second := f.publish(t, "survey.expired")
	f.next(t)
	f.next(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dls []events.DeadLetter
	waitFor(t, func() bool {
		var err error
		dls, err = events.ListDeadLetters(ctx, f.js)
		return err == nil && len(dls) == 2
	})
	byID := map[string]events.DeadLetter{}
	for _, dl := range dls {
		byID[dl.EventID] = dl
	}
	dl, ok := byID[first.ID]
	if !ok {
		t.Fatalf("dead letters %+v miss event %s", dls, first.ID)
	}
	if dl.Consumer != f.durable || dl.Subject != first.Subject || dl.Stream != f.stream ||
		dl.Reason != "permanent: cannot decode payload" || dl.Seq == 0 || string(dl.Data) != string(first.Payload) {
		t.Errorf("dead letter = %+v", dl)
	}

	f.fail.Store(succeed)
	if err := events.ReplayDeadLetter(ctx, f.js, dl.Seq); err != nil {
		t.Fatal(err)
	}
	if d := f.next(t); d.msg.ID != first.ID {
		t.Fatalf("replayed %s, want %s", d.msg.ID, first.ID)
	}
	left, err := events.ListDeadLetters(ctx, f.js)
	if err != nil || len(left) != 1 || left[0].EventID != second.ID {
		t.Fatalf("left after replaying one: %+v, %v; want only %s", left, err, second.ID)
	}
	if err := events.ReplayDeadLetter(ctx, f.js, dl.Seq); err == nil {
		t.Error("replaying a dead letter twice succeeded")
	}
}
