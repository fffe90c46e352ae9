package suite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// TestNATSIsNoOpenDoor: the dev suite's NATS refuses a client without
// credentials or with wrong ones; the integration's credential publishes
// ingest events only, and an event is recorded (and credits points) only
// when it carries an identity allowed to ingest; a service's credential
// publishes to its own stream only.
func TestNATSIsNoOpenDoor(t *testing.T) {
	dataDir := t.TempDir()
	e, stop := startSuite(t, dataDir)
	defer stop()
	api := adminClient(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// No credential, a guessed token or password, an unknown key: refused.
	strangerFile := filepath.Join(t.TempDir(), "stranger.nk")
	if _, err := natsembed.KeepSeed(strangerFile); err != nil {
		t.Fatal(err)
	}
	stranger, err := nats.NkeyOptionFromSeed(strangerFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]nats.Option{
		"no credential":  func(*nats.Options) error { return nil },
		"guessed token":  nats.Token("guanxi"),
		"guessed secret": nats.UserInfo(suite.IntegrationNATSUser, "guanxi"),
		"unknown key":    stranger,
	} {
		if nc, err := nats.Connect(e.NATS, opt, nats.MaxReconnects(0)); err == nil {
			nc.Close()
			t.Errorf("%s: connected to the dev suite's NATS", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want an authorization violation", name, err)
		}
	}

	// The integration's credential, kept in the data dir, connects.
	if e.NATSSeedFile != filepath.Join(dataDir, suite.NATSUsersDir, suite.IntegrationNATSUser+".nk") {
		t.Errorf("integration seed file = %q", e.NATSSeedFile)
	}
	integration, errs := connectNATS(t, e.NATS, e.NATSSeedFile, e.NATSInboxPrefix)
	js, err := jetstream.New(integration)
	if err != nil {
		t.Fatal(err)
	}
	// It may not forge the events services publish, such as the purchase
	// event that loyalty credits points for.
	mustBeRefused(t, integration, errs, interactionv1.SubjectPurchaseRecorded)
	mustBeRefused(t, integration, errs, "loyalty.points.earned")

	// An integration trades its API key for a token, which each event
	// carries.
	key := api.mustDo("POST", "/v1/apiKeys", `{"name":"call center","subject":"cc-1","roles":["integration"]}`)["key"].(string)
	token := api.mustDo("POST", "/v1/apiKeys:exchange", `{"key":"`+key+`"}`)["token"].(string)
	agentToken := testinfra.Token(t, e.Auth, auth.Identity{Subject: "agent-1", Roles: []auth.Role{auth.Agent}})

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"韩梅梅","email":"hmm@example.com"}`)["id"].(string)
	reply := integration.NewRespInbox()
	sub, err := integration.SubscribeSync(reply)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(externalID, authorization string) {
		t.Helper()
		ev := &interactionv1.IngestEvent{Source: "pos", ExternalId: externalID, Interaction: &interactionv1.Interaction{
			CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
			Channel: interactionv1.Channel_CHANNEL_IN_PERSON, OccurTime: timestamppb.New(time.Now().Add(-time.Minute)),
			Purchase: &interactionv1.Purchase{OrderId: externalID, Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 300000}},
		}}
		msg := nats.NewMsg("ingest.pos")
		msg.Header.Set("Content-Type", "application/protobuf")
		msg.Header.Set(interactionv1.IngestReplyHeader, reply)
		if authorization != "" {
			msg.Header.Set("Authorization", authorization)
		}
		if msg.Data, err = proto.Marshal(ev); err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("integration publishes %s on ingest.pos: %v", externalID, err)
		}
	}
	// A valid NATS credential is not an identity: without a token, with a
	// bad one or with a role that may not ingest, nothing is recorded.
	publish("no-identity", "")
	publish("bad-token", "Bearer "+token+"x")
	publish("agent", "Bearer "+agentToken)
	publish("api-key", "ApiKey "+key)
	publish("integration", "Bearer "+token)
	results := map[string]*interactionv1.IngestResult{}
	for len(results) < 5 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("%d of 5 ingest results: %v", len(results), err)
		}
		var r interactionv1.IngestResult
		if err := proto.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		results[r.GetExternalId()] = &r
	}
	for _, refused := range []string{"no-identity", "bad-token", "agent", "api-key"} {
		if r := results[refused]; r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_REJECTED || r.GetField() != "authorization" {
			t.Errorf("%s: %v, want rejected on authorization", refused, r)
		}
	}
	if r := results["integration"]; r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED {
		t.Fatalf("integration's purchase: %v, want created", r)
	}
	// The one purchase, 3,000.00 CNY, credits 3,000 points in the default
	// program, and is the only one in the timeline.
	testinfra.Eventually(t, 10*time.Second, "points for the integration's purchase", func() bool {
		_, acct := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", "")
		return acct["pointsBalance"] == "3000"
	})
	timeline, _ := api.mustDo("GET", "/v1/customers/"+id+"/interactions", "")["interactions"].([]any)
	if len(timeline) != 1 || timeline[0].(map[string]any)["sourceId"] != "integration" {
		t.Errorf("timeline = %v, want only the integration's purchase", timeline)
	}

	// A service's credential publishes to its own stream only.
	loyalty, lerrs := connectNATS(t, e.NATS, filepath.Join(dataDir, suite.NATSUsersDir, "loyalty.nk"), natsembed.InboxPrefix("loyalty"))
	for _, subject := range []string{"ingest.pos", interactionv1.SubjectPurchaseRecorded, "customer.customer.created"} {
		mustBeRefused(t, loyalty, lerrs, subject)
	}
	if _, err := loyalty.SubscribeSync(e.NATSInboxPrefix + ".>"); err == nil {
		if err := loyalty.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := waitErr(lerrs); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("loyalty reads the integration's inbox: %v, want a permission violation", err)
		}
	}
}

// connectNATS connects with the NKey seed in seedFile; the server's async
// errors (permission violations) go to the channel returned.
func connectNATS(t *testing.T, url, seedFile, inboxPrefix string) (*nats.Conn, <-chan error) {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect(url, opt, nats.CustomInboxPrefix(inboxPrefix), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect with %s: %v", seedFile, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// mustBeRefused publishes on subject and wants the server to refuse it.
func mustBeRefused(t *testing.T, nc *nats.Conn, errs <-chan error, subject string) {
	t.Helper()
	if err := nc.Publish(subject, []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(errs); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("publish on %s: %v, want a permission violation", subject, err)
	}
}

func waitErr(errs <-chan error) error {
	select {
	case err := <-errs:
		return err
	case <-time.After(5 * time.Second):
		return fmt.Errorf("no error within 5s")
	}
}
