package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// checkers are the sources of truth reconciled with what the clients were
// told.
type checkers struct {
	interaction  interactionv1.InteractionServiceClient
	loyalty      loyaltyv1.LoyaltyServiceClient
	segmentation segmentationv1.SegmentationServiceClient
	sms          *smsSink
}

// tally is one reconciliation: lost and duplicated effects by where they
// were (or were not) found, with a few examples of each.
type tally struct {
	lost, duplicated map[string]int
	examples         []string
	exampleCount     map[string]int
	errors           int
	firstErr         error
	customers        int
}

func newTally() *tally { return &tally{lost: map[string]int{}, duplicated: map[string]int{}} }

func (t *tally) off(where string, got, want int64, what string) {
	switch {
	case got < want:
		t.lost[where] += int(want - got)
	case got > want:
		t.duplicated[where] += int(got - want)
	default:
		return
	}
	t.example(where, fmt.Sprintf("%s: %s: got %d, want %d", where, what, got, want))
}

// example keeps a few examples of each place.
func (t *tally) example(where, e string) {
	if t.exampleCount == nil {
		t.exampleCount = map[string]int{}
	}
	if t.exampleCount[where] < 4 {
		t.exampleCount[where]++
		t.examples = append(t.examples, e)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func (t *tally) Lost() int       { return sum(t.lost) }
func (t *tally) Duplicated() int { return sum(t.duplicated) }

// breakdown is "where=n ..." of m, sorted.
func breakdown(m map[string]int) string {
	var parts []string
	for k, v := range m {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// reconcile checks every customer of tr against every source of truth.
func (ch *checkers) reconcile(ctx context.Context, tr *truth) *tally {
	t := newTally()
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	tr.mu.Lock()
	customers := append([]*customer(nil), tr.customers...)
	tr.mu.Unlock()
	for _, c := range customers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			one := newTally()
			err := ch.customer(ctx, c, one)
			mu.Lock()
			defer mu.Unlock()
			t.customers++
			if err != nil {
				t.errors++
				if t.firstErr == nil {
					t.firstErr = fmt.Errorf("customer %s: %w", c.id, err)
				}
				return
			}
			for k, v := range one.lost {
				t.lost[k] += v
			}
			for k, v := range one.duplicated {
				t.duplicated[k] += v
			}
			for _, e := range one.examples {
				where, _, _ := strings.Cut(e, ":")
				t.example(where, "customer "+c.id+": "+e)
			}
		})
	}
	wg.Wait()
	return t
}

// customer reconciles one customer.
func (ch *checkers) customer(ctx context.Context, c *customer, t *tally) error {
	purchases, returns, calls, unsure := c.snapshot()

	// The interaction timeline: each purchase, return and call once.
	byOrder := map[string]int64{}
	byReturnOf := map[string]int64{}
	byCall := map[string]int64{}
	token := ""
	for {
		resp, err := ch.interaction.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{CustomerId: c.id, PageSize: 1000, PageToken: token})
		if err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		for _, in := range resp.GetInteractions() {
			switch {
			case in.GetKind() == interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE:
				byOrder[in.GetPurchase().GetOrderId()]++
			case in.GetKind() == interactionv1.InteractionKind_INTERACTION_KIND_RETURN:
				byReturnOf[in.GetReturn().GetPurchaseInteractionId()]++
			case in.GetSource() == callCenterSource:
				byCall[in.GetSourceId()]++
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	// A purchase given up on counts as whatever the timeline says (0 or
	// 1); twice would be a duplicate all the same.
	for _, p := range unsure {
		switch n := byOrder[p.orderID]; {
		case n == 1:
			purchases = append(purchases, p)
		case n > 1:
			t.off("interaction", n, 1, "purchase "+p.orderID+" (unacknowledged)")
		}
	}
	var wantPoints, wantSpend, wantRefunds int64
	for _, p := range purchases {
		t.off("interaction", byOrder[p.orderID], 1, "purchase "+p.orderID)
		wantPoints += p.points()
		wantSpend += p.totalMinor()
	}
	for _, r := range returns {
		t.off("interaction", byReturnOf[r.purchase.interactionID], 1, "return of "+r.purchase.orderID)
		wantPoints -= r.points()
		wantSpend -= r.refundMinor()
		wantRefunds += r.refundMinor()
	}
	for _, id := range calls {
		t.off("interaction", byCall[id], 1, "call "+id)
	}
	if len(purchases) == 0 {
		return nil
	}

	// The loyalty ledger: one entry per purchase and per return, and the
	// balance the program's rule gives.
	entries := map[string]int64{}
	token = ""
	for {
		resp, err := ch.loyalty.ListLedgerEntries(ctx, &loyaltyv1.ListLedgerEntriesRequest{CustomerId: c.id, PageSize: 1000, PageToken: token})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("ledger: %w", err)
		}
		for _, e := range resp.GetEntries() {
			entries[e.GetInteractionId()]++
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	entriesOK := true
	for _, p := range purchases {
		if p.interactionID == "" { // unacknowledged: its id is not known
			continue
		}
		if entries[p.interactionID] != 1 {
			entriesOK = false
		}
		t.off("loyalty", entries[p.interactionID], 1, "points of purchase "+p.orderID)
	}
	for _, r := range returns {
		if entries[r.interactionID] != 1 {
			entriesOK = false
		}
		t.off("loyalty", entries[r.interactionID], 1, "points back of return of "+r.purchase.orderID)
	}
	acc, err := ch.loyalty.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: c.id})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("account: %w", err)
	}
	if got := acc.GetAccount().GetPointsBalance(); got != wantPoints {
		t.example("loyalty-balance", fmt.Sprintf("loyalty-balance: points balance %d, want %d", got, wantPoints))
		if entriesOK { // not counted through the entries already
			t.off("loyalty-balance", sign(got-wantPoints), 0, "balance")
		}
	}

	// Segmentation's customer facts: every purchase counted once, the
	// refunds of every return once.
	v, err := ch.segmentation.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: c.id})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("customer value: %w", err)
	}
	val := v.GetValue()
	t.off("segmentation", val.GetPurchaseCount(), int64(len(purchases)), "purchase_count")
	if got := val.GetRefunds().GetAmountMinor(); got != wantRefunds {
		t.off("segmentation-refunds", sign(got-wantRefunds), 0, fmt.Sprintf("refunds %d, want %d", got, wantRefunds))
	}
	if got := val.GetLifetimeSpend().GetAmountMinor(); got != wantSpend && val.GetPurchaseCount() == int64(len(purchases)) && val.GetRefunds().GetAmountMinor() == wantRefunds {
		t.off("segmentation-spend", sign(got-wantSpend), 0, fmt.Sprintf("lifetime spend %d, want %d", got, wantSpend))
	}

	// The notifications: a buyer is welcome with the enrollment of the
	// first purchase and became VIP with it (threshold 1 point), each
	// told by SMS once: two messages, counted by message id.
	t.off("notification", ch.sms.messagesTo(c.phone), 2, "messages by SMS (welcome, tier)")
	return nil
}

func sign(d int64) int64 {
	switch {
	case d > 0:
		return 1
	case d < 0:
		return -1
	}
	return 0
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }
