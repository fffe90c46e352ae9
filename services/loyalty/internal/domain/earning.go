package domain

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Line is one product of a purchase or a return.
type Line struct {
	SKU       string
	Category  string
	Quantity  int64
	UnitPrice Money
}

// Purchase is what the loyalty service needs to know of a recorded
// purchase.
type Purchase struct {
	InteractionID string
	CustomerID    string
	OrderID       string
	Total         Money
	Lines         []Line
	OccurTime     time.Time
}

// Validate checks the purchase, naming fields as the PurchaseRecorded event
// does.
func (p Purchase) Validate() error {
	var vs validation.Violations
	if p.InteractionID == "" {
		vs.Add("interaction_id", "is required")
	}
	checkUUID(&vs, "customer_id", p.CustomerID)
	checkCurrency(&vs, "total.currency_code", p.Total.CurrencyCode)
	checkLines(&vs, p.Lines)
	return vs.Err()
}

func checkLines(vs *validation.Violations, lines []Line) {
	for i, l := range lines {
		if l.Quantity <= 0 {
			vs.Add(fmt.Sprintf("lines[%d].quantity", i), "must be positive")
		}
		if l.UnitPrice.AmountMinor < 0 {
			vs.Add(fmt.Sprintf("lines[%d].unit_price.amount_minor", i), "must not be negative")
		}
	}
}

// LineEarning is what one purchase line earned, and how much of it a
// return took back so far.
type LineEarning struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	Points         int64  `json:"points"`
	ReturnedQty    int64  `json:"returned_qty"`
	ReversedPoints int64  `json:"reversed_points"`
}

// PurchaseEarning is a purchase's earning in one program, kept so that
// returns reverse exactly what the returned lines earned.
type PurchaseEarning struct {
	ProgramID     string        `json:"-"`
	InteractionID string        `json:"-"`
	CustomerID    string        `json:"-"`
	OrderID       string        `json:"order_id"`
	Currency      string        `json:"currency"`
	TotalMinor    int64         `json:"total_minor"`
	RefundedMinor int64         `json:"refunded_minor"`
	Points        int64         `json:"points"`
	RuleIDs       []string      `json:"rule_ids,omitempty"`
	Day           string        `json:"day"`
	Lines         []LineEarning `json:"lines"`
}

// Reversed is how many points returns have taken back.
func (e PurchaseEarning) Reversed() int64 {
	var n int64
	for _, l := range e.Lines {
		n += l.ReversedPoints
	}
	return n
}

// Earn computes what purchase p earns a member of tier tierIdx who has
// earned earnedToday purchase points on the purchase's program day: per
// line, whole units times the base rate times the best matching category
// or sku rule, the tier's and the member day's multipliers (integer
// percentages, rounded down once per line); then the order cap and what
// the day cap leaves. Purchases below the minimum spend, or in a currency
// without a base rate, earn nothing (their lines are still recorded).
func (p Program) Earn(pu Purchase, tierIdx int, earnedToday int64) (PurchaseEarning, error) {
	e := PurchaseEarning{
		ProgramID: p.ID, InteractionID: pu.InteractionID, CustomerID: pu.CustomerID, OrderID: pu.OrderID,
		Currency: pu.Total.CurrencyCode, TotalMinor: pu.Total.AmountMinor, Day: p.Day(pu.OccurTime),
	}
	lines := pu.Lines
	if len(lines) == 0 {
		lines = []Line{{Quantity: 1, UnitPrice: pu.Total}}
	}
	e.Lines = make([]LineEarning, len(lines))
	for i, l := range lines {
		e.Lines[i] = LineEarning{SKU: l.SKU, Quantity: l.Quantity}
	}
	rate := p.BaseRate(pu.Total.CurrencyCode)
	belowMin := p.MinSpendMinor > 0 && pu.Total.CurrencyCode == p.CurrencyCode && pu.Total.AmountMinor < p.MinSpendMinor
	if rate == 0 || belowMin || pu.Total.AmountMinor <= 0 {
		return e, nil
	}
	common := big.NewInt(rate)
	common.Mul(common, big.NewInt(p.Tier(tierIdx).MultiplierPercent))
	var dayPct int64 = percent
	if d, ok := p.MemberDayAt(pu.OccurTime); ok {
		dayPct = d.MultiplierPercent
		e.RuleIDs = append(e.RuleIDs, "member_day:"+d.ID)
	}
	common.Mul(common, big.NewInt(dayPct))
	div := minorPerUnit(pu.Total.CurrencyCode)
	div.Mul(div, big.NewInt(percent*percent*percent))

	var total int64
	for i, l := range lines {
		lineMult, ruleID := p.lineMultiplier(l, pu.OccurTime)
		if ruleID != "" && !slices.Contains(e.RuleIDs, ruleID) {
			e.RuleIDs = append(e.RuleIDs, ruleID)
		}
		n := big.NewInt(l.UnitPrice.AmountMinor)
		n.Mul(n, big.NewInt(max(l.Quantity, 0)))
		n.Mul(n, common)
		n.Mul(n, big.NewInt(lineMult))
		n.Quo(n, div)
		if !n.IsInt64() || n.Int64() > math.MaxInt64-total {
			return PurchaseEarning{}, fmt.Errorf("points for purchase %s: %w", pu.InteractionID, ErrPointsOverflow)
		}
		e.Lines[i].Points = n.Int64()
		total += n.Int64()
	}
	limit := total
	if p.OrderCapPoints > 0 {
		limit = min(limit, p.OrderCapPoints)
	}
	if p.DayCapPoints > 0 {
		limit = min(limit, max(0, p.DayCapPoints-earnedToday))
	}
	if limit < total {
		scaleDown(e.Lines, total, limit)
		total = limit
	}
	e.Points = total
	return e, nil
}

