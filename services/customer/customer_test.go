package customer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
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

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// callTimeout bounds every call, so a service that failed to start fails
// the test instead of hanging it.
const callTimeout = 10 * time.Second

type harness struct {
	client  customerv1.CustomerServiceClient
	natsURL string
}

// start runs the service on SQLite in t.TempDir(), an embedded JetStream and
// a loopback listener, and stops it when the test ends, failing the test if
// Run does not return nil.
func start(t *testing.T) harness {
	t.Helper()
	natsURL := testinfra.EmbeddedNATS(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := customer.Config{
		DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "customer.db"),
		NATSURL:     natsURL,
		Listener:    lis,
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	testinfra.Background(t, func(ctx context.Context) error { return customer.Run(ctx, cfg, logger) })

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
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
	return harness{client: customerv1.NewCustomerServiceClient(conn), natsURL: natsURL}
}

func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
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

func TestCustomerAPI(t *testing.T) {
	h := start(t)
	c := h.client

	created, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{
			DisplayName: "  王小明 ",
			Email:       "xiaoming.wang@Example.CN",
			Phone:       "+86 (138) 0013-8000",
			Locale:      "zh-cn",
			Tags:        []string{"vip", " vip", "会员"},
		},
		RequestId: "create-1",
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	cust := created.GetCustomer()
	want := &customerv1.Customer{
		Type:        customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
		DisplayName: "王小明",
		Email:       "xiaoming.wang@example.cn",
		Phone:       "+8613800138000",
		Locale:      "zh-CN",
		Tags:        []string{"vip", "会员"},
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
		id := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
		_, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: id})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("err = %v, want NotFound", err)
		}
		if got, want := status.Convert(err).Message(), "customer "+id+" not found"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})

	t.Run("GetMalformedID", func(t *testing.T) {
		_, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: "not-a-uuid"})
		wantViolation(t, err, "id")
	})

	t.Run("CreateBadEmail", func(t *testing.T) {
		_, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: "Bad Mail", Email: "nobody-at-example.com"},
		})
		wantViolation(t, err, "customer.email")
	})

	t.Run("CreateMissingName", func(t *testing.T) {
		_, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{}})
		wantViolation(t, err, "customer.display_name")
		_, err = c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{})
		wantViolation(t, err, "customer")
	})

	t.Run("DuplicateRequestID", func(t *testing.T) {
		again, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer:  &customerv1.Customer{DisplayName: "王小明"},
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
		ctx := metadata.AppendToOutgoingContext(callCtx(t), "idempotency-key", "header-key-1")
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
		up, err := c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
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
		if !u.GetUpdateTime().AsTime().After(cust.GetUpdateTime().AsTime()) && !u.GetUpdateTime().AsTime().Equal(cust.GetUpdateTime().AsTime()) {
			t.Errorf("update time went back: %v -> %v", cust.GetUpdateTime().AsTime(), u.GetUpdateTime().AsTime())
		}
		got, err := c.GetCustomer(callCtx(t), &customerv1.GetCustomerRequest{Id: cust.GetId()})
		if err != nil || !proto.Equal(got.GetCustomer(), u) {
			t.Fatalf("get after update = %v, %v; want %v", got.GetCustomer(), err, u)
		}

		// The etag the client read before the update is stale now.
		_, err = c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), Etag: cust.GetEtag(), DisplayName: "Lost"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		if status.Code(err) != codes.Aborted {
			t.Fatalf("stale etag: err = %v, want Aborted", err)
		}

		// An empty mask writes the fields that are set, and only them.
		up2, err := c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: cust.GetId(), Etag: u.GetEtag(), TimeZone: "Europe/Paris"},
		})
		if err != nil {
			t.Fatalf("update with empty mask: %v", err)
		}
		if got := up2.GetCustomer(); got.GetTimeZone() != "Europe/Paris" || got.GetDisplayName() != "王晓明" || got.GetPhone() != cust.GetPhone() {
			t.Errorf("empty mask update = %v", got)
		}
	})

	t.Run("UpdateBadInput", func(t *testing.T) {
		_, err := c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), DisplayName: "X"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "create_time"}},
		})
		wantViolation(t, err, "update_mask")
		_, err = c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: cust.GetId(), Phone: "call me"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}},
		})
		wantViolation(t, err, "customer.phone")
		_, err = c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", DisplayName: "X"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("update unknown id: err = %v, want NotFound", err)
		}
		_, err = c.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: "nope", DisplayName: "X"},
		})
		wantViolation(t, err, "customer.id")
	})
}

