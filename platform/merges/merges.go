// Package merges holds the rules every service applies to the customer
// service's customer.customer.merged events: when a merge still has work to
// do, when it is a replay, when it contradicts an earlier one, and how an id
// resolves to the customer it stands for today. It is pure Go, so service
// domains may use it.
package merges

import (
	"context"
	"errors"
	"fmt"
)

// ErrConflict means a merge contradicts an earlier one: the merged customer
// was already folded into another survivor, or the survivor into the merged
// customer. No retry can apply such a merge.
var ErrConflict = errors.New("merge conflicts with an earlier merge")

// MaxHops bounds how many merges a lookup follows to reach a survivor. A
// merge re-points the customers merged into the merged one at the
// survivor, so one hop is the rule; the bound only stops a corrupt cycle.
const MaxHops = 8

// Decide says whether folding mergedID into survivorID still has to move
// anything, given whom the merged customer is already merged into ("" for
// nobody) and the customer survivorID resolves to today (itself, or whom it
// was merged into since). A merge applied before moves nothing, so replays
// are harmless; a merge contradicting an earlier one is an ErrConflict.
func Decide(mergedID, survivorID, mergedInto, survivor string) (apply bool, err error) {
	switch {
	case survivor == mergedID:
		return false, fmt.Errorf("merge %s into %s, which was merged into it: %w", mergedID, survivorID, ErrConflict)
	case mergedInto == survivor:
		return false, nil
	case mergedInto != "":
		return false, fmt.Errorf("merge %s into %s, already merged into %s: %w", mergedID, survivor, mergedInto, ErrConflict)
	}
	return true, nil
}

// Resolve follows merges from id to the customer it stands for; mergedInto
// returns whom a customer was merged into, "" for nobody.
func Resolve(ctx context.Context, mergedInto func(ctx context.Context, id string) (string, error), id string) (string, error) {
	for range MaxHops {
		into, err := mergedInto(ctx, id)
		if err != nil || into == "" {
			return id, err
		}
		id = into
	}
	return "", fmt.Errorf("customer %s: merges form a cycle: %w", id, ErrConflict)
}
