package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/ports/events"
)

// flakyIngester fails its first failures batches, blocks while blocked is
// set (as a database that hangs would), rejects events whose external id
// starts with "bad-", and counts the events of every batch that succeeded.
type flakyIngester struct {
	mu       sync.Mutex
	failures int
	blocked  bool
	calls    int
	recorded map[string]int
}

func (f *flakyIngester) Ingest(ctx context.Context, evs []domain.IngestEvent) ([]domain.IngestResult, error) {
	f.mu.Lock()
	f.calls++
	if f.blocked {
		f.mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.failures > 0 {
		f.failures--
		f.mu.Unlock()
		return nil, errors.New("database unavailable")
	}
	defer f.mu.Unlock()
	results := make([]domain.IngestResult, len(evs))
	for i, ev := range evs {
		f.recorded[ev.ExternalID]++
		results[i] = domain.IngestResult{Source: ev.Source, ExternalID: ev.ExternalID, Outcome: domain.OutcomeCreated}
		if strings.HasPrefix(ev.ExternalID, "bad-") {
			results[i].Outcome, results[i].Reason = domain.OutcomeRejected, "bad"
		}
	}
	return results, nil
}

func (f *flakyIngester) snapshot() (calls int, recorded map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recorded = make(map[string]int, len(f.recorded))
	for k, v := range f.recorded {
		recorded[k] = v
	}
	return f.calls, recorded
}

// allowAll admits every publisher: these tests are about batching and
// redelivery; who may ingest is the service's test (ingest_test.go).
func allowAll(context.Context, string, time.Time) error { return nil }

// publishIngest publishes n events, every third as JSON, the rest as
// protobuf, every tenth rejected by flakyIngester, all with reply.
func publishIngest(t *testing.T, js jetstream.JetStream, n int, reply string) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("call-%05d", i)
		if i%10 == 0 {
			ids[i] = fmt.Sprintf("bad-%05d", i)
		}
		ev := &interactionv1.IngestEvent{Source: "test", ExternalId: ids[i], Phone: "+8613900000000"}
		m := nats.NewMsg("ingest.test")
		m.Header.Set(interactionv1.IngestReplyHeader, reply)
		var err error
		if i%3 == 0 {
			m.Header.Set("Content-Type", "application/json")
			m.Data, err = protojson.Marshal(ev)
		} else {
			m.Header.Set("Content-Type", "application/protobuf")
			m.Data, err = proto.Marshal(ev)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatal(err)
		}
		// In windows, so that a busy machine slows the publisher down
		// instead of failing it with too many unacknowledged messages.
		if (i+1)%1000 == 0 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				t.Fatal("publish did not complete")
			}
		}
	}
	return ids
}

// waitConsumer waits until the ingest consumer (and so its stream)
// exists.
func waitConsumer(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	testinfra.Eventually(t, 10*time.Second, "the ingest consumer", func() bool {
		_, err := js.Consumer(context.Background(), interactionv1.IngestStream, events.IngestDurable)
		return err == nil
	})
}

