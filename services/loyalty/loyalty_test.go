package loyalty_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
)

// harness is one running loyalty service with its broker.
type harness struct {
	client loyaltyv1.LoyaltyServiceClient
	js     jetstream.JetStream
}

// start boots Run on SQLite in a temp dir and an embedded JetStream, after
// creating the streams the service consumes (as the customer and
// interaction services would).
func start(t *testing.T, cfg loyalty.Config) harness {
	t.Helper()
	return startOn(t, cfg, "sqlite://"+filepath.Join(t.TempDir(), "loyalty.db"), testinfra.EmbeddedNATS(t))
}

// startOn boots Run on the database at dbURL and the JetStream at natsURL.
func startOn(t *testing.T, cfg loyalty.Config, dbURL, natsURL string) harness {
	t.Helper()
	js := connect(t, natsURL)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = dbURL
	cfg.NATSURL = natsURL
	cfg.Listener = lis
	cfg.Auth = testinfra.AuthConfig(t)
	testinfra.Background(t, func(ctx context.Context) error {
		return loyalty.Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})

	conn, err := grpcclient.Dial(lis.Addr().String(), testinfra.CallAsService(t, cfg.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return harness{client: loyaltyv1.NewLoyaltyServiceClient(conn), js: js}
}

// connect connects to natsURL and creates the streams the service consumes.
func connect(t *testing.T, natsURL string) jetstream.JetStream {
	t.Helper()
	nc, js, err := platformevents.Connect(natsURL, "loyalty-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	for _, s := range []struct{ name, subjects string }{
		{customerv1.Stream, customerv1.StreamSubjects},
		{interactionv1.Stream, interactionv1.StreamSubjects},
	} {
		if err := platformevents.EnsureStream(ctx, js, s.name, s.subjects); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

func defaultConfig(t *testing.T) loyalty.Config {
	t.Helper()
	cfg, err := loyalty.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// publish puts msg on subject as a relay would; ceID is the event id
// consumers de-duplicate on, msgID the one JetStream de-duplicates on.
func (h harness) publish(t *testing.T, subject, ceID, msgID string, msg proto.Message) {
	t.Helper()
	testinfra.PublishEvent(t, h.js, subject, msg, ceID, msgID)
}

func (h harness) publishPurchase(t *testing.T, ceID, msgID, customerID, interactionID string, total *typev1.Money) {
	t.Helper()
	h.publish(t, interactionv1.SubjectPurchaseRecorded, ceID, msgID, &interactionv1.PurchaseRecorded{
		InteractionId: interactionID,
		CustomerId:    customerID,
		Total:         total,
	})
}

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// balanceReaches waits for the account to show want points and returns the
// last account seen.
func (h harness) balanceReaches(t *testing.T, customerID string, want int64) *loyaltyv1.LoyaltyAccount {
	t.Helper()
	var last *loyaltyv1.LoyaltyAccount
	var lastErr error
	ok := eventually(t, 10*time.Second, func() bool {
		resp, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: customerID})
		if err != nil {
			lastErr = err
			return false
		}
		last = resp.GetAccount()
		return last.GetPointsBalance() == want
	})
	if !ok {
		t.Fatalf("balance never reached %d: last account %v, last error %v", want, last, lastErr)
	}
	return last
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func cny(minor int64) *typev1.Money { return &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor} }

func TestGetLoyaltyAccountErrors(t *testing.T) {
	h := start(t, defaultConfig(t))
	ctx := context.Background()
	for _, id := range []string{"", "not-a-uuid"} {
		_, err := h.client.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: id})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("GetLoyaltyAccount(%q) code = %v, want InvalidArgument", id, status.Code(err))
		}
		vs := rpcerr.Violations(err)
		if len(vs) != 1 || vs[0].Field != "customer_id" {
			t.Fatalf("GetLoyaltyAccount(%q) violations = %v, want one on customer_id", id, vs)
		}
	}
	unknown := newID(t)
	_, err := h.client.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: unknown})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown customer code = %v, want NotFound", status.Code(err))
	}
	if want := "loyalty account for customer " + unknown + " not found"; status.Convert(err).Message() != want {
		t.Fatalf("message = %q, want %q", status.Convert(err).Message(), want)
	}
}

