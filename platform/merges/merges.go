// Package merges holds the rules every service applies to the customer
// service's customer.customer.merged and customer.customer.erased events:
// what a merge and an erasure are and when they are valid, when a merge
// still has work to do, when it is a replay, when it contradicts an earlier
// one, how an id resolves to the customer it stands for today, and the
// order in which a follow-up reads and locks. It is pure Go (no SQL, no
// NATS, no proto), so service domains may use it; what each service moves
// or forgets stays with the service. Package mergeevents decodes the
// events into these values, package mergesql keeps the bookkeeping tables.
package merges

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ErrConflict means a merge contradicts an earlier one: the merged customer
// was already folded into another survivor, or the survivor into the merged
// customer. No retry can apply such a merge.
var ErrConflict = errors.New("merge conflicts with an earlier merge")

// MaxHops bounds how many merges a lookup follows to reach a survivor. A
// merge re-points the customers merged into the merged one at the
// survivor, so one hop is the rule; the bound only stops a corrupt cycle.
const MaxHops = 8

// Merge is one customer folded into another by the customer service (a
// CustomerMerged event). What the merged customer's rows become is each
// service's own rule.
type Merge struct {
	MergedID   string
	SurvivorID string
	// At is when the merge happened (the event's time): it dates the
	// merge's bookkeeping and registers a customer not seen before.
	At time.Time
}

// Validate checks the merge, naming fields as the CustomerMerged event does.
func (m Merge) Validate() validation.Violations {
	var v validation.Violations
	checkID(&v, "merged_customer_id", m.MergedID)
	if checkID(&v, "survivor_customer_id", m.SurvivorID) && m.SurvivorID == m.MergedID {
		v.Add("survivor_customer_id", "must differ from merged_customer_id")
	}
	return v
}

// Decide says whether the merge still has to move anything, given whom the
// merged customer is already merged into ("" for nobody) and the customer
// the named survivor resolves to today; see the package function Decide.
func (m Merge) Decide(mergedInto, survivor string) (apply bool, err error) {
	return Decide(m.MergedID, m.SurvivorID, mergedInto, survivor)
}

// Erasure is a customer's personal data being erased everywhere (a
// CustomerErased event). What it removes is each service's own rule; every
// service records that it reached it, the evidence an erasure audit asks
// for.
type Erasure struct {
	CustomerID string
	// EraseTime is when the customer service erased the customer.
	EraseTime time.Time
}

// Validate checks the erasure, naming fields as the CustomerErased event
// does.
func (e Erasure) Validate() validation.Violations {
	var v validation.Violations
	checkID(&v, "customer_id", e.CustomerID)
	return v
}

// checkID adds a violation unless id is a UUID in its canonical
// 36-character form (the other forms uuid.Parse accepts would make one
// customer spellable in several ways), and reports whether it is.
func checkID(v *validation.Violations, field, id string) bool {
	switch {
	case id == "":
		v.Add(field, "is required")
	case len(id) != 36 || uuid.Validate(id) != nil:
		v.Add(field, "must be a UUID")
	default:
		return true
	}
	return false
}

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

// Lookup returns whom a customer was merged into, "" for nobody: a store's
// or a transaction's MergedInto, or a locking variant of it.
type Lookup func(ctx context.Context, id string) (string, error)

// Resolve follows merges from id to the customer it stands for.
func Resolve(ctx context.Context, mergedInto Lookup, id string) (string, error) {
	for range MaxHops {
		into, err := mergedInto(ctx, id)
		if err != nil || into == "" {
			return id, err
		}
		id = into
	}
	return "", fmt.Errorf("customer %s: merges form a cycle: %w", id, ErrConflict)
}

// LookupMany returns whom each merged customer among ids was merged into;
// customers merged into nobody are missing.
type LookupMany func(ctx context.Context, ids []string) (map[string]string, error)

