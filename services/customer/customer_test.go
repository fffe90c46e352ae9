package customer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// callTimeout bounds every call, so a service that failed to start fails
// the test instead of hanging it.
const callTimeout = 10 * time.Second

// testActor is the account manager most tests call as; a customer created
// without owner_id is owned by the caller.
const testActor = "am-zhang"

// unknownID is a well-formed id no customer has.
const unknownID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

type harness struct {
	client  customerv1.CustomerServiceClient
	natsURL string
	// addr and auth are the service's address and token setup, for clients
	// calling as someone other than a service.
	addr string
	auth auth.Config
	// db is "sqlite" or "postgres"; dbURL the service's database.
	db    string
	dbURL string
}

// forEachDB runs fn once per database testinfra.Databases offers (SQLite,
// and PostgreSQL when GUANXI_TEST_POSTGRES_URL is set), each against its own
// service on a fresh database and embedded JetStream.
func forEachDB(t *testing.T, fn func(t *testing.T, h harness)) {
	t.Helper()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := startOn(t, d.URL)
			h.db, h.dbURL = d.Name, d.URL
			fn(t, h)
		})
	}
}

// startOn runs the service on the database at dbURL, an embedded JetStream
// and a loopback listener, and stops it when the test ends, failing the test
// if Run does not return nil.
func startOn(t *testing.T, dbURL string, configure ...func(*customer.Config)) harness {
	t.Helper()
	natsURL := testinfra.EmbeddedNATS(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := customer.Config{DatabaseURL: dbURL, Broker: servicehost.Broker{NATSURL: natsURL}, Listener: lis, Auth: testinfra.AuthConfig(t)}
	for _, c := range configure {
		c(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	testinfra.Background(t, func(ctx context.Context) error { return customer.Run(ctx, cfg, logger) })

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAsService(t, cfg.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hctx, hcancel := context.WithTimeout(context.Background(), callTimeout)
	defer hcancel()
	resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("service not serving: %v %v", resp.GetStatus(), err)
	}
	return harness{client: customerv1.NewCustomerServiceClient(conn), natsURL: natsURL, addr: lis.Addr().String(), auth: cfg.Auth}
}

// callCtx is a call context without metadata: the test service calling
// for nobody.
func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// as is a call context for actor, with reason when given, as the gateway
// forwards X-Guanxi-Actor and X-Guanxi-Reason.
func as(t *testing.T, actor string, reason ...string) context.Context {
	t.Helper()
	kv := []string{"x-guanxi-actor", actor}
	if len(reason) > 0 {
		kv = append(kv, "x-guanxi-reason", reason[0])
	}
	return metadata.AppendToOutgoingContext(callCtx(t), kv...)
}

// bulk is as for calls that move thousands of customers, which may take
// far longer than callTimeout on a loaded machine or under -race.
func bulk(t *testing.T, actor string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "x-guanxi-actor", actor)
}

// create creates c as testActor and fails the test when that fails.
func (h harness) create(t *testing.T, c *customerv1.Customer) *customerv1.Customer {
	t.Helper()
	resp, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{Customer: c})
	if err != nil {
		t.Fatalf("CreateCustomer(%s): %v", c.GetDisplayName(), err)
	}
	return resp.GetCustomer()
}

// get reads a customer as testActor.
func (h harness) get(t *testing.T, id string) *customerv1.Customer {
	t.Helper()
	resp, err := h.client.GetCustomer(as(t, testActor), &customerv1.GetCustomerRequest{Id: id})
	if err != nil {
		t.Fatalf("GetCustomer(%s): %v", id, err)
	}
	return resp.GetCustomer()
}

// listIDs lists every customer matching req (all pages) and returns their
// ids in the order listed.
func (h harness) listIDs(t *testing.T, req *customerv1.ListCustomersRequest) []string {
	t.Helper()
	req = proto.Clone(req).(*customerv1.ListCustomersRequest)
	var ids []string
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		resp, err := h.client.ListCustomers(as(t, testActor), req)
		if err != nil {
			t.Fatalf("ListCustomers(filter %q, query %q): %v", req.GetFilter(), req.GetQuery(), err)
		}
		for _, c := range resp.GetCustomers() {
			ids = append(ids, c.GetId())
		}
		if resp.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// wantViolation asserts err is InvalidArgument with a BadRequest violation
// on field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	var fields []string
	for _, v := range rpcerr.Violations(err) {
		fields = append(fields, v.Field)
		if v.Field == field {
			return
		}
	}
	t.Fatalf("violations on %v, want one on %q (err %v)", fields, field, err)
}

// wantCode asserts err has code and, when contains are given, a message
// holding each of them.
func wantCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want %v", err, code)
	}
	msg := status.Convert(err).Message()
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not mention %q", msg, s)
		}
	}
}

