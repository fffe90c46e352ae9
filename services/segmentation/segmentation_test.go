package segmentation_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation"
)

type harness struct {
	client segmentationv1.SegmentationServiceClient
	js     jetstream.JetStream
}

// start boots Run on SQLite and embedded JetStream and returns a client.
func start(t *testing.T) harness {
	t.Helper()
	return startOn(t, "sqlite://"+filepath.Join(t.TempDir(), "segmentation.db"), testinfra.EmbeddedNATS(t))
}

// startOn boots Run on the database at dbURL and the JetStream at natsURL.
func startOn(t *testing.T, dbURL, natsURL string) harness {
	t.Helper()
	js := connect(t, natsURL)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := segmentation.Config{
		DatabaseURL:  dbURL,
		Broker:       servicehost.Broker{NATSURL: natsURL},
		Currency:     "CNY",
		ClassACutoff: 0.7,
		ClassBCutoff: 0.9,
		Window:       8760 * time.Hour,
		Listener:     lis,
		Auth:         testinfra.AuthConfig(t),
	}
	testinfra.Background(t, func(ctx context.Context) error {
		return segmentation.Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAsService(t, cfg.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return harness{client: segmentationv1.NewSegmentationServiceClient(conn), js: js}
}

// connect connects to natsURL and creates the producers' streams: they
// exist before segmentation starts, as they do once the suite has run;
// SEGMENTATION is also ensured by Run.
func connect(t *testing.T, natsURL string) jetstream.JetStream {
	t.Helper()
	nc, js, err := events.Connect(natsURL, "segmentation-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	for name, subjects := range map[string]string{
		customerv1.Stream:     customerv1.StreamSubjects,
		interactionv1.Stream:  interactionv1.StreamSubjects,
		segmentationv1.Stream: segmentationv1.StreamSubjects,
	} {
		if err := events.EnsureStream(ctx, js, name, subjects); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

// publish sends msg as an event with the headers producers set.
func (h harness) publish(t *testing.T, subject string, msg proto.Message) {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	h.publishWithID(t, id.String(), subject, msg)
}

func (h harness) publishWithID(t *testing.T, id, subject string, msg proto.Message) {
	t.Helper()
	testinfra.PublishEvent(t, h.js, subject, msg, id, id)
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func purchaseEvent(interactionID, customerID string, minor int64, at time.Time) *interactionv1.PurchaseRecorded {
	return &interactionv1.PurchaseRecorded{
		InteractionId: interactionID,
		CustomerId:    customerID,
		Total:         &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor},
		OccurTime:     timestamppb.New(at),
	}
}

func TestServiceRanksCustomersFromEvents(t *testing.T) {
	h := start(t)
	ctx := context.Background()

	// Subscribe to segmentation's own events before any can be published.
	changes, err := h.js.OrderedConsumer(ctx, segmentationv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{segmentationv1.SubjectCustomerClassChanged},
	})
	if err != nil {
		t.Fatal(err)
	}

	a, b, c, idle := newID(t), newID(t), newID(t), newID(t)
	for _, id := range []string{a, b, c, idle} {
		h.publish(t, customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{
			Customer: &customerv1.Customer{Id: id, CreateTime: timestamppb.Now()},
		})
	}
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	aPurchase := purchaseEvent(newID(t), a, 7000, at)
	aEventID := newID(t)
	h.publishWithID(t, aEventID, interactionv1.SubjectPurchaseRecorded, aPurchase)
	h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), b, 2000, at))
	// The same purchase again, under a new event id: stored once.
	h.publish(t, interactionv1.SubjectPurchaseRecorded, aPurchase)
	h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), c, 1000, at))

	// Purchases are handled in stream order, so once c's shows, a's
	// duplicate has been handled too. Customer events flow through their
	// own consumer, so the idle customer is waited for separately.
	testinfra.Eventually(t, 10*time.Second, "c's purchase to be ranked", func() bool {
		resp, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: c})
		return err == nil && resp.GetValue().GetPurchaseCount() == 1
	})
	testinfra.Eventually(t, 10*time.Second, "the idle customer to be registered", func() bool {
		_, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: idle})
		return err == nil
	})

	// 7000 / 2000 / 1000 of 10000: above b is exactly 70% (B), above c
	// exactly 90% (C).
	for _, tt := range []struct {
		id    string
		class segmentationv1.AbcClass
		spend int64
		share float64
	}{
		{a, segmentationv1.AbcClass_ABC_CLASS_A, 7000, 0},
		{b, segmentationv1.AbcClass_ABC_CLASS_B, 2000, 0.7},
		{c, segmentationv1.AbcClass_ABC_CLASS_C, 1000, 0.9},
		{idle, segmentationv1.AbcClass_ABC_CLASS_C, 0, 1},
	} {
		resp, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: tt.id})
		if err != nil {
			t.Fatalf("GetCustomerValue(%s): %v", tt.id, err)
		}
		v := resp.GetValue()
		if v.GetAbcClass() != tt.class || v.GetTrailingSpend().GetAmountMinor() != tt.spend ||
			v.GetTrailingSpend().GetCurrencyCode() != "CNY" || v.GetLifetimeSpend().GetAmountMinor() != tt.spend ||
			v.GetRevenueShareAbove() != tt.share || v.GetComputeTime() == nil {
			t.Errorf("value of %s = %v, want class %v spend %d share %v", tt.id, v, tt.class, tt.spend, tt.share)
		}
		if tt.spend > 0 && (v.GetPurchaseCount() != 1 || !v.GetFirstPurchaseTime().AsTime().Equal(at) || !v.GetLastPurchaseTime().AsTime().Equal(at)) {
			t.Errorf("history of %s = %v, want one purchase at %v", tt.id, v, at)
		}
		if tt.spend == 0 && (v.GetPurchaseCount() != 0 || v.GetFirstPurchaseTime() != nil) {
			t.Errorf("history of %s = %v, want none", tt.id, v)
		}
	}

	// a's purchase took a from C to A; b's took b from C to B (7000 of
	// 9000 above it then); c's left c in C, so it announced nothing.
	want := map[string]*segmentationv1.CustomerClassChanged{
		a: {CustomerId: a, OldClass: segmentationv1.AbcClass_ABC_CLASS_C, NewClass: segmentationv1.AbcClass_ABC_CLASS_A},
		b: {CustomerId: b, OldClass: segmentationv1.AbcClass_ABC_CLASS_C, NewClass: segmentationv1.AbcClass_ABC_CLASS_B},
	}
	fetchCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range len(want) {
		msg, err := changes.Next(jetstream.FetchContext(fetchCtx))
		if err != nil {
			t.Fatalf("waiting for class_changed: %v", err)
		}
		var got segmentationv1.CustomerClassChanged
		if err := proto.Unmarshal(msg.Data(), &got); err != nil {
			t.Fatal(err)
		}
		if w, ok := want[got.GetCustomerId()]; !ok || !proto.Equal(&got, w) {
			t.Fatalf("class_changed %v, want one of %v", &got, want)
		}
		if msg.Headers().Get(events.HeaderType) != "guanxi.segmentation.v1.CustomerClassChanged" {
			t.Errorf("Ce-Type = %q", msg.Headers().Get(events.HeaderType))
		}
		delete(want, got.GetCustomerId())
	}
}