// ResolveAll is Resolve for many ids at once, a lookup per hop: it maps
// each of ids to the customer it stands for today (itself when it was not
// merged).
func ResolveAll(ctx context.Context, mergedInto LookupMany, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	pending := map[string][]string{} // customer looked up -> ids that stand for it
	for _, id := range ids {
		out[id] = id
		if !slices.Contains(pending[id], id) {
			pending[id] = append(pending[id], id)
		}
	}
	for range MaxHops {
		if len(pending) == 0 {
			return out, nil
		}
		into, err := mergedInto(ctx, slices.Sorted(maps.Keys(pending)))
		if err != nil {
			return nil, err
		}
		next := map[string][]string{}
		for from, survivor := range into {
			for _, id := range pending[from] {
				out[id] = survivor
				next[survivor] = append(next[survivor], id)
			}
		}
		pending = next
	}
	if len(pending) == 0 {
		return out, nil
	}
	return nil, fmt.Errorf("customers %v: merges form a cycle: %w", slices.Sorted(maps.Keys(pending)), ErrConflict)
}

// InIDOrder runs the step that reads (and locks) the merged customer and
// the one that reads the survivor in the order of their ids, stopping at
// the first error: two merges over the same customers then take their row
// locks in the same order and cannot deadlock on PostgreSQL.
func InIDOrder(m Merge, merged, survivor func() error) error {
	first, second := merged, survivor
	if m.MergedID >= m.SurvivorID {
		first, second = survivor, merged
	}
	if err := first(); err != nil {
		return err
	}
	return second()
}

// Plan reads through mergedInto whom m's merged customer is merged into and
// whom its survivor stands for today (in id order, see InIDOrder, so a
// locking lookup is safe), and decides. It returns m naming today's
// survivor, and whether it still has to move anything; a merge that
// contradicts an earlier one is an ErrConflict.
func Plan(ctx context.Context, mergedInto Lookup, m Merge) (Merge, bool, error) {
	var into, survivor string
	err := InIDOrder(m, func() (err error) {
		into, err = mergedInto(ctx, m.MergedID)
		return err
	}, func() (err error) {
		survivor, err = Resolve(ctx, mergedInto, m.SurvivorID)
		return err
	})
	if err != nil {
		return m, false, err
	}
	apply, err := m.Decide(into, survivor)
	if err != nil {
		return m, false, err
	}
	m.SurvivorID = survivor
	return m, apply, nil
}

// Inbox is what handling an event once needs of a service's transaction.
type Inbox interface {
	// MarkHandled records that consumer handled eventID, and reports
	// whether this is the first time.
	MarkHandled(ctx context.Context, consumer, eventID string) (first bool, err error)
}

// Once runs apply in the transaction that marks eventID handled by
// consumer, unless it was handled before: the mark comes first, so a
// redelivered event, or one handled by two replicas at once, changes
// nothing twice.
func Once(ctx context.Context, tx Inbox, consumer, eventID string, apply func() error) error {
	first, err := tx.MarkHandled(ctx, consumer, eventID)
	if err != nil || !first {
		return err
	}
	return apply()
}

// Tx is what Fold and Erase need of a service's transaction: its inbox and
// its merge links.
type Tx interface {
	Inbox
	MergedInto(ctx context.Context, customerID string) (string, error)
}

// Fold handles a merge event once (see Once): it plans m through the
// transaction's links and, when the merge still has to move anything, calls
// fold with m naming today's survivor. A replay, or the same merge under
// another event, moves nothing.
func Fold(ctx context.Context, tx Tx, consumer, eventID string, m Merge, fold func(Merge) error) error {
	return Once(ctx, tx, consumer, eventID, func() error {
		m, apply, err := Plan(ctx, tx.MergedInto, m)
		if err != nil || !apply {
			return err
		}
		return fold(m)
	})
}

// Erase handles an erasure event once (see Once), calling erase with e
// naming the customer it stands for today: an erasure naming a merged
// customer erases the survivor, which holds the merged customer's data.
func Erase(ctx context.Context, tx Tx, consumer, eventID string, e Erasure, erase func(Erasure) error) error {
	return Once(ctx, tx, consumer, eventID, func() (err error) {
		if e.CustomerID, err = Resolve(ctx, tx.MergedInto, e.CustomerID); err != nil {
			return err
		}
		return erase(e)
	})
}