// eventStream reads the CUSTOMER stream's events on the given subjects from
// the start, so no event can slip past before the test subscribes.
type eventStream struct {
	cons jetstream.Consumer
}

func (h harness) events(t *testing.T, subjects ...string) *eventStream {
	t.Helper()
	nc, err := nats.Connect(h.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Run has ensured the stream before serving.
	cons, err := js.OrderedConsumer(callCtx(t), customerv1.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", customerv1.Stream, err)
	}
	return &eventStream{cons: cons}
}

// next returns the next event, decoded into msg, and its subject.
func (s *eventStream) next(t *testing.T, msg proto.Message) string {
	t.Helper()
	m, err := s.cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no event within 10s: %v", err)
	}
	if err := proto.Unmarshal(m.Data(), msg); err != nil {
		t.Fatalf("decode %s as %T: %v", m.Subject(), msg, err)
	}
	return m.Subject()
}

// none asserts no further event arrives within a short while.
func (s *eventStream) none(t *testing.T) {
	t.Helper()
	if m, err := s.cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond)); err == nil {
		t.Errorf("unexpected event on %s", m.Subject())
	}
}

func TestCustomerAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, testCustomerAPI)
}

func testCustomerAPI(t *testing.T, h harness) {
	c := h.client
	created, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{
			DisplayName: "  王小明 ",
			Email:       "xiaoming.wang@Example.CN",
			Phone:       "138 0013 8000",
			Locale:      "zh-cn",
			Tags:        []string{"vip", " vip", "会员"},
			OwnerId:     "am-li",
		},
		RequestId: "create-1",
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	cust := created.GetCustomer()
	want := &customerv1.Customer{
		Type:           customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
		Kind:           customerv1.CustomerKind_CUSTOMER_KIND_END_CUSTOMER,
		LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT,
		State:          customerv1.CustomerState_CUSTOMER_STATE_ACTIVE,
		DisplayName:    "王小明",
		Email:          "xiaoming.wang@example.cn",
		Phone:          "+8613800138000",
		Locale:         "zh-CN",
		Tags:           []string{"vip", "会员"},
		OwnerId:        "am-li",
	}
	if diff := cmp.Diff(want, cust, protocmp.Transform(),
		protocmp.IgnoreFields(&customerv1.Customer{}, "id", "create_time", "update_time", "etag")); diff != "" {
		t.Errorf("created customer (-want +got):\n%s", diff)
	}
	if cust.GetId() == "" || cust.GetEtag() == "" || cust.GetCreateTime() == nil || !cust.GetCreateTime().AsTime().Equal(cust.GetUpdateTime().AsTime()) {
		t.Errorf("created customer lacks output fields: %v", cust)
	}

	t.Run("Get", func(t *testing.T) {
		got, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: cust.GetId()})
		if err != nil {
			t.Fatalf("GetCustomer: %v", err)
		}
		if diff := cmp.Diff(cust, got.GetCustomer(), protocmp.Transform()); diff != "" {
			t.Errorf("got (-created +got):\n%s", diff)
		}
	})

	t.Run("GetUnknown", func(t *testing.T) {
		_, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: unknownID})
		wantCode(t, err, codes.NotFound)
		if got, want := status.Convert(err).Message(), "customer "+unknownID+" not found"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})

	t.Run("GetMalformedID", func(t *testing.T) {
		_, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: "not-a-uuid"})
		wantViolation(t, err, "id")
	})

	t.Run("CreateBadEmail", func(t *testing.T) {
		_, err := c.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "Bad Mail", Email: "nobody-at-example.com"},
		})
		wantViolation(t, err, "customer.email")
	})

	t.Run("CreateBadPhone", func(t *testing.T) {
		_, err := c.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "Bad Phone", Phone: "12345"},
		})
		wantViolation(t, err, "customer.phone")
	})

	t.Run("CreateMissingName", func(t *testing.T) {
		_, err := c.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{}})
		wantViolation(t, err, "customer.display_name")
		_, err = c.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{})
		wantViolation(t, err, "customer")
	})

	t.Run("CreateWithoutOwner", func(t *testing.T) {
		// No owner_id and no actor: nobody would own the customer.
		_, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "Ownerless"},
		})
		wantViolation(t, err, "customer.owner_id")
	})

	t.Run("DuplicateRequestID", func(t *testing.T) {
		again, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer:  &customerv1.Customer{DisplayName: "王小明", OwnerId: "am-li"},
			RequestId: "create-1",
		})
		if err != nil {
			t.Fatalf("CreateCustomer retry: %v", err)
		}
		if again.GetCustomer().GetId() != cust.GetId() {
			t.Fatalf("retry created %s, want the first customer %s", again.GetCustomer().GetId(), cust.GetId())
		}
	})

	t.Run("IdempotencyKeyMetadata", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(as(t, testActor), "idempotency-key", "header-key-1")
		first, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Keyed"}})
		if err != nil {
			t.Fatalf("create with key: %v", err)
		}
		second, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Keyed"}})
		if err != nil {
			t.Fatalf("retry with key: %v", err)
		}
		if first.GetCustomer().GetId() != second.GetCustomer().GetId() {
			t.Fatalf("same Idempotency-Key created %s and %s", first.GetCustomer().GetId(), second.GetCustomer().GetId())
		}
		if first.GetCustomer().GetId() == cust.GetId() {
			t.Fatal("a different key returned the customer of request create-1")
		}
	})

	t.Run("UpdateWithMask", func(t *testing.T) {
		up, err := c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{
				Id: cust.GetId(), Etag: cust.GetEtag(),
				DisplayName: "王晓明", Email: "ignored@example.com", Tags: nil,
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "tags"}},
		})
		if err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		u := up.GetCustomer()
		if u.GetDisplayName() != "王晓明" || len(u.GetTags()) != 0 || u.GetEmail() != cust.GetEmail() {
			t.Errorf("updated = %v", u)
		}
		if u.GetEtag() == cust.GetEtag() {
			t.Errorf("etag unchanged: %s", u.GetEtag())
		}
		if u.GetUpdateTime().AsTime().Before(cust.GetUpdateTime().AsTime()) {
			t.Errorf("update time went back: %v -> %v", cust.GetUpdateTime().AsTime(), u.GetUpdateTime().AsTime())
		}
		got, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: cust.GetId()})
		if err != nil || !proto.Equal(got.GetCustomer(), u) {
			t.Fatalf("get after update = %v, %v; want %v", got.GetCustomer(), err, u)
		}

		// The etag the client read before the update is stale now.
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), Etag: cust.GetEtag(), DisplayName: "Lost"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		wantCode(t, err, codes.Aborted)
		if got := h.get(t, cust.GetId()); got.GetDisplayName() != "王晓明" {
			t.Errorf("a stale update was written: display_name %q", got.GetDisplayName())
		}

		// An empty mask writes the fields that are set, and only them.
		up2, err := c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: cust.GetId(), Etag: u.GetEtag(), TimeZone: "Europe/Paris"},
		})
		if err != nil {
			t.Fatalf("update with empty mask: %v", err)
		}
		if got := up2.GetCustomer(); got.GetTimeZone() != "Europe/Paris" || got.GetDisplayName() != "王晓明" || got.GetPhone() != cust.GetPhone() || got.GetOwnerId() != "am-li" {
			t.Errorf("empty mask update = %v", got)
		}
	})

	t.Run("UpdateBadInput", func(t *testing.T) {
		_, err := c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), DisplayName: "X"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "no_such_field"}},
		})
		wantViolation(t, err, "update_mask")
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), Phone: "call me"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
		})
		wantViolation(t, err, "customer.phone")
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		wantViolation(t, err, "customer.display_name")
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: unknownID, DisplayName: "X"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		wantCode(t, err, codes.NotFound, unknownID)
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: "nope", DisplayName: "X"},
		})
		wantViolation(t, err, "customer.id")
		_, err = c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{})
		wantViolation(t, err, "customer")
	})

	t.Run("OutputOnlyMaskPathsIgnored", func(t *testing.T) {
		// A REST PATCH sends back what it read; output-only fields in the
		// mask are ignored rather than refused (AIP-161).
		cur := h.get(t, cust.GetId())
		up, err := c.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cur.GetId(), Etag: cur.GetEtag(), Locale: "en-GB", State: customerv1.CustomerState_CUSTOMER_STATE_ERASED},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"locale", "create_time", "state", "etag"}},
		})
		if err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		if got := up.GetCustomer(); got.GetLocale() != "en-GB" || got.GetState() != customerv1.CustomerState_CUSTOMER_STATE_ACTIVE ||
			!got.GetCreateTime().AsTime().Equal(cur.GetCreateTime().AsTime()) {
			t.Errorf("updated = %v", got)
		}
	})
}

