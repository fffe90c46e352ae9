package interaction_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/interaction"
)

// fakeCustomers is a real gRPC customer service that knows one customer
// (and those added later) and never answers for another one, slowID, so
// timeouts can be tested. Like the real one it answers a merged id with
// the survivor and an erased id with a tombstone.
type fakeCustomers struct {
	customerv1.UnimplementedCustomerServiceServer
	known, slow string

	mu       sync.Mutex
	more     map[string]bool
	mergedTo map[string]string
	erased   map[string]bool
	phoneBook
}

func (f *fakeCustomers) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.more == nil {
		f.more = map[string]bool{}
	}
	f.more[id] = true
}

func (f *fakeCustomers) merge(merged, survivor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mergedTo == nil {
		f.mergedTo = map[string]string{}
	}
	f.mergedTo[merged] = survivor
}

func (f *fakeCustomers) erase(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.erased == nil {
		f.erased = map[string]bool{}
	}
	f.erased[id] = true
}

func (f *fakeCustomers) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	id := req.GetId()
	if id == f.slow {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if survivor, ok := f.mergedTo[id]; ok {
		id = survivor
	}
	switch {
	case f.erased[id]:
		return &customerv1.GetCustomerResponse{Customer: &customerv1.Customer{Id: id, State: customerv1.CustomerState_CUSTOMER_STATE_ERASED}}, nil
	case id == f.known || f.more[id]:
		return &customerv1.GetCustomerResponse{Customer: &customerv1.Customer{Id: id, State: customerv1.CustomerState_CUSTOMER_STATE_ACTIVE}}, nil
	}
	return nil, status.Errorf(codes.NotFound, "customer %s not found", req.GetId())
}

func newUUID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// startCustomers serves fake on a loopback port and returns its address.
func startCustomers(t *testing.T, fake *fakeCustomers) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

type service struct {
	client  interactionv1.InteractionServiceClient
	natsURL string
	auth    auth.Config
	// ingestAuth is the Authorization header of an integration, which
	// events published on NATS carry.
	ingestAuth string
}

// startService runs the interaction service as production does, on a fresh
// SQLite file and embedded JetStream, and stops it when the test ends.
func startService(t *testing.T, customerAddr string, customerTimeout time.Duration) service {
	t.Helper()
	return startServiceOn(t, customerAddr, customerTimeout, "sqlite://"+t.TempDir()+"/interaction.db")
}