func TestListCustomers(t *testing.T) {
	h := start(t)
	c := h.client
	var want []string
	for i := range 7 {
		resp, err := c.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{DisplayName: fmt.Sprintf("Customer %d", i)},
		})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want = append(want, resp.GetCustomer().GetId())
	}

	var got []string
	var sizes []int
	token := ""
	for {
		if len(sizes) > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := c.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatalf("ListCustomers page %d: %v", len(sizes)+1, err)
		}
		sizes = append(sizes, len(resp.GetCustomers()))
		for _, cu := range resp.GetCustomers() {
			got = append(got, cu.GetId())
		}
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids, oldest first (-want +got):\n%s", diff)
	}

	all, err := c.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{})
	if err != nil || len(all.GetCustomers()) != 7 || all.GetNextPageToken() != "" {
		t.Fatalf("default page = %d customers, token %q, %v", len(all.GetCustomers()), all.GetNextPageToken(), err)
	}

	_, err = c.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageSize: -1})
	wantViolation(t, err, "page_size")
	_, err = c.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{PageToken: "garbage!"})
	wantViolation(t, err, "page_token")
}

func TestEventsPublished(t *testing.T) {
	h := start(t)
	nc, err := nats.Connect(h.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Run has ensured the stream before serving; an ordered consumer reads
	// it from the start, so no event can slip past before we subscribe.
	cons, err := js.OrderedConsumer(callCtx(t), customerv1.Stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", customerv1.Stream, err)
	}
	next := func(t *testing.T) jetstream.Msg {
		t.Helper()
		msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("no event within 10s: %v", err)
		}
		return msg
	}

	created, err := h.client.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION, DisplayName: "Acme 贸易", Tags: []string{"distributor"}},
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	msg := next(t)
	if msg.Subject() != customerv1.SubjectCustomerCreated {
		t.Fatalf("subject %q, want %q", msg.Subject(), customerv1.SubjectCustomerCreated)
	}
	if got := msg.Headers().Get(events.HeaderType); got != "guanxi.customer.v1.CustomerCreated" {
		t.Errorf("Ce-Type %q", got)
	}
	if msg.Headers().Get(events.HeaderMsgID) == "" {
		t.Error("no Nats-Msg-Id header")
	}
	var ev customerv1.CustomerCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("decode CustomerCreated: %v", err)
	}
	if diff := cmp.Diff(created.GetCustomer(), ev.GetCustomer(), protocmp.Transform()); diff != "" {
		t.Errorf("event customer (-created +event):\n%s", diff)
	}

	// A no-op update publishes nothing, so the next event is the real one.
	cust := created.GetCustomer()
	noop, err := h.client.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Id: cust.GetId(), DisplayName: "Acme 贸易 "},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	if err != nil {
		t.Fatalf("no-op update: %v", err)
	}
	if noop.GetCustomer().GetEtag() != cust.GetEtag() {
		t.Errorf("no-op update changed the etag %s -> %s", cust.GetEtag(), noop.GetCustomer().GetEtag())
	}
	updated, err := h.client.UpdateCustomer(callCtx(t), &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Id: cust.GetId(), Email: "sales@acme.example", Locale: "en-GB"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "locale"}},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	msg = next(t)
	if msg.Subject() != customerv1.SubjectCustomerUpdated {
		t.Fatalf("subject %q, want %q", msg.Subject(), customerv1.SubjectCustomerUpdated)
	}
	var upd customerv1.CustomerUpdated
	if err := proto.Unmarshal(msg.Data(), &upd); err != nil {
		t.Fatalf("decode CustomerUpdated: %v", err)
	}
	if diff := cmp.Diff(updated.GetCustomer(), upd.GetCustomer(), protocmp.Transform()); diff != "" {
		t.Errorf("event customer (-updated +event):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"email", "locale"}, upd.GetChangedFields()); diff != "" {
		t.Errorf("changed_fields (-want +got):\n%s", diff)
	}
	// Nothing else was published.
	if extra, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond)); err == nil {
		t.Errorf("unexpected extra event on %s", extra.Subject())
	}
}
