package interaction_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

const (
	ingestEvents   = 10_000
	knownPhones    = 100
	unknownPhones  = 200
	knownByID      = 20
	ingestSource   = "genesys-sh"
	ingestPageSize = 1000
)

// callCenterEvents builds n call events: most name the caller by phone
// (some numbers known to the customer service, some not, written in
// several national and international forms), some name the customer.
func callCenterEvents(n int, knownIDs []string) []*interactionv1.IngestEvent {
	base := time.Now().Add(-48 * time.Hour).UTC()
	out := make([]*interactionv1.IngestEvent, n)
	for i := range out {
		in := &interactionv1.Interaction{
			Kind:      interactionv1.InteractionKind_INTERACTION_KIND_CALL,
			Channel:   interactionv1.Channel_CHANNEL_CALL_CENTER,
			Direction: interactionv1.Direction_DIRECTION_INBOUND,
			AgentId:   fmt.Sprintf("agent-%d", i%17),
			OccurTime: timestamppb.New(base.Add(time.Duration(i) * time.Second)),
			Summary:   fmt.Sprintf("来电 %d", i),
			Details:   map[string]string{"call_duration_s": fmt.Sprint(30 + i%600), "queue": "service"},
		}
		ev := &interactionv1.IngestEvent{Source: ingestSource, ExternalId: fmt.Sprintf("call-%06d", i), Interaction: in}
		switch p := i % (knownPhones + unknownPhones + knownByID); {
		case p < knownPhones+unknownPhones:
			// Chinese mobiles 139 0000 0000 + p, in three spellings.
			switch i % 3 {
			case 0:
				ev.Phone = fmt.Sprintf("+86139%08d", p)
			case 1:
				ev.Phone = fmt.Sprintf("139 %04d %04d", p/10000, p%10000)
			default:
				ev.Phone = fmt.Sprintf("0086-139-%08d", p)
			}
			ev.CallerName = fmt.Sprintf("来电客户%d", p)
		default:
			in.CustomerId = knownIDs[p-knownPhones-unknownPhones]
		}
		out[i] = ev
	}
	return out
}

// ingestPaths sends the same events over the three ways in and collects
// every result by external id.
type ingestPaths struct {
	client interactionv1.InteractionServiceClient
	js     jetstream.JetStream
	nc     *nats.Conn
	// authorization is the integration's identity on NATS.
	authorization string
}