func TestGetCustomerValueErrors(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	tests := []struct {
		id   string
		code codes.Code
	}{
		{"", codes.InvalidArgument},
		{"not-a-uuid", codes.InvalidArgument},
		{newID(t), codes.NotFound},
	}
	for _, tt := range tests {
		_, err := h.client.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: tt.id})
		if status.Code(err) != tt.code {
			t.Errorf("GetCustomerValue(%q) = %v, want %v", tt.id, err, tt.code)
		}
	}
}

func TestRunRejectsBadCutoffs(t *testing.T) {
	cfg := segmentation.Config{
		DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "x.db"),
		Broker:      servicehost.Broker{NATSURL: "nats://127.0.0.1:1"}, Currency: "CNY",
		ClassACutoff: 0.9, ClassBCutoff: 0.7, Window: time.Hour,
	}
	err := segmentation.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "cut-offs") {
		t.Fatalf("Run with A > B = %v, want a cut-offs error", err)
	}
}

// TestRunRejectsUnknownTimeZone: a zone that is not an IANA name stops the
// service at start, naming the setting, before any day is bucketed in it.
func TestRunRejectsUnknownTimeZone(t *testing.T) {
	for _, zone := range []string{"Asia/Shanghia", "Local", "+08:00"} {
		cfg := segmentation.Config{
			DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "x.db"),
			Broker:      servicehost.Broker{NATSURL: "nats://127.0.0.1:1"}, Currency: "CNY",
			ClassACutoff: 0.7, ClassBCutoff: 0.9, Window: time.Hour, TimeZone: zone,
		}
		err := segmentation.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), "GUANXI_SEGMENTATION_TIME_ZONE") {
			t.Errorf("Run with time zone %q = %v, want an error naming GUANXI_SEGMENTATION_TIME_ZONE", zone, err)
		}
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	def, err := config.LoadFrom[segmentation.Config](segmentation.EnvPrefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.GRPCAddr != "127.0.0.1:7104" || def.Currency != "CNY" || def.ClassACutoff != 0.7 ||
		def.ClassBCutoff != 0.9 || def.Window != 8760*time.Hour || def.TimeZone != "Asia/Shanghai" {
		t.Errorf("defaults = %+v", def)
	}
	got, err := config.LoadFrom[segmentation.Config](segmentation.EnvPrefix, map[string]string{
		"GUANXI_SEGMENTATION_CURRENCY":     "USD",
		"GUANXI_SEGMENTATION_ABC_A_CUTOFF": "0.5",
		"GUANXI_SEGMENTATION_ABC_B_CUTOFF": "0.8",
		"GUANXI_SEGMENTATION_ABC_WINDOW":   "720h",
		"GUANXI_SEGMENTATION_TIME_ZONE":    "Europe/Berlin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Currency != "USD" || got.ClassACutoff != 0.5 || got.ClassBCutoff != 0.8 || got.Window != 720*time.Hour || got.TimeZone != "Europe/Berlin" {
		t.Errorf("from environment = %+v", got)
	}
}