// ingestDone reports whether the ingest consumer has no message left to
// deliver and none waiting for an ack.
func ingestDone(t *testing.T, js jetstream.JetStream) bool {
	t.Helper()
	cons, err := js.Consumer(context.Background(), interactionv1.IngestStream, events.IngestDurable)
	if err != nil {
		return false
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0
}

// TestIngestConsumerRedeliversFailedBatches checks that batches that fail
// are delivered again until they succeed, that every event, rejected ones
// included, is acked after its one successful batch and never delivered
// again, and that each gets its result on the reply subject.
func TestIngestConsumerRedeliversFailedBatches(t *testing.T) {
	nc, js, err := platformevents.Connect(testinfra.EmbeddedNATS(t), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	replies := make(chan *interactionv1.IngestResult, 10_000)
	reply := nats.NewInbox()
	sub, err := nc.Subscribe(reply, func(m *nats.Msg) {
		var r interactionv1.IngestResult
		if err := proto.Unmarshal(m.Data, &r); err == nil {
			replies <- &r
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}

	ing := &flakyIngester{failures: 3, recorded: map[string]int{}}
	c := events.IngestConsumer{JS: js, NC: nc, Uc: ing, Workers: 3, RetryDelay: 50 * time.Millisecond, Authorize: allowAll,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	testinfra.Background(t, c.Run)
	waitConsumer(t, js)
	ids := publishIngest(t, js, 5000, reply)
	testinfra.Eventually(t, 30*time.Second, "every event acked", func() bool { return ingestDone(t, js) })

	calls, recorded := ing.snapshot()
	if calls < 4 {
		t.Errorf("Ingest called %d times, want the 3 failed batches and at least one more", calls)
	}
	for _, id := range ids {
		if n := recorded[id]; n != 1 {
			t.Errorf("event %s recorded by %d successful batches, want 1", id, n)
		}
	}
	if len(recorded) != len(ids) {
		t.Errorf("%d events recorded, want %d", len(recorded), len(ids))
	}
	got := map[string]*interactionv1.IngestResult{}
	deadline := time.After(10 * time.Second)
	for len(got) < len(ids) {
		select {
		case r := <-replies:
			got[r.GetExternalId()] = r
		case <-deadline:
			t.Fatalf("%d of %d results on the reply subject", len(got), len(ids))
		}
	}
	for _, id := range ids {
		want := interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED
		if strings.HasPrefix(id, "bad-") {
			want = interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED
		}
		if got[id].GetOutcome() != want {
			t.Errorf("event %s: outcome %v, want %v", id, got[id].GetOutcome(), want)
		}
	}
}

// TestIngestConsumerStopLosesNothing stops a consumer whose batches hang
// and starts another: every event is recorded by the second one, long
// before the messages' ack wait would have expired.
func TestIngestConsumerStopLosesNothing(t *testing.T) {
	nc, js, err := platformevents.Connect(testinfra.EmbeddedNATS(t), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	hung := &flakyIngester{blocked: true, recorded: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- events.IngestConsumer{JS: js, NC: nc, Uc: hung, Workers: 2, RetryDelay: 50 * time.Millisecond, Logger: logger, Authorize: allowAll}.Run(ctx)
	}()
	waitConsumer(t, js)
	ids := publishIngest(t, js, 10_000, nats.NewInbox())
	// Both workers hold a batch and the fetcher a third.
	testinfra.Eventually(t, 10*time.Second, "the hung consumer to take batches", func() bool {
		calls, _ := hung.snapshot()
		return calls == 2
	})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v on shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of shutdown")
	}

	ing := &flakyIngester{recorded: map[string]int{}}
	testinfra.Background(t, events.IngestConsumer{JS: js, NC: nc, Uc: ing, Logger: logger, Authorize: allowAll}.Run)
	testinfra.Eventually(t, 20*time.Second, "every event acked", func() bool { return ingestDone(t, js) })
	_, recorded := ing.snapshot()
	for _, id := range ids {
		if recorded[id] != 1 {
			t.Errorf("event %s recorded %d times after the restart, want 1", id, recorded[id])
		}
	}
}

func benchIngestEvent() *interactionv1.IngestEvent {
	return &interactionv1.IngestEvent{Source: "genesys", ExternalId: "call-000000042", Phone: "+8613900000042",
		Interaction: &interactionv1.Interaction{
			Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Channel: interactionv1.Channel_CHANNEL_CALL_CENTER,
			Direction: interactionv1.Direction_DIRECTION_INBOUND, AgentId: "agent-042",
			OccurTime: timestamppb.New(time.Unix(1700000000, 0)), Summary: "客户来电咨询订单配送进度",
			Details: map[string]string{"call_duration_s": "72", "queue": "orders"}}}
}

func BenchmarkDecodeIngestEvent(b *testing.B) {
	ev := benchIngestEvent()
	pb, _ := proto.Marshal(ev)
	js, _ := protojson.Marshal(ev)
	for _, c := range []struct {
		name, ct string
		data     []byte
	}{{"protobuf", "application/protobuf", pb}, {"json", "application/json", js}} {
		h := nats.Header{}
		h.Set("Content-Type", c.ct)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				events.DecodeIngestEvent(h, c.data)
			}
		})
	}
}

// TestIngestJudgesTokensAsPublished: the publisher's identity is checked as
// of the time the stream stored its message, not when the consumer reads
// it, so events accepted while the token was valid survive a consumer that
// was down for longer than a token lives.
func TestIngestJudgesTokensAsPublished(t *testing.T) {
	nc, js, err := platformevents.Connect(testinfra.EmbeddedNATS(t), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// A first consumer makes the stream and the durable, then stops: the
	// events wait in the stream.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- events.IngestConsumer{JS: js, NC: nc, Uc: &flakyIngester{recorded: map[string]int{}}, Logger: logger, Authorize: allowAll}.Run(ctx)
	}()
	waitConsumer(t, js)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ids := publishIngest(t, js, 5, nats.NewInbox())
	stream, err := js.Stream(context.Background(), interactionv1.IngestStream)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[time.Time]bool{}
	for seq := uint64(1); seq <= uint64(len(ids)); seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		stored[m.Time.UTC()] = true
	}

	var mu sync.Mutex
	var seen []time.Time
	judge := func(_ context.Context, _ string, published time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, published.UTC())
		return nil
	}
	testinfra.Background(t, events.IngestConsumer{JS: js, NC: nc, Uc: &flakyIngester{recorded: map[string]int{}}, Logger: logger, Authorize: judge}.Run)
	testinfra.Eventually(t, 20*time.Second, "every event acked", func() bool { return ingestDone(t, js) })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the authorizer was never asked")
	}
	for _, p := range seen {
		if !stored[p] {
			t.Errorf("authorized as of %s, which is no message's stored time %v", p, stored)
		}
	}
}