func TestEventsPublished(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		evs := h.events(t)
		created := h.create(t, &customerv1.Customer{
			Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION, DisplayName: "Acme 贸易", Tags: []string{"distributor"},
		})

		m, err := evs.cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("no event within 10s: %v", err)
		}
		if m.Subject() != customerv1.SubjectCustomerCreated {
			t.Fatalf("subject %q, want %q", m.Subject(), customerv1.SubjectCustomerCreated)
		}
		if got := m.Headers().Get(events.HeaderType); got != "guanxi.customer.v1.CustomerCreated" {
			t.Errorf("Ce-Type %q", got)
		}
		if m.Headers().Get(events.HeaderMsgID) == "" {
			t.Error("no Nats-Msg-Id header")
		}
		var ev customerv1.CustomerCreated
		if err := proto.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatalf("decode CustomerCreated: %v", err)
		}
		if diff := cmp.Diff(created, ev.GetCustomer(), protocmp.Transform()); diff != "" {
			t.Errorf("event customer (-created +event):\n%s", diff)
		}
		if ev.GetCustomer().GetOwnerId() != testActor {
			t.Errorf("CustomerCreated owner %q, want the actor %q", ev.GetCustomer().GetOwnerId(), testActor)
		}

		// A no-op update publishes nothing, so the next event is the real one.
		noop, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: created.GetId(), DisplayName: "Acme 贸易 "},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		if err != nil {
			t.Fatalf("no-op update: %v", err)
		}
		if noop.GetCustomer().GetEtag() != created.GetEtag() {
			t.Errorf("no-op update changed the etag %s -> %s", created.GetEtag(), noop.GetCustomer().GetEtag())
		}
		updated, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: created.GetId(), Email: "sales@acme.example", Locale: "en-GB"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "locale"}},
		})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		var upd customerv1.CustomerUpdated
		if subject := evs.next(t, &upd); subject != customerv1.SubjectCustomerUpdated {
			t.Fatalf("subject %q, want %q", subject, customerv1.SubjectCustomerUpdated)
		}
		if diff := cmp.Diff(updated.GetCustomer(), upd.GetCustomer(), protocmp.Transform()); diff != "" {
			t.Errorf("event customer (-updated +event):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"email", "locale"}, upd.GetChangedFields()); diff != "" {
			t.Errorf("changed_fields (-want +got):\n%s", diff)
		}
		evs.none(t)
	})
}