func TestPurchaseCreditsPointsInRealTime(t *testing.T) {
	h := start(t, defaultConfig(t))
	customerID := newID(t)
	createdID := newID(t)
	h.publish(t, customerv1.SubjectCustomerCreated, createdID, createdID,
		&customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: customerID}})
	var opened *loyaltyv1.LoyaltyAccount
	if !eventually(t, 10*time.Second, func() bool {
		resp, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: customerID})
		opened = resp.GetAccount()
		return err == nil
	}) {
		t.Fatal("customer created event did not open an account")
	}
	if opened.GetTier() != loyaltyv1.Tier_TIER_NORMAL || opened.GetPointsBalance() != 0 {
		t.Fatalf("opened account = %v, want NORMAL with 0 points", opened)
	}

	interactionID := newID(t)
	purchaseID := newID(t)
	h.publishPurchase(t, purchaseID, purchaseID, customerID, interactionID, cny(12850))
	acc := h.balanceReaches(t, customerID, 128)
	if acc.GetLifetimePoints() != 128 || acc.GetTier() != loyaltyv1.Tier_TIER_NORMAL || acc.GetCustomerId() != customerID {
		t.Fatalf("account = %v, want 128 lifetime points, NORMAL", acc)
	}

	// The credit reaches the bus through the outbox relay.
	stream, err := h.js.Stream(context.Background(), loyaltyv1.Stream)
	if err != nil {
		t.Fatalf("loyalty stream: %v", err)
	}
	var earned loyaltyv1.PointsEarned
	if !eventually(t, 10*time.Second, func() bool {
		raw, err := stream.GetLastMsgForSubject(context.Background(), loyaltyv1.SubjectPointsEarned)
		return err == nil && proto.Unmarshal(raw.Data, &earned) == nil
	}) {
		t.Fatal("no loyalty.points.earned event was published")
	}
	want := &loyaltyv1.PointsEarned{CustomerId: customerID, Points: 128, PointsBalance: 128, InteractionId: interactionID,
		ProgramId: defaultConfig(t).DefaultProgramID, Cause: "purchase:" + interactionID}
	if !proto.Equal(&earned, want) {
		t.Fatalf("points earned = %v, want %v", &earned, want)
	}
}

func TestPurchaseReachingThresholdPublishesTierChanged(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.VIPThreshold = 100
	h := start(t, cfg)
	customerID := newID(t)
	// No created event: the purchase opens the account itself.
	id := newID(t)
	h.publishPurchase(t, id, id, customerID, newID(t), cny(12850))
	acc := h.balanceReaches(t, customerID, 128)
	if acc.GetTier() != loyaltyv1.Tier_TIER_VIP {
		t.Fatalf("tier = %v, want VIP at 128 lifetime points with threshold 100", acc.GetTier())
	}
	stream, err := h.js.Stream(context.Background(), loyaltyv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var changed loyaltyv1.TierChanged
	if !eventually(t, 10*time.Second, func() bool {
		raw, err := stream.GetLastMsgForSubject(context.Background(), loyaltyv1.SubjectTierChanged)
		return err == nil && proto.Unmarshal(raw.Data, &changed) == nil
	}) {
		t.Fatal("no loyalty.tier.changed event was published")
	}
	want := &loyaltyv1.TierChanged{CustomerId: customerID, OldTier: loyaltyv1.Tier_TIER_NORMAL, NewTier: loyaltyv1.Tier_TIER_VIP,
		ProgramId: cfg.DefaultProgramID, OldTierCode: "normal", NewTierCode: "vip", NewTierName: "VIP"}
	if !proto.Equal(&changed, want) {
		t.Fatalf("tier changed = %v, want %v", &changed, want)
	}
}

// TestReplayedPurchaseEventCreditsOnce is the acceptance test:
// "Replaying the same purchase event (same event id) twice credits points
// once".
func TestReplayedPurchaseEventCreditsOnce(t *testing.T) {
	h := start(t, defaultConfig(t))
	customerID := newID(t)
	eventID := newID(t)
	interactionID := newID(t)

	// The same event twice, each with its own Nats-Msg-Id so JetStream's
	// duplicate window does not hide the replay: this is what a replay after
	// the window (or from the dead-letter stream) looks like.
	h.publishPurchase(t, eventID, newID(t), customerID, interactionID, cny(12850))
	h.publishPurchase(t, eventID, newID(t), customerID, interactionID, cny(12850))

	// A third, different purchase behind them on the same durable consumer:
	// once its points show, the replay before it has been handled.
	third := newID(t)
	h.publishPurchase(t, third, third, customerID, newID(t), cny(1000))

	acc := h.balanceReaches(t, customerID, 128+10)
	if acc.GetLifetimePoints() != 138 {
		t.Fatalf("lifetime points = %d, want 138 (the replayed 128 once, plus 10)", acc.GetLifetimePoints())
	}

	// And the stream really held all three messages.
	info, err := h.js.Stream(context.Background(), interactionv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("interaction stream holds %d messages, want 3", n)
	}
}

func TestRunFailsOnBadConfig(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.DatabaseURL = "mysql://nope"
	err := loyalty.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("Run with an unsupported database url returned nil")
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a configuration error", err)
	}
}
