package interaction_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
)

// TestIngestOverNATSNeedsIdentity: an event published on ingest.> is
// recorded only when it carries, in its Authorization header, the token of
// a caller the ingest RPCs admit (an integration here); one without a
// token, with a forged or foreign one, or with a role that may not ingest
// is answered as rejected on "authorization" and never recorded.
func TestIngestOverNATSNeedsIdentity(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)
	nc, js, err := events.Connect(svc.natsURL, "ingest-identity-test", nil)
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

	otherSecret := testinfra.AuthConfig(t)
	tests := []struct {
		id            string
		authorization string
		created       bool
	}{
		{"none", "", false},
		{"not-bearer", "ApiKey abc", false},
		{"garbage", "Bearer not.a.token", false},
		{"foreign", "Bearer " + testinfra.Token(t, otherSecret, auth.Identity{Subject: "cc", Roles: []auth.Role{auth.Integration}}), false},
		{"agent", "Bearer " + testinfra.Token(t, svc.auth, auth.Identity{Subject: "agent-1", Roles: []auth.Role{auth.Agent}}), false},
		{"analyst", "Bearer " + testinfra.Token(t, svc.auth, auth.Identity{Subject: "bi", Roles: []auth.Role{auth.Analyst}}), false},
		{"integration", svc.ingestAuth, true},
	}
	for _, tt := range tests {
		ev := &interactionv1.IngestEvent{Source: "cc", ExternalId: tt.id, Interaction: &interactionv1.Interaction{
			CustomerId: known, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL,
			Channel: interactionv1.Channel_CHANNEL_CALL_CENTER, Summary: "call " + tt.id,
		}}
		msg := nats.NewMsg("ingest.cc")
		msg.Header.Set(interactionv1.IngestReplyHeader, reply)
		msg.Header.Set("Content-Type", "application/protobuf")
		if tt.authorization != "" {
			msg.Header.Set("Authorization", tt.authorization)
		}
		if msg.Data, err = proto.Marshal(ev); err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}

	results := map[string]*interactionv1.IngestResult{}
	for len(results) < len(tests) {
		got, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("%d of %d results: %v", len(results), len(tests), err)
		}
		var r interactionv1.IngestResult
		if err := proto.Unmarshal(got.Data, &r); err != nil {
			t.Fatal(err)
		}
		results[r.GetExternalId()] = &r
	}
	for _, tt := range tests {
		r := results[tt.id]
		switch {
		case tt.created && r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED:
			t.Errorf("%s: %v, want created", tt.id, r)
		case !tt.created && (r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED || r.GetField() != "authorization"):
			t.Errorf("%s: %v, want rejected on authorization", tt.id, r)
		}
	}

	// Only the integration's event is in the timeline.
	tl, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.GetInteractions()) != 1 || tl.GetInteractions()[0].GetSummary() != "call integration" {
		t.Errorf("timeline = %v, want only the integration's call", tl.GetInteractions())
	}
	// The refused messages are done with, not waiting for redelivery.
	testinfra.Eventually(t, 10*time.Second, "every ingest message acked or terminated", func() bool {
		info, err := js.Consumer(ctx, interactionv1.IngestStream, "interaction-ingest")
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0 && ci.NumRedelivered == 0
	})
}