// startServiceOn is startService on the database at dbURL.
func startServiceOn(t *testing.T, customerAddr string, customerTimeout time.Duration, dbURL string, opts ...func(*interaction.Config)) service {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsURL := testinfra.EmbeddedNATS(t)
	cfg := interaction.Config{
		DatabaseURL:     dbURL,
		Broker:          servicehost.Broker{NATSURL: natsURL},
		CustomerService: servicehost.CustomerService{CustomerAddr: customerAddr},
		CustomerTimeout: customerTimeout,
		Listener:        lis,
		Auth:            testinfra.AuthConfig(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	testinfra.Background(t, func(ctx context.Context) error {
		return interaction.Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAsService(t, cfg.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return service{client: interactionv1.NewInteractionServiceClient(conn), natsURL: natsURL, auth: cfg.Auth,
		ingestAuth: "Bearer " + testinfra.Token(t, cfg.Auth, auth.Identity{Subject: "call-center", Roles: []auth.Role{auth.Integration}})}
}

func cny(minor int64) *typev1.Money { return &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor} }

// orderSeq numbers the orders of teaPurchase: an order id is a
// purchase's identity, so each call is another order.
var orderSeq atomic.Int64

func teaPurchase(customerID string) *interactionv1.Interaction {
	return &interactionv1.Interaction{
		CustomerId: customerID,
		Kind:       interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
		Channel:    interactionv1.Channel_CHANNEL_IN_PERSON,
		OccurTime:  timestamppb.New(time.Now().Add(-time.Hour)),
		Summary:    "买了龙井茶和茶杯",
		Source:     "pos",
		Purchase: &interactionv1.Purchase{
			Total:   cny(12850),
			OrderId: fmt.Sprintf("SO-%d", orderSeq.Add(1)),
			Lines: []*interactionv1.PurchaseLine{
				{Sku: "TEA-1", ProductName: "龙井茶", Category: "tea", Quantity: 1, UnitPrice: cny(8850)},
				{Sku: "CUP-2", ProductName: "茶杯", Category: "tableware", Quantity: 2, UnitPrice: cny(2000)},
			},
		},
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRecordAndList(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)

	resp, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{
		Interaction: teaPurchase(known), RequestId: newUUID(t),
	})
	if err != nil {
		t.Fatalf("record purchase: %v", err)
	}
	rec := resp.GetInteraction()
	if err := uuid.Validate(rec.GetId()); err != nil {
		t.Errorf("id %q is not a UUID", rec.GetId())
	}
	if got := rec.GetPurchase().GetTotal(); got.GetAmountMinor() != 12850 || got.GetCurrencyCode() != "CNY" {
		t.Errorf("total = %v, want 128.50 CNY", got)
	}
	if rec.GetCreateTime() == nil {
		t.Error("create_time not set")
	}

	// A note without kind or time: a NOTE, occurring now, newest in the timeline.
	note, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{
		Interaction: &interactionv1.Interaction{CustomerId: known, Summary: "客户来电询问发票"},
	})
	if err != nil {
		t.Fatalf("record note: %v", err)
	}
	if k := note.GetInteraction().GetKind(); k != interactionv1.InteractionKind_INTERACTION_KIND_NOTE {
		t.Errorf("kind = %v, want NOTE", k)
	}

	page1, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known, PageSize: 1})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(page1.GetInteractions()) != 1 || page1.GetInteractions()[0].GetId() != note.GetInteraction().GetId() {
		t.Fatalf("first page = %v, want the note (newest)", page1.GetInteractions())
	}
	if page1.GetNextPageToken() == "" {
		t.Fatal("first page has no next_page_token")
	}
	page2, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{
		CustomerId: known, PageSize: 1, PageToken: page1.GetNextPageToken(),
	})
	if err != nil {
		t.Fatalf("list page 2: %v", err)
	}
	if len(page2.GetInteractions()) != 1 || !proto.Equal(page2.GetInteractions()[0], rec) {
		t.Errorf("second page = %v, want the recorded purchase %v", page2.GetInteractions(), rec)
	}
	if page2.GetNextPageToken() != "" {
		t.Errorf("last page has next_page_token %q", page2.GetNextPageToken())
	}

	// An unknown customer has an empty timeline.
	empty, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: newUUID(t)})
	if err != nil || len(empty.GetInteractions()) != 0 {
		t.Errorf("unknown customer: %v, %v; want an empty timeline", empty.GetInteractions(), err)
	}
}

func TestRecordIsIdempotent(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)

	tests := []struct {
		name   string
		ctx    context.Context
		req    func() *interactionv1.RecordInteractionRequest
		repeat func() *interactionv1.RecordInteractionRequest
	}{
		{
			name: "request_id",
			ctx:  ctx,
			req: func() *interactionv1.RecordInteractionRequest {
				return &interactionv1.RecordInteractionRequest{Interaction: teaPurchase(known), RequestId: "req-1"}
			},
		},
		{
			name: "idempotency-key metadata",
			ctx:  metadata.AppendToOutgoingContext(ctx, "idempotency-key", "key-1"),
			req: func() *interactionv1.RecordInteractionRequest {
				return &interactionv1.RecordInteractionRequest{Interaction: teaPurchase(known)}
			},
		},
		{
			name: "source and source_id",
			ctx:  ctx,
			req: func() *interactionv1.RecordInteractionRequest {
				in := teaPurchase(known)
				in.SourceId = "till-7/0042"
				return &interactionv1.RecordInteractionRequest{Interaction: in}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := svc.client.RecordInteraction(tt.ctx, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			again, err := svc.client.RecordInteraction(tt.ctx, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(first.GetInteraction(), again.GetInteraction()) {
				t.Errorf("repeat returned %v, want the first %v", again.GetInteraction(), first.GetInteraction())
			}
		})
	}
	list, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: known})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetInteractions()); n != len(tests) {
		t.Errorf("timeline has %d interactions, want %d (one per idempotent pair)", n, len(tests))
	}
}

func TestRecordErrors(t *testing.T) {
	known, slow := newUUID(t), newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known, slow: slow}), 300*time.Millisecond)
	ctx := ctxTimeout(t)

	tests := []struct {
		name      string
		in        func() *interactionv1.Interaction
		wantCode  codes.Code
		wantField string
		wantMsg   string
	}{
		{
			name: "negative amount",
			in: func() *interactionv1.Interaction {
				in := teaPurchase(known)
				in.Purchase.Total = cny(-12850)
				return in
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.purchase.total.amount_minor",
		},
		{
			name:     "missing interaction",
			in:       func() *interactionv1.Interaction { return nil },
			wantCode: codes.InvalidArgument, wantField: "interaction",
		},
		{
			name: "missing customer_id",
			in: func() *interactionv1.Interaction {
				return teaPurchase("")
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.customer_id",
		},
		{
			name: "purchase kind without purchase",
			in: func() *interactionv1.Interaction {
				in := teaPurchase(known)
				in.Purchase = nil
				return in
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.purchase",
		},
		{
			name: "line in another currency",
			in: func() *interactionv1.Interaction {
				in := teaPurchase(known)
				in.Purchase.Lines[1].UnitPrice.CurrencyCode = "USD"
				return in
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.purchase.lines[1].unit_price.currency_code",
		},
		{
			name: "unknown kind",
			in: func() *interactionv1.Interaction {
				in := teaPurchase(known)
				in.Kind = 99
				return in
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.kind",
		},
		{
			name: "occur time two days ahead",
			in: func() *interactionv1.Interaction {
				in := teaPurchase(known)
				in.OccurTime = timestamppb.New(time.Now().Add(48 * time.Hour))
				return in
			},
			wantCode: codes.InvalidArgument, wantField: "interaction.occur_time",
		},
		{
			name: "unknown customer",
			in: func() *interactionv1.Interaction {
				return teaPurchase("0190a5d0-0000-7000-8000-000000000001")
			},
			wantCode: codes.NotFound, wantMsg: "customer 0190a5d0-0000-7000-8000-000000000001 not found",
		},
		{
			name:     "customer service too slow",
			in:       func() *interactionv1.Interaction { return teaPurchase(slow) },
			wantCode: codes.Unavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: tt.in()})
			if code := status.Code(err); code != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", code, err, tt.wantCode)
			}
			if tt.wantField != "" {
				var fields []string
				for _, v := range rpcerr.Violations(err) {
					fields = append(fields, v.Field)
				}
				if len(fields) != 1 || fields[0] != tt.wantField {
					t.Errorf("violated fields = %q, want [%q]", fields, tt.wantField)
				}
			}
			if tt.wantMsg != "" && status.Convert(err).Message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", status.Convert(err).Message(), tt.wantMsg)
			}
		})
	}

	t.Run("list bad input", func(t *testing.T) {
		for _, req := range []*interactionv1.ListInteractionsRequest{
			{CustomerId: ""},
			{CustomerId: "not-a-uuid"},
			{CustomerId: known, PageSize: -1},
			{CustomerId: known, PageToken: "%%%"},
		} {
			if _, err := svc.client.ListInteractions(ctx, req); status.Code(err) != codes.InvalidArgument {
				t.Errorf("list %v: code = %v, want InvalidArgument", req, status.Code(err))
			}
		}
	})
}

func TestCustomerServiceDown(t *testing.T) {
	svc := startService(t, closedAddr(t), 3*time.Second)
	ctx := ctxTimeout(t)
	_, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: teaPurchase(newUUID(t))})
	if code := status.Code(err); code != codes.Unavailable {
		t.Fatalf("code = %v (%v), want Unavailable", code, err)
	}
	if strings.Contains(status.Convert(err).Message(), "127.0.0.1") {
		t.Errorf("message %q leaks the customer service's address", status.Convert(err).Message())
	}
	// Reading the timeline does not need the customer service.
	if _, err := svc.client.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: newUUID(t)}); err != nil {
		t.Errorf("list while the customer service is down: %v", err)
	}
}