// lineMultiplier is the best multiplier (percent) of the earn rules that
// match line l and are active at t, and that rule's id; 100 and "" when
// none does.
func (p Program) lineMultiplier(l Line, t time.Time) (int64, string) {
	var (
		best int64 = percent
		id   string
	)
	for _, r := range p.EarnRules {
		if r.Matches(l) && r.ActiveAt(t) && (id == "" || r.MultiplierPercent > best) {
			best, id = r.MultiplierPercent, r.ID
		}
	}
	return best, id
}

// scaleDown shares limit out over the lines in proportion to what they
// earned uncapped (largest remainder, ties to the first line), so the lines
// still add up to the order's points and a return of every line reverses
// exactly what was credited.
func scaleDown(lines []LineEarning, total, limit int64) {
	if total == 0 {
		return
	}
	rems := make([]*big.Int, len(lines))
	var given int64
	for i := range lines {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(lines[i].Points), big.NewInt(limit)), big.NewInt(total), new(big.Int))
		lines[i].Points = q.Int64()
		rems[i] = r
		given += q.Int64()
	}
	for given < limit {
		best := -1
		for i := range lines {
			if best == -1 || rems[i].Cmp(rems[best]) > 0 {
				best = i
			}
		}
		lines[best].Points++
		rems[best].SetInt64(-1)
		given++
	}
}

// Return is a customer returning (part of) a purchase.
type Return struct {
	InteractionID         string
	CustomerID            string
	PurchaseInteractionID string
	OrderID               string
	Refund                Money
	Lines                 []Line
	OccurTime             time.Time
}

// Validate checks the return, naming fields as the ReturnRecorded event
// does.
func (r Return) Validate() error {
	var vs validation.Violations
	if r.InteractionID == "" {
		vs.Add("interaction_id", "is required")
	}
	checkUUID(&vs, "customer_id", r.CustomerID)
	if r.PurchaseInteractionID == "" {
		vs.Add("purchase_interaction_id", "is required")
	}
	if len(r.Lines) == 0 {
		if r.Refund.AmountMinor <= 0 {
			vs.Add("refund.amount_minor", "must be positive when no lines are returned")
		}
	}
	checkLines(&vs, r.Lines)
	return vs.Err()
}

// Reverse takes back from e the points of the returned lines (matched by
// sku, up to the quantities bought), or, for a return without lines, the
// share of the purchase's points its refund is of the total. Partial
// returns round down; once every unit is back the whole line's points are,
// so a purchase returned in full leaves nothing behind. It returns the
// points to reverse now and updates e.
func (e *PurchaseEarning) Reverse(r Return) int64 {
	var delta int64
	if len(r.Lines) == 0 {
		if e.TotalMinor <= 0 {
			return 0
		}
		e.RefundedMinor = min(e.TotalMinor, e.RefundedMinor+max(0, r.Refund.AmountMinor))
		for i := range e.Lines {
			l := &e.Lines[i]
			target := mulDiv(l.Points, e.RefundedMinor, e.TotalMinor)
			if target > l.ReversedPoints {
				delta += target - l.ReversedPoints
				l.ReversedPoints = target
			}
		}
		return delta
	}
	for _, rl := range r.Lines {
		left := rl.Quantity
		for i := range e.Lines {
			l := &e.Lines[i]
			if left == 0 {
				break
			}
			if l.SKU != rl.SKU || l.ReturnedQty >= l.Quantity {
				continue
			}
			q := min(left, l.Quantity-l.ReturnedQty)
			left -= q
			l.ReturnedQty += q
			target := mulDiv(l.Points, l.ReturnedQty, l.Quantity)
			if target > l.ReversedPoints {
				delta += target - l.ReversedPoints
				l.ReversedPoints = target
			}
		}
	}
	return delta
}

// mulDiv is a*b/c rounded down, without overflowing in between.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return n.Quo(n, big.NewInt(c)).Int64()
}
