package loyalty_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
)

// fakeClock is the services' clock in tests: time moves only when the test
// says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is a Tuesday, 10:00 in Shanghai.
var t0 = time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)

// onEveryDatabase runs fn on a service over SQLite and over a fresh
// PostgreSQL database, each with its own embedded JetStream and clock.
func onEveryDatabase(t *testing.T, tune func(cfg *loyalty.Config), fn func(t *testing.T, h harness, clock *fakeClock)) {
	t.Helper()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			clock := newClock(t0)
			cfg := defaultConfig(t)
			cfg.Now = clock.Now
			if tune != nil {
				tune(&cfg)
			}
			fn(t, startOn(t, cfg, d.URL, testinfra.EmbeddedNATS(t)), clock)
		})
	}
}

// asActor calls as the named actor, as the gateway forwards X-Guanxi-Actor.
func asActor(ctx context.Context, actor string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-guanxi-actor", actor)
}

// wantInvalid fails unless err is InvalidArgument naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("%s: code = %v (%v), want InvalidArgument", what, status.Code(err), err)
	}
	for _, v := range rpcerr.Violations(err) {
		if v.Field == field {
			return
		}
	}
	t.Fatalf("%s: violations %v name no %q", what, rpcerr.Violations(err), field)
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: code = %v (%v), want %v", what, status.Code(err), err, code)
	}
}

// testProgram is a program with tiers normal/silver/gold, a books
// multiplier, a Wednesday member day and survey points; tune changes it.
func testProgram(tune func(p *loyaltyv1.Program)) *loyaltyv1.Program {
	p := &loyaltyv1.Program{
		Name: "会员计划", TimeZone: "Asia/Shanghai", AutoEnroll: true, WelcomePoints: 50,
		BaseRates:       []*loyaltyv1.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: 1}},
		EarnRules:       []*loyaltyv1.EarnRule{{Id: "books", Category: "books", MultiplierPercent: 200}},
		CurrencyCode:    "CNY",
		EngagementRules: []*loyaltyv1.EngagementRule{{Kind: "survey_answered", Points: 20}, {Kind: "check_in", Points: 5}},
		Tiers: []*loyaltyv1.TierDefinition{
			{Code: "normal", Name: "Normal"},
			{Code: "silver", Name: "Silver", QualifyPoints: 1000, MultiplierPercent: 120},
			{Code: "gold", Name: "Gold", QualifyPoints: 3000, MultiplierPercent: 150},
		},
		TierWindowMonths: 12, TierGraceDays: 10,
		ExpiryKind: loyaltyv1.ExpiryKind_EXPIRY_KIND_NEVER,
		MemberDays: []*loyaltyv1.MemberDay{{Id: "wed", Weekday: 3, MultiplierPercent: 200}},
	}
	if tune != nil {
		tune(p)
	}
	return p
}

func (h harness) createProgram(t *testing.T, p *loyaltyv1.Program) *loyaltyv1.Program {
	t.Helper()
	resp, err := h.client.CreateProgram(context.Background(), &loyaltyv1.CreateProgramRequest{Program: p})
	if err != nil {
		t.Fatalf("create program: %v", err)
	}
	return resp.GetProgram()
}

func (h harness) enroll(t *testing.T, programID, customerID string) *loyaltyv1.LoyaltyAccount {
	t.Helper()
	resp, err := h.client.EnrollMember(context.Background(), &loyaltyv1.EnrollMemberRequest{ProgramId: programID, CustomerId: customerID})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return resp.GetAccount()
}

func (h harness) account(t *testing.T, programID, customerID string) *loyaltyv1.LoyaltyAccount {
	t.Helper()
	resp, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{ProgramId: programID, CustomerId: customerID})
	if err != nil {
		t.Fatalf("get account: %v", err)
	}
	return resp.GetAccount()
}

// accountWhen waits until the account satisfies cond and returns it.
func (h harness) accountWhen(t *testing.T, programID, customerID, what string, cond func(a *loyaltyv1.LoyaltyAccount) bool) *loyaltyv1.LoyaltyAccount {
	t.Helper()
	var last *loyaltyv1.LoyaltyAccount
	var lastErr error
	ok := eventually(t, 15*time.Second, func() bool {
		resp, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{ProgramId: programID, CustomerId: customerID})
		last, lastErr = resp.GetAccount(), err
		return err == nil && cond(last)
	})
	if !ok {
		t.Fatalf("account never %s: last %v, error %v", what, last, lastErr)
	}
	return last
}

func (h harness) ledger(t *testing.T, programID, customerID string) []*loyaltyv1.LedgerEntry {
	t.Helper()
	resp, err := h.client.ListLedgerEntries(context.Background(), &loyaltyv1.ListLedgerEntriesRequest{
		ProgramId: programID, CustomerId: customerID, PageSize: 1000})
	if err != nil {
		t.Fatalf("list ledger: %v", err)
	}
	return resp.GetEntries()
}

// purchase is a PurchaseRecorded at `at` of the given lines (sku, category,
// quantity, unit price in fen); the total is their sum.
func purchase(customerID, interactionID string, at time.Time, lines ...*interactionv1.PurchaseLine) *interactionv1.PurchaseRecorded {
	var total int64
	for _, l := range lines {
		total += l.GetQuantity() * l.GetUnitPrice().GetAmountMinor()
	}
	return &interactionv1.PurchaseRecorded{
		InteractionId: interactionID, CustomerId: customerID, OrderId: "O-" + interactionID[len(interactionID)-6:],
		Total: cny(total), Lines: lines, OccurTime: timestamppb.New(at),
	}
}

func line(sku, category string, qty, unitFen int64) *interactionv1.PurchaseLine {
	return &interactionv1.PurchaseLine{Sku: sku, Category: category, Quantity: qty, UnitPrice: &typev1.Money{CurrencyCode: "CNY", AmountMinor: unitFen}}
}

// loyaltyEvents returns every message on subject in the loyalty stream,
// decoded into fresh messages made by newMsg.
func loyaltyEvents[M proto.Message](t *testing.T, js jetstream.JetStream, subject string, newMsg func() M) []M {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, loyaltyv1.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pending := int(info.NumPending)
	var out []M
	for len(out) < pending {
		batch, err := cons.Fetch(pending-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for msg := range batch.Messages() {
			m := newMsg()
			if err := proto.Unmarshal(msg.Data(), m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
			n++
		}
		if n == 0 {
			break
		}
	}
	return out
}

// waitForEvents waits until subject holds at least n messages matching keep.
func waitForEvents[M proto.Message](t *testing.T, js jetstream.JetStream, subject string, n int, newMsg func() M, keep func(M) bool) []M {
	t.Helper()
	var got []M
	ok := eventually(t, 15*time.Second, func() bool {
		got = got[:0]
		for _, m := range loyaltyEvents(t, js, subject, newMsg) {
			if keep(m) {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	if !ok {
		t.Fatalf("%s: %d matching events, want %d: %v", subject, len(got), n, got)
	}
	return got
}
