package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestConsumeResubscribes: when its durable consumer disappears under it
// (deleted, or lost with the only node that held it), Consume makes it
// again and goes on delivering, instead of waiting forever on a consume
// loop that ended.
func TestConsumeResubscribes(t *testing.T) {
	t.Parallel()
	b := newBus(t, testinfra.EmbeddedNATS(t))
	handled := make(chan string, 16)
	runInBackground(t, func(ctx context.Context) error {
		return events.Consume(ctx, b.js, events.ConsumerConfig{Stream: b.stream, Durable: "phoenix"},
			func(_ context.Context, m events.Message) error { handled <- m.Subject; return nil }, nil)
	})
	wait := func(subject string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case got := <-handled:
				if got == subject {
					return
				}
			case <-deadline:
				t.Fatalf("%s not handled within 15s", subject)
			}
		}
	}
	ctx := context.Background()
	if err := events.Publish(ctx, b.js, newEvent(t, ctx, b.subject+".before", "1")); err != nil {
		t.Fatal(err)
	}
	wait(b.subject + ".before")
	if err := b.js.DeleteConsumer(ctx, b.stream, "phoenix"); err != nil {
		t.Fatal(err)
	}
	if err := events.Publish(ctx, b.js, newEvent(t, ctx, b.subject+".after", "2")); err != nil {
		t.Fatal(err)
	}
	wait(b.subject + ".after")
}
