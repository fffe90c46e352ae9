package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// Sources of the harness's interactions.
const (
	posSource        = "chaos-pos"
	callCenterSource = "chaos-callcenter"
)

// loadStats counts what the clients did.
type loadStats struct {
	purchases, returns, calls atomic.Int64 // acknowledged
	retries                   atomic.Int64 // calls that were repeated
	gaveUp                    atomic.Int64 // purchases never acknowledged
	failed                    atomic.Int64 // returns and calls never acknowledged
	rejected                  atomic.Int64 // permanent refusals
	firstErr                  atomic.Value // string
}

func (s *loadStats) fail(err error) {
	s.firstErr.CompareAndSwap(nil, err.Error())
}

// driver records purchases, returns and call-center events as a chain of
// POS terminals and a call center would: through REST and gRPC, each
// retried with its idempotency key until acknowledged.
type driver struct {
	truth       *truth
	interaction interactionv1.InteractionServiceClient
	customers   customerv1.CustomerServiceClient
	loyalty     loyaltyv1.LoyaltyServiceClient
	rest        *rest
	stats       loadStats
	// giveUpAt is when unacknowledged calls stop being retried.
	giveUpAt time.Time
	seq      atomic.Int64
	wg       sync.WaitGroup
}

// createCustomers creates n customers, each with a phone the call center
// matches, concurrently.
func (d *driver) createCustomers(ctx context.Context, n int) ([]*customer, error) {
	out := make([]*customer, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			phone := fmt.Sprintf("+86139%08d", i)
			requestID := uuid.NewString()
			var id string
			_, err := retry(ctx, time.Now().Add(2*time.Minute), func(ctx context.Context) error {
				resp, err := d.customers.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{RequestId: requestID,
					Customer: &customerv1.Customer{DisplayName: fmt.Sprintf("顾客%d", i), Phone: phone}})
				if err != nil {
					return grpcErr(err)
				}
				id = resp.GetCustomer().GetId()
				return nil
			})
			if err != nil {
				errs <- fmt.Errorf("create customer %d: %w", i, err)
				return
			}
			out[i] = &customer{id: id, phone: phone}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	for _, c := range out {
		d.truth.add(c)
	}
	return out, nil
}

// run drives load at rate purchases a second until stop, with a return
// for about one acknowledged purchase in ten and a call-center event for
// every ten purchases (in batches of five), spread over buyers. It returns
// once every call has been acknowledged or given up on.
func (d *driver) run(ctx context.Context, buyers []*customer, rate int, stop time.Time, maxInFlight int) {
	interval := time.Second / time.Duration(rate)
	sem := make(chan struct{}, maxInFlight)
	start := time.Now()
	var calls []*customer
	for k := 0; ; k++ {
		at := start.Add(time.Duration(k) * interval)
		if at.After(stop) || ctx.Err() != nil {
			break
		}
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait) // open loop: the schedule sets the pace
		}
		c := buyers[rand.N(len(buyers))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			d.wg.Wait()
			return
		}
		d.wg.Go(func() {
			defer func() { <-sem }()
			p := d.purchase(ctx, c, k%2 == 0)
			if p != nil && rand.N(10) == 0 {
				d.ret(ctx, c, p, k%4 < 2)
			}
		})
		if k%10 == 0 {
			calls = append(calls, buyers[rand.N(len(buyers))])
			if len(calls) == 5 {
				batch := calls
				calls = nil
				viaREST := k%20 == 0
				d.wg.Go(func() { d.callCenter(ctx, batch, viaREST) })
			}
		}
	}
	d.wg.Wait()
}

// purchase records one purchase of c, through REST or gRPC, retried with
// the same idempotency key until acknowledged; nil when given up on.
func (d *driver) purchase(ctx context.Context, c *customer, viaREST bool) *purchase {
	n := d.seq.Add(1)
	p := &purchase{orderID: fmt.Sprintf("CHAOS-%d", n), requestID: uuid.NewString(), unitYuan: 1 + rand.Int64N(200), qty: 2}
	price := &typev1.Money{CurrencyCode: "CNY", AmountMinor: p.unitYuan * 100}
	in := &interactionv1.Interaction{CustomerId: c.id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
		Channel: interactionv1.Channel_CHANNEL_STORE, Source: posSource,
		Purchase: &interactionv1.Purchase{OrderId: p.orderID, Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: p.totalMinor()},
			Lines: []*interactionv1.PurchaseLine{{Sku: fmt.Sprintf("SKU-%d", n%20), ProductName: "龙井茶", Category: "tea", Quantity: p.qty, UnitPrice: price}}}}
	id, err := d.record(ctx, in, p.requestID, viaREST)
	if err != nil {
		d.stats.gaveUp.Add(1)
		d.stats.fail(fmt.Errorf("purchase %s: %w", p.orderID, err))
		c.giveUp(p)
		return nil
	}
	p.interactionID = id
	c.ackPurchase(p)
	d.stats.purchases.Add(1)
	return p
}

// ret returns one unit of p.
func (d *driver) ret(ctx context.Context, c *customer, p *purchase, viaREST bool) {
	r := &ret{requestID: uuid.NewString(), purchase: p}
	unit := &typev1.Money{CurrencyCode: "CNY", AmountMinor: p.unitYuan * 100}
	in := &interactionv1.Interaction{CustomerId: c.id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_RETURN,
		Channel: interactionv1.Channel_CHANNEL_STORE, Source: posSource,
		Return: &interactionv1.Return{PurchaseInteractionId: p.interactionID, OrderId: p.orderID, Refund: unit, Reason: "chaos",
			Lines: []*interactionv1.PurchaseLine{{Sku: p.sku(), ProductName: "龙井茶", Category: "tea", Quantity: 1, UnitPrice: unit}}}}
	id, err := d.record(ctx, in, r.requestID, viaREST)
	if err != nil {
		d.stats.failed.Add(1)
		d.stats.fail(fmt.Errorf("return of %s: %w", p.orderID, err))
		return
	}
	r.interactionID = id
	c.ackReturn(r)
	d.stats.returns.Add(1)
}

// record sends RecordInteraction until acknowledged and returns the
// interaction id.
func (d *driver) record(ctx context.Context, in *interactionv1.Interaction, requestID string, viaREST bool) (string, error) {
	var id string
	attempts, err := retry(ctx, d.giveUpAt, func(ctx context.Context) error {
		if viaREST {
			var out interactionv1.Interaction
			if err := d.rest.post(ctx, "/v1/interactions", requestID, in, &out); err != nil {
				return err
			}
			id = out.GetId()
			return nil
		}
		resp, err := d.interaction.RecordInteraction(ctx, &interactionv1.RecordInteractionRequest{Interaction: in, RequestId: requestID})
		if err != nil {
			return grpcErr(err)
		}
		id = resp.GetInteraction().GetId()
		return nil
	})
	d.stats.retries.Add(int64(attempts - 1))
	if err != nil && isPermanent(err) {
		d.stats.rejected.Add(1)
	}
	return id, err
}

// callCenter sends one call per customer of batch, by phone, as a call
// center's integration does: BatchIngestEvents over REST or an
// IngestEvents stream over gRPC, the whole batch again on failure.
func (d *driver) callCenter(ctx context.Context, batch []*customer, viaREST bool) {
	events := make([]*interactionv1.IngestEvent, len(batch))
	for i, c := range batch {
		events[i] = &interactionv1.IngestEvent{Source: callCenterSource, ExternalId: uuid.NewString(), Phone: c.phone,
			Interaction: &interactionv1.Interaction{Kind: interactionv1.InteractionKind_INTERACTION_KIND_CALL,
				Channel: interactionv1.Channel_CHANNEL_CALL_CENTER, Summary: "来电咨询"}}
	}
	var results []*interactionv1.IngestResult
	attempts, err := retry(ctx, d.giveUpAt, func(ctx context.Context) error {
		if viaREST {
			var out interactionv1.BatchIngestEventsResponse
			if err := d.rest.post(ctx, "/v1/interactions:batchIngest", "", &interactionv1.BatchIngestEventsRequest{Events: events}, &out); err != nil {
				return err
			}
			results = out.GetResults()
			return nil
		}
		stream, err := d.interaction.IngestEvents(ctx)
		if err != nil {
			return grpcErr(err)
		}
		if err := stream.Send(&interactionv1.IngestEventsRequest{Events: events}); err != nil {
			_, err = stream.CloseAndRecv() // the stream's real error
			return grpcErr(err)
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return grpcErr(err)
		}
		results = resp.GetResults()
		return nil
	})
	d.stats.retries.Add(int64(attempts - 1))
	if err != nil {
		d.stats.failed.Add(int64(len(batch)))
		d.stats.fail(fmt.Errorf("call-center batch: %w", err))
		return
	}
	for i, r := range results {
		switch r.GetOutcome() {
		case interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED, interactionv1.IngestOutcome_INGEST_OUTCOME_DUPLICATE:
			batch[i].ackCall(events[i].GetExternalId())
			d.stats.calls.Add(1)
		default:
			d.stats.rejected.Add(1)
			d.stats.fail(fmt.Errorf("call-center event rejected: %s", r.GetReason()))
		}
	}
}

// balance is c's points balance in the default program (0 before the
// account exists).
func (d *driver) balance(ctx context.Context, c *customer) (int64, error) {
	resp, err := d.loyalty.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{CustomerId: c.id})
	if err != nil {
		if isNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	return resp.GetAccount().GetPointsBalance(), nil
}

func (p *purchase) sku() string {
	var n int64
	_, _ = fmt.Sscanf(p.orderID, "CHAOS-%d", &n)
	return fmt.Sprintf("SKU-%d", n%20)
}
