package chaos

import (
	"sync"
)

// truth is what the clients were told: every acknowledged purchase,
// return and call-center event, by customer. Reconciliation compares
// every service's state with it.
type truth struct {
	mu        sync.Mutex
	customers []*customer
	byID      map[string]*customer
}

type customer struct {
	id, phone string
	mu        sync.Mutex
	purchases []*purchase
	returns   []*ret
	calls     []string // external ids of acknowledged call-center events
	// unsure are purchases given up on (never acknowledged): they may or
	// may not have been recorded, so they are neither lost nor duplicated
	// whichever way it went, and the expected sums take them as found.
	unsure []*purchase
}

type purchase struct {
	orderID, requestID string
	interactionID      string // from the acknowledgement
	unitYuan, qty      int64
	returned           bool // a return was acknowledged
}

func (p *purchase) totalMinor() int64 { return p.unitYuan * p.qty * 100 }

// points is what the default program credits: one point per whole yuan.
func (p *purchase) points() int64 { return p.unitYuan * p.qty }

type ret struct {
	requestID     string
	interactionID string
	purchase      *purchase
}

// refundMinor: a return gives back one unit of the purchase's line.
func (r *ret) refundMinor() int64 { return r.purchase.unitYuan * 100 }

// points reversed: one unit's share of the line's points.
func (r *ret) points() int64 { return r.purchase.points() * 1 / r.purchase.qty }

func newTruth() *truth { return &truth{byID: map[string]*customer{}} }

func (t *truth) add(c *customer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.customers = append(t.customers, c)
	t.byID[c.id] = c
}

func (c *customer) ackPurchase(p *purchase) {
	c.mu.Lock()
	c.purchases = append(c.purchases, p)
	c.mu.Unlock()
}

func (c *customer) giveUp(p *purchase) {
	c.mu.Lock()
	c.unsure = append(c.unsure, p)
	c.mu.Unlock()
}

func (c *customer) ackReturn(r *ret) {
	c.mu.Lock()
	r.purchase.returned = true
	c.returns = append(c.returns, r)
	c.mu.Unlock()
}

func (c *customer) ackCall(externalID string) {
	c.mu.Lock()
	c.calls = append(c.calls, externalID)
	c.mu.Unlock()
}

// snapshot copies what c was told.
func (c *customer) snapshot() (ps []*purchase, rs []*ret, calls []string, unsure []*purchase) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(ps, c.purchases...), append(rs, c.returns...), append(calls, c.calls...), append(unsure, c.unsure...)
}
