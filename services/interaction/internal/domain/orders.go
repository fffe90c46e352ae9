package domain

import "fmt"

// OrderKey is a purchase's natural identity: its order id in the system
// that reported it (the interaction's Source; "" for purchases posted
// without one). The same order reported twice is one purchase, whatever
// request ids or source ids the reports carried, so a retry without an
// idempotency key never counts an order (and its points) twice. Order ids
// are scoped by source, not by channel: a store's POS and its web shop
// number orders each in their own way, while one system keeps one
// sequence whatever channel it sells on.
type OrderKey struct {
	Source  string
	OrderID string
}

// OrderKeyOf returns the order key of a purchase that carries an order id;
// ok is false for anything else. A return's order id names the purchase
// it gives back (partial returns of one order share it), so it is no key.
func OrderKeyOf(in Interaction) (key OrderKey, ok bool) {
	if in.Purchase == nil || in.Purchase.OrderID == "" {
		return OrderKey{}, false
	}
	return OrderKey{Source: in.Source, OrderID: in.Purchase.OrderID}, true
}

// RecordedOrder is what a store knows of the purchase recorded under an
// order key.
type RecordedOrder struct {
	InteractionID string
	CustomerID    string
	Total         Money
}

// SameOrder reports whether a new report of an order repeats the purchase
// recorded under its key: the same total for the same customer (both
// given as the customers they survive as). Anything else is another
// purchase claiming the order's identity, an OrderConflictError, as a
// payment API answers an idempotency key reused with other parameters.
// Lines and times are not compared: a retry may well omit the occur time
// (and get "now"), but it cannot change what was paid or by whom.
func SameOrder(prev RecordedOrder, customerID string, total Money) bool {
	return prev.CustomerID == customerID && prev.Total == total
}

// OrderConflictError says a purchase reuses the order id of another
// purchase of the same source, with another total or customer.
type OrderConflictError struct {
	Key OrderKey
}

func (e *OrderConflictError) Error() string {
	if e.Key.Source == "" {
		return fmt.Sprintf("order %q is already recorded with another total or customer", e.Key.OrderID)
	}
	return fmt.Sprintf("order %q of source %q is already recorded with another total or customer", e.Key.OrderID, e.Key.Source)
}

// Is makes errors.Is(err, ErrConflict) hold for a reused order id.
func (e *OrderConflictError) Is(target error) bool { return target == ErrConflict }
