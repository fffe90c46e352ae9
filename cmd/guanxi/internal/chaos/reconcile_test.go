package chaos

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// world is what the fake services answer for one customer.
type world struct {
	interactionv1.UnimplementedInteractionServiceServer
	loyaltyv1.UnimplementedLoyaltyServiceServer
	segmentationv1.UnimplementedSegmentationServiceServer
	timeline []*interactionv1.Interaction
	entries  []*loyaltyv1.LedgerEntry
	balance  int64
	value    *segmentationv1.CustomerValue
}

func (w *world) ListInteractions(context.Context, *interactionv1.ListInteractionsRequest) (*interactionv1.ListInteractionsResponse, error) {
	return &interactionv1.ListInteractionsResponse{Interactions: w.timeline}, nil
}

func (w *world) ListLedgerEntries(context.Context, *loyaltyv1.ListLedgerEntriesRequest) (*loyaltyv1.ListLedgerEntriesResponse, error) {
	return &loyaltyv1.ListLedgerEntriesResponse{Entries: w.entries}, nil
}

func (w *world) GetLoyaltyAccount(context.Context, *loyaltyv1.GetLoyaltyAccountRequest) (*loyaltyv1.GetLoyaltyAccountResponse, error) {
	return &loyaltyv1.GetLoyaltyAccountResponse{Account: &loyaltyv1.LoyaltyAccount{PointsBalance: w.balance}}, nil
}

func (w *world) GetCustomerValue(context.Context, *segmentationv1.GetCustomerValueRequest) (*segmentationv1.GetCustomerValueResponse, error) {
	return &segmentationv1.GetCustomerValueResponse{Value: w.value}, nil
}

func cny(minor int64) *typev1.Money { return &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor} }

// TestReconcileFindsLostAndDuplicated: a customer told of two purchases
// (one returned) and a call is reconciled against services that agree,
// then against services that lost or doubled one effect each; the tally
// names each.
func TestReconcileFindsLostAndDuplicated(t *testing.T) {
	p1 := &purchase{orderID: "CHAOS-1", interactionID: "i1", unitYuan: 10, qty: 2}
	p2 := &purchase{orderID: "CHAOS-2", interactionID: "i2", unitYuan: 5, qty: 2}
	r1 := &ret{interactionID: "r1", purchase: p1}
	c := &customer{id: "c1", phone: "+8613900000001", purchases: []*purchase{p1, p2}, returns: []*ret{r1}, calls: []string{"call-1"}}
	good := func() *world {
		return &world{
			timeline: []*interactionv1.Interaction{
				{Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE, Purchase: &interactionv1.Purchase{OrderId: "CHAOS-1"}},
				{Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE, Purchase: &interactionv1.Purchase{OrderId: "CHAOS-2"}},
				{Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN, Return: &interactionv1.Return{PurchaseInteractionId: "i1"}},
				{Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL, Source: callCenterSource, SourceId: "call-1"},
			},
			entries: []*loyaltyv1.LedgerEntry{{InteractionId: "i1"}, {InteractionId: "i2"}, {InteractionId: "r1"}},
			// 20 + 10 points, 10 back for one unit of the first.
			balance: 20,
			value:   &segmentationv1.CustomerValue{PurchaseCount: 2, Refunds: cny(1000), LifetimeSpend: cny(2000)},
		}
	}
	sms := &smsSink{byRef: map[string]int{"m1": 1, "m2": 1}, byTo: map[string]map[string]int{c.phone: {"m1": 1, "m2": 1}}}

	check := func(w *world) *tally {
		t.Helper()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		interactionv1.RegisterInteractionServiceServer(srv, w)
		loyaltyv1.RegisterLoyaltyServiceServer(srv, w)
		segmentationv1.RegisterSegmentationServiceServer(srv, w)
		go func() { _ = srv.Serve(l) }()
		defer srv.Stop()
		conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch := &checkers{interaction: interactionv1.NewInteractionServiceClient(conn), loyalty: loyaltyv1.NewLoyaltyServiceClient(conn),
			segmentation: segmentationv1.NewSegmentationServiceClient(conn), sms: sms}
		tr := newTruth()
		tr.add(c)
		return ch.reconcile(context.Background(), tr)
	}

	if got := check(good()); got.errors != 0 || got.Lost() != 0 || got.Duplicated() != 0 {
		t.Fatalf("agreeing services: lost %v duplicated %v errors %d (%v), examples %q", got.lost, got.duplicated, got.errors, got.firstErr, got.examples)
	}

	for _, tc := range []struct {
		name        string
		break_      func(w *world)
		lost, dup   string
		nLost, nDup int
	}{
		{"purchase twice in the timeline", func(w *world) { w.timeline = append(w.timeline, w.timeline[0]) }, "", "interaction", 0, 1},
		{"call missing from the timeline", func(w *world) { w.timeline = w.timeline[:3] }, "interaction", "", 1, 0},
		{"return's points not taken back", func(w *world) { w.entries = w.entries[:2]; w.balance = 30 }, "loyalty", "", 1, 0},
		{"purchase credited twice", func(w *world) { w.entries = append(w.entries, w.entries[1]); w.balance = 30 }, "", "loyalty", 0, 1},
		{"balance off with the right entries", func(w *world) { w.balance = 19 }, "loyalty-balance", "", 1, 0},
		{"purchase counted twice by segmentation", func(w *world) { w.value.PurchaseCount = 3 }, "", "segmentation", 0, 1},
		{"refund lost by segmentation", func(w *world) { w.value.Refunds = cny(0) }, "segmentation-refunds", "", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := good()
			tc.break_(w)
			got := check(w)
			if got.Lost() != tc.nLost || got.Duplicated() != tc.nDup || (tc.lost != "" && got.lost[tc.lost] != 1) || (tc.dup != "" && got.duplicated[tc.dup] != 1) {
				t.Errorf("lost %v duplicated %v, want lost %s=%d duplicated %s=%d; examples %q", got.lost, got.duplicated, tc.lost, tc.nLost, tc.dup, tc.nDup, got.examples)
			}
		})
	}

	t.Run("a message resent, another never sent", func(t *testing.T) {
		saved := sms
		defer func() { sms = saved }()
		sms = &smsSink{byRef: map[string]int{"m1": 2}, byTo: map[string]map[string]int{c.phone: {"m1": 2}}}
		got := check(good())
		if got.lost["notification"] != 1 || got.Duplicated() != 0 {
			t.Errorf("lost %v duplicated %v, want notification=1 lost and nothing duplicated", got.lost, got.duplicated)
		}
		if n, ref := sms.resent(); n != 1 || ref != "m1" {
			t.Errorf("resent = %d, %q; want 1, m1", n, ref)
		}
	})
	t.Run("three messages where two are owed", func(t *testing.T) {
		saved := sms
		defer func() { sms = saved }()
		sms = &smsSink{byRef: map[string]int{"m1": 1, "m2": 1, "m3": 1}, byTo: map[string]map[string]int{c.phone: {"m1": 1, "m2": 1, "m3": 1}}}
		if got := check(good()); got.duplicated["notification"] != 1 || got.Lost() != 0 {
			t.Errorf("lost %v duplicated %v, want notification=1 duplicated", got.lost, got.duplicated)
		}
	})
}