// openDB opens the service's database beside the running service, for
// checks no API can make; it is closed when the test ends.
func (h harness) openDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(callCtx(t), h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// publishedEvents returns the payloads of every event the service has
// published on subject, in order, once the relay has emptied the outbox.
// Tests that produce thousands of events read them here in bulk instead
// of one by one.
func (h harness) publishedEvents(t *testing.T, subject string) [][]byte {
	t.Helper()
	db := h.openDB(t)
	testinfra.Eventually(t, 30*time.Second, "the relay to publish the outbox", func() bool {
		var n int
		if err := db.QueryRow(callCtx(t), `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatalf("outbox depth: %v", err)
		}
		return n == 0
	})
	cons := h.events(t, subject).cons
	info, err := cons.Info(callCtx(t))
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	out := make([][]byte, 0, info.NumPending)
	for uint64(len(out)) < info.NumPending {
		batch, err := cons.Fetch(int(min(info.NumPending-uint64(len(out)), 1000)), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatalf("fetch %s: %v", subject, err)
		}
		got := 0
		for m := range batch.Messages() {
			out = append(out, m.Data())
			got++
		}
		if err := batch.Error(); err != nil || got == 0 {
			t.Fatalf("fetch %s: %d of %d events: %v", subject, len(out), info.NumPending, err)
		}
	}
	return out
}

// storedRow returns what the customers table holds about id in its text
// columns, for checks that erasure leaves no personal data behind even
// where no API shows it.
func (h harness) storedRow(t *testing.T, id string) string {
	t.Helper()
	db := h.openDB(t)
	var name, email, phone, nameKey, searchText, doc string
	if err := db.QueryRow(callCtx(t), `SELECT display_name, email, phone, name_key, search_text, doc FROM customers WHERE id = ?`, id).
		Scan(&name, &email, &phone, &nameKey, &searchText, &doc); err != nil {
		t.Fatalf("read customer row %s: %v", id, err)
	}
	return strings.Join([]string{name, email, phone, nameKey, searchText, doc}, " | ")
}

// count runs a COUNT query on the service's database, for checks over
// more rows than are worth reading through the API.
func (h harness) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	db := h.openDB(t)
	var n int
	if err := db.QueryRow(callCtx(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// seq names the i-th generated record, for tests that need many.
func seq(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }
