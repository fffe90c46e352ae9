package suite_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/eventscli"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// TestEventTools: `guanxi events tail` prints a purchase's event as JSON
// within a second of the purchase; a purchase event loyalty gave up on
// (a dead letter) is listed by `guanxi events dlq list` and, replayed with
// `guanxi events dlq replay`, credits its points.
func TestEventTools(t *testing.T) {
	dataDir := t.TempDir()
	e, stop := startSuite(t, dataDir)
	defer stop()
	api := adminClient(t, e)
	id := api.mustDo("POST", "/v1/customers", `{"displayName":"韩梅梅","email":"meimei@example.com"}`)["id"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, status := &testkit.Buffer{}, &testkit.Buffer{}
	tailed := make(chan error, 1)
	go func() { tailed <- eventscli.Run(ctx, []string{"tail", "-data", dataDir}, out, status) }()
	testinfra.Eventually(t, 10*time.Second, "tail following", func() bool { return strings.Contains(status.String(), "following") })

	api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",`+
		`"purchase":{"orderId":"POS-TAIL","total":{"currencyCode":"CNY","amountMinor":"12800"}}}`)
	recorded := time.Now()
	var line eventscli.Line
	testinfra.Eventually(t, time.Second, "the purchase event tailed", func() bool {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var l eventscli.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("tail printed %q: %v", sc.Text(), err)
			}
			if l.Subject == interactionv1.SubjectPurchaseRecorded {
				line = l
				return true
			}
		}
		return false
	})
	t.Logf("purchase event tailed %s after the purchase was answered", time.Since(recorded).Round(time.Millisecond))
	var data map[string]any
	if err := json.Unmarshal(line.Data, &data); err != nil || data["customerId"] != id || data["orderId"] != "POS-TAIL" ||
		line.Type != "guanxi.interaction.v1.PurchaseRecorded" || line.ID == "" || line.Source != "guanxi/interaction" {
		t.Errorf("tailed line = %+v (data %v, %v)", line, data, err)
	}
	cancel()
	if err := <-tailed; err != nil {
		t.Errorf("tail ended with %v", err)
	}
	testinfra.Eventually(t, 5*time.Second, "purchase points", func() bool {
		_, account := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", "")
		return account["pointsBalance"] == "128"
	})

	// A purchase of 50.00 loyalty gave up on, as its consumer dead-letters.
	eventID := deadLetterPurchase(t, e, id)
	list := &testkit.Buffer{}
	if err := eventscli.Run(context.Background(), []string{"dlq", "list", "-data", dataDir}, list, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list.String(), eventID) || !strings.Contains(list.String(), interactionv1.SubjectPurchaseRecorded) {
		t.Fatalf("dlq list =\n%s\nwant the dead letter of %s", list, eventID)
	}
	replayed := &testkit.Buffer{}
	if err := eventscli.Run(context.Background(), []string{"dlq", "replay", "-all", "-data", dataDir}, replayed, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(replayed.String(), "replayed ") {
		t.Errorf("dlq replay printed %q", replayed)
	}
	testinfra.Eventually(t, 5*time.Second, "the replayed purchase's points", func() bool {
		_, account := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", "")
		return account["pointsBalance"] == "178"
	})
	list = &testkit.Buffer{}
	if err := eventscli.Run(context.Background(), []string{"dlq", "list", "-data", dataDir}, list, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(list.String(), eventID) {
		t.Errorf("dlq list after the replay still holds %s:\n%s", eventID, list)
	}
}

// deadLetterPurchase puts a purchase of 50.00 CNY by customer id into the
// dead-letter stream as loyalty's purchases consumer would have after
// giving up on it, and returns its event id. It was never handled.
func deadLetterPurchase(t *testing.T, e suite.Endpoints, id string) string {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(e.OpsNATSSeedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(e.NATS, opt, nats.CustomInboxPrefix("_INBOX.ops"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.NewEvent(context.Background(), "guanxi/interaction", interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
		InteractionId: uuid.NewString(), CustomerId: id, OrderId: "POS-DLQ",
		Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: 5000}, OccurTime: timestamppb.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := ev.NATSMsg()
	m.Subject = events.DeadLetterSubjectPrefix + "loyalty-purchases"
	m.Header.Del(events.HeaderMsgID)
	m.Header.Set(events.HeaderDeadLetterSubject, interactionv1.SubjectPurchaseRecorded)
	m.Header.Set(events.HeaderDeadLetterConsumer, "loyalty-purchases")
	m.Header.Set(events.HeaderDeadLetterStream, interactionv1.Stream)
	m.Header.Set(events.HeaderDeadLetterReason, "handler: customer service unavailable")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}