func (p ingestPaths) stream(ctx context.Context, evs []*interactionv1.IngestEvent) ([]*interactionv1.IngestResult, error) {
	st, err := p.client.IngestEvents(ctx)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(evs); i += 700 {
		if err := st.Send(&interactionv1.IngestEventsRequest{Events: evs[i:min(i+700, len(evs))]}); err != nil {
			return nil, err
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetResults(), nil
}

func (p ingestPaths) batch(ctx context.Context, evs []*interactionv1.IngestEvent) ([]*interactionv1.IngestResult, error) {
	var out []*interactionv1.IngestResult
	for i := 0; i < len(evs); i += ingestPageSize {
		resp, err := p.client.BatchIngestEvents(ctx, &interactionv1.BatchIngestEventsRequest{Events: evs[i:min(i+ingestPageSize, len(evs))]})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetResults()...)
	}
	return out, nil
}

// viaNATS publishes each event as one message, every other one as JSON,
// and waits for the results on a reply subject.
func (p ingestPaths) viaNATS(ctx context.Context, evs []*interactionv1.IngestEvent) ([]*interactionv1.IngestResult, error) {
	reply := nats.NewInbox()
	results := make(chan *interactionv1.IngestResult, len(evs))
	sub, err := p.nc.Subscribe(reply, func(m *nats.Msg) {
		var r interactionv1.IngestResult
		if proto.Unmarshal(m.Data, &r) == nil {
			results <- &r
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	for i, ev := range evs {
		msg := nats.NewMsg("ingest." + ev.GetSource())
		msg.Header.Set(interactionv1.IngestReplyHeader, reply)
		msg.Header.Set("Authorization", p.authorization)
		if i%2 == 0 {
			msg.Header.Set("Content-Type", "application/protobuf")
			msg.Data, err = proto.Marshal(ev)
		} else {
			msg.Header.Set("Content-Type", "application/json")
			msg.Data, err = protojson.Marshal(ev)
		}
		if err != nil {
			return nil, err
		}
		if _, err := p.js.PublishMsgAsync(msg); err != nil {
			return nil, err
		}
		// In windows: with all 10,000 outstanding, a busy machine fails
		// the publisher ("stalled with too many outstanding async
		// published messages") instead of slowing it down.
		if (i+1)%1000 == 0 || i == len(evs)-1 {
			select {
			case <-p.js.PublishAsyncComplete():
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	out := make([]*interactionv1.IngestResult, 0, len(evs))
	for len(out) < len(evs) {
		select {
		case r := <-results:
			out = append(out, r)
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d results over NATS: %w", len(out), len(evs), ctx.Err())
		}
	}
	return out, nil
}

// TestIngestSameEventsThreeWaysTwice sends the same 10,000 call-center
// events over client-streaming gRPC, the batch call and NATS, all three at
// once and then each once more: exactly 10,000 interactions result, each
// event under one interaction id whichever way it came, unknown numbers
// become exactly one prospect each.
func TestIngestSameEventsThreeWaysTwice(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		fake := &fakeCustomers{}
		var knownIDs []string
		for p := range knownPhones {
			id := newUUID(t)
			fake.addPhone(fmt.Sprintf("+86139%08d", p), id)
		}
		for range knownByID {
			id := newUUID(t)
			fake.add(id)
			knownIDs = append(knownIDs, id)
		}
		svc := startServiceOn(t, startCustomers(t, fake), 10*time.Second, dbURL)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		t.Cleanup(cancel)
		nc, js, err := events.Connect(svc.natsURL, "ingest-test", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		paths := ingestPaths{client: svc.client, js: js, nc: nc, authorization: svc.ingestAuth}
		evs := callCenterEvents(ingestEvents, knownIDs)

		// The INGEST stream is the service's to create.
		testinfra.Eventually(t, 10*time.Second, "INGEST stream", func() bool {
			_, err := js.Stream(ctx, interactionv1.IngestStream)
			return err == nil
		})

		type send func(context.Context, []*interactionv1.IngestEvent) ([]*interactionv1.IngestResult, error)
		ways := []struct {
			name string
			send send
		}{{"stream", paths.stream}, {"batch", paths.batch}, {"nats", paths.viaNATS}}
		var (
			mu  sync.Mutex
			all = map[string][][]*interactionv1.IngestResult{}
		)
		collect := func(name string, res []*interactionv1.IngestResult) {
			mu.Lock()
			defer mu.Unlock()
			all[name] = append(all[name], res)
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, w := range ways {
			g.Go(func() error {
				res, err := w.send(gctx, evs)
				if err != nil {
					return fmt.Errorf("%s: %w", w.name, err)
				}
				collect(w.name, res)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		for _, w := range ways {
			res, err := w.send(ctx, evs)
			if err != nil {
				t.Fatalf("%s again: %v", w.name, err)
			}
			collect(w.name, res)
		}

		idOf := map[string]string{}
		created, prospects := 0, 0
		for _, w := range ways {
			for round, res := range all[w.name] {
				if len(res) != ingestEvents {
					t.Fatalf("%s round %d: %d results, want %d", w.name, round, len(res), ingestEvents)
				}
				for _, r := range res {
					switch r.GetOutcome() {
					case interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED:
						created++
					case interactionv1.IngestOutcome_INGEST_OUTCOME_DUPLICATE:
					default:
						t.Fatalf("%s: event %s: %v %s (%s)", w.name, r.GetExternalId(), r.GetOutcome(), r.GetReason(), r.GetField())
					}
					if r.GetProspectCreated() {
						prospects++
					}
					if prev, ok := idOf[r.GetExternalId()]; ok && prev != r.GetInteractionId() {
						t.Fatalf("event %s recorded as %s and %s", r.GetExternalId(), prev, r.GetInteractionId())
					}
					idOf[r.GetExternalId()] = r.GetInteractionId()
				}
			}
		}
		if created != ingestEvents || len(idOf) != ingestEvents {
			t.Errorf("%d created over all paths for %d distinct events, want %d", created, len(idOf), ingestEvents)
		}
		if got := fake.prospectCount(); got != unknownPhones || prospects != unknownPhones {
			t.Errorf("%d prospects created, %d reported, want %d", got, prospects, unknownPhones)
		}
		// The second round of the stream answers in order, every event a
		// duplicate.
		second := all["stream"][1]
		for i, r := range second {
			if r.GetIndex() != int32(i) || r.GetExternalId() != evs[i].GetExternalId() || r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_DUPLICATE {
				t.Fatalf("second stream result %d = %v", i, r)
			}
		}

		// The timelines hold exactly the 10,000 interactions.
		customers := map[string]bool{}
		for _, res := range all["batch"] {
			for _, r := range res {
				customers[r.GetCustomerId()] = true
			}
		}
		if len(customers) != knownPhones+unknownPhones+knownByID {
			t.Errorf("%d customers, want %d", len(customers), knownPhones+unknownPhones+knownByID)
		}
		stored := 0
		for id := range customers {
			resp, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: id, PageSize: 1000, Filter: "channel = CALL_CENTER"})
			if err != nil {
				t.Fatal(err)
			}
			stored += len(resp.GetInteractions())
		}
		if stored != ingestEvents {
			t.Errorf("%d interactions in the timelines, want %d", stored, ingestEvents)
		}
		// ... and each was announced once.
		testinfra.Eventually(t, 30*time.Second, "10,000 InteractionRecorded events", func() bool {
			st, err := js.Stream(ctx, interactionv1.Stream)
			if err != nil {
				return false
			}
			info, err := st.Info(ctx, jetstream.WithSubjectFilter(interactionv1.SubjectInteractionRecorded))
			return err == nil && info.State.Subjects[interactionv1.SubjectInteractionRecorded] == ingestEvents
		})
	})
}

// TestIngestRejections covers events that cannot be recorded: each gets a
// rejection naming the field, the rest of the batch is recorded.
func TestIngestRejections(t *testing.T) {
	known := newUUID(t)
	fake := &fakeCustomers{known: known}
	erased := newUUID(t)
	fake.erase(erased)
	svc := startService(t, startCustomers(t, fake), 3*time.Second)
	ctx := ctxTimeout(t)
	call := func() *interactionv1.Interaction {
		return &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Channel: interactionv1.Channel_CHANNEL_CALL_CENTER}
	}
	withCustomer := func(id string) *interactionv1.Interaction { in := call(); in.CustomerId = id; return in }
	tests := []struct {
		ev    *interactionv1.IngestEvent
		field string
	}{
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "ok", Interaction: withCustomer(known)}, ""},
		{&interactionv1.IngestEvent{Source: "cc", Interaction: withCustomer(known)}, "external_id"},
		{&interactionv1.IngestEvent{ExternalId: "x1", Interaction: withCustomer(known)}, "source"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x2"}, "interaction"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x3", Interaction: call()}, "phone"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x4", Phone: "not a number", Interaction: call()}, "phone"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x5", Interaction: withCustomer(newUUID(t))}, "interaction.customer_id"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x6", Interaction: withCustomer(erased)}, "interaction.customer_id"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x7", Interaction: withCustomer("C-42")}, "interaction.customer_id"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x8", Interaction: &interactionv1.Interaction{CustomerId: known, Kind: 77}}, "interaction.kind"},
		{&interactionv1.IngestEvent{Source: "cc", ExternalId: "x9", Interaction: &interactionv1.Interaction{CustomerId: known,
			OccurTime: timestamppb.New(time.Now().Add(48 * time.Hour))}}, "interaction.occur_time"},
	}
	req := &interactionv1.BatchIngestEventsRequest{}
	for _, tt := range tests {
		req.Events = append(req.Events, tt.ev)
	}
	resp, err := svc.client.BatchIngestEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCreatedCount() != 1 || resp.GetRejectedCount() != int32(len(tests)-1) {
		t.Errorf("created %d, rejected %d; want 1 and %d", resp.GetCreatedCount(), resp.GetRejectedCount(), len(tests)-1)
	}
	for i, tt := range tests {
		r := resp.GetResults()[i]
		if tt.field == "" {
			if r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED || r.GetCustomerId() != known {
				t.Errorf("event %d = %v, want created for %s", i, r, known)
			}
			continue
		}
		if r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED || r.GetField() != tt.field || r.GetReason() == "" {
			t.Errorf("event %d = %v, want rejected on %s with a reason", i, r, tt.field)
		}
	}

	// A batch over the limit is refused as a whole.
	big := &interactionv1.BatchIngestEventsRequest{Events: make([]*interactionv1.IngestEvent, 10_001)}
	for i := range big.Events {
		big.Events[i] = &interactionv1.IngestEvent{}
	}
	if _, err := svc.client.BatchIngestEvents(ctx, big); status.Code(err) != codes.InvalidArgument || !hasViolation(err, "events") {
		t.Errorf("10,001 events: %v, want InvalidArgument on events", err)
	}

	// A stream over its limit is refused once the limit is passed.
	st, err := svc.client.IngestEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	over := &interactionv1.IngestEventsRequest{Events: make([]*interactionv1.IngestEvent, 5001)}
	for i := range over.Events {
		over.Events[i] = &interactionv1.IngestEvent{}
	}
	for range 4 {
		if err := st.Send(over); err != nil {
			break
		}
	}
	if _, err := st.CloseAndRecv(); status.Code(err) != codes.InvalidArgument || !hasViolation(err, "events") {
		t.Errorf("20,004 events on one stream: %v, want InvalidArgument on events", err)
	}

	// A message on NATS that is not an event is rejected and acknowledged.
	nc, js, err := events.Connect(svc.natsURL, "ingest-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	testinfra.Eventually(t, 10*time.Second, "INGEST stream", func() bool {
		_, err := js.Stream(ctx, interactionv1.IngestStream)
		return err == nil
	})
	reply := nats.NewInbox()
	sub, err := nc.SubscribeSync(reply)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg("ingest.cc")
	msg.Header.Set(interactionv1.IngestReplyHeader, reply)
	msg.Header.Set("Authorization", svc.ingestAuth)
	msg.Data = []byte(`{"source": "cc", "externalId": 42`)
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no result for a broken message: %v", err)
	}
	var r interactionv1.IngestResult
	if err := proto.Unmarshal(got.Data, &r); err != nil {
		t.Fatal(err)
	}
	if r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED || r.GetField() != "message" {
		t.Errorf("broken message result = %v, want rejected on message", &r)
	}
}