func TestPurchaseRecordedEvent(t *testing.T) {
	known := newUUID(t)
	svc := startService(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second)
	ctx := ctxTimeout(t)

	record := func(requestID string, amountMinor int64) *interactionv1.Interaction {
		t.Helper()
		in := teaPurchase(known)
		in.Purchase.Total = cny(amountMinor)
		resp, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: in, RequestId: requestID})
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		return resp.GetInteraction()
	}
	first := record("req-A", 12850)

	// The stream exists once the service has answered.
	nc, js, err := events.Connect(svc.natsURL, "interaction-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cons, err := js.OrderedConsumer(ctx, interactionv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{interactionv1.SubjectPurchaseRecorded},
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() (*interactionv1.PurchaseRecorded, jetstream.Msg) {
		t.Helper()
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("no purchase event: %v", err)
		}
		var ev interactionv1.PurchaseRecorded
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatalf("decode PurchaseRecorded: %v", err)
		}
		return &ev, msg
	}

	ev, msg := next()
	if ev.GetInteractionId() != first.GetId() || ev.GetCustomerId() != known {
		t.Errorf("event ids = %s/%s, want %s/%s", ev.GetInteractionId(), ev.GetCustomerId(), first.GetId(), known)
	}
	if ev.GetTotal().GetCurrencyCode() != "CNY" || ev.GetTotal().GetAmountMinor() != 12850 {
		t.Errorf("event total = %v, want 128.50 CNY", ev.GetTotal())
	}
	if len(ev.GetLines()) != 2 || ev.GetOrderId() != first.GetPurchase().GetOrderId() || !ev.GetOccurTime().AsTime().Equal(first.GetOccurTime().AsTime()) {
		t.Errorf("event = %v, want the purchase's lines, order id and occur time", ev)
	}
	if typ := msg.Headers().Get(events.HeaderType); typ != "guanxi.interaction.v1.PurchaseRecorded" {
		t.Errorf("Ce-Type = %q", typ)
	}

	// Repeat the first purchase, then record a second one. The relay
	// publishes in event order, so once the second purchase's event arrives
	// anything the repeat produced would already have been delivered.
	if again := record("req-A", 12850); again.GetId() != first.GetId() {
		t.Fatalf("repeat recorded a new interaction %s", again.GetId())
	}
	second := record("req-B", 999)
	ev, _ = next()
	if ev.GetInteractionId() != second.GetId() {
		t.Fatalf("next purchase event is for %s (total %v), want the second purchase %s: the repeat published again",
			ev.GetInteractionId(), ev.GetTotal(), second.GetId())
	}

	// Every interaction, purchases included, is announced as recorded.
	stream, err := js.Stream(ctx, interactionv1.Stream)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stream.Info(ctx, jetstream.WithSubjectFilter(interactionv1.StreamSubjects))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.State.Subjects[interactionv1.SubjectPurchaseRecorded]; got != 2 {
		t.Errorf("%d purchase events in the stream, want 2", got)
	}
	if got := st.State.Subjects[interactionv1.SubjectInteractionRecorded]; got != 2 {
		t.Errorf("%d interaction events in the stream, want 2", got)
	}
}

// Concurrent calls are committed in groups (see groupcommit.Group):
// each is stored once, and a repeated request id, even in the same group,
// answers with the one interaction it recorded.
func TestConcurrentRecordsStoreEachOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		known := newUUID(t)
		svc := startServiceOn(t, startCustomers(t, &fakeCustomers{known: known}), 3*time.Second, dbURL)
		ctx := ctxTimeout(t)
		const distinct, repeats = 120, 3
		ids := make([][]string, distinct)
		for i := range ids {
			ids[i] = make([]string, repeats)
		}
		var wg sync.WaitGroup
		errs := make(chan error, distinct*repeats)
		for i := range distinct {
			for r := range repeats {
				wg.Go(func() {
					resp, err := svc.client.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{
						Interaction: teaPurchase(known), RequestId: fmt.Sprintf("req-%d", i)})
					if err != nil {
						errs <- err
						return
					}
					ids[i][r] = resp.GetInteraction().GetId()
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, got := range ids {
			if got[0] == "" || got[1] != got[0] || got[2] != got[0] {
				t.Fatalf("request %d answered with ids %v, want one id", i, got)
			}
			seen[got[0]] = true
		}
		if len(seen) != distinct {
			t.Fatalf("%d distinct interactions, want %d", len(seen), distinct)
		}
		var stored int
		req := &interactionv1.ListInteractionsRequest{CustomerId: known, PageSize: 100}
		for {
			page, err := svc.client.ListInteractions(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			stored += len(page.GetInteractions())
			if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if stored != distinct {
			t.Errorf("timeline holds %d interactions, want %d", stored, distinct)
		}
	})
}
