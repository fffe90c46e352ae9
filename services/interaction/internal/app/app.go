// Package app holds the interaction service's use cases, one type per
// area: the timeline (recording an interaction exactly once and listing a
// customer's timeline), call-center ingestion, cases and their settings,
// follow-ups, surveys, and the customer service's merges and erasures.
package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/guanxi-crm/guanxi/platform/linksign"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/guanxi-crm/guanxi/platform/groupcommit"
	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// ConsumerCustomers is the inbox name of the customer events consumer; it
// is also its durable JetStream consumer name.
const ConsumerCustomers = "interaction-customers"

// Page sizes of ListInteractions (AIP-158).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Service is the interaction service's use cases, by area. Each port
// holds the areas it calls; all of them share one store, one customer
// client and the caches built from what ingestion learnt.
type Service struct {
	// Timeline records interactions one by one and lists a customer's timeline.
	Timeline *Timeline
	// Ingestion records call-center events in batches.
	Ingestion *Ingestion
	// Cases opens, works and closes cases under their SLA clocks.
	Cases *Cases
	// CaseSettings holds what cases are worked under: business calendars,
	// SLA policies and teams.
	CaseSettings *CaseSettings
	// Followups schedules and completes follow-ups and their rules.
	Followups *Followups
	// Surveys sends and answers satisfaction surveys.
	Surveys *Surveys
	// Merges applies the customer service's merges and erasures.
	Merges *Merges
}

// core is what every area of the use cases shares: the store, the
// customer service and the caches in front of them.
type core struct {
	store     domain.Store
	customers domain.Customers
	directory domain.Directory
	now       func() time.Time
	// resolved caches what ingestion learnt from the customer service:
	// customer ids to the id to keep interactions under, phone numbers to
	// customers. Merges and erasures learnt later still apply, as the
	// store's merge and erasure records are consulted on every batch.
	resolved *lookupCache
	lookups  singleflight.Group
	// surveyBaseURL prefixes survey ids in invitation links to an outside
	// survey tool; else surveySigner signs links to surveyPublicURL.
	surveyBaseURL   string
	surveyPublicURL string
	surveySigner    *linksign.Signer
	// rules caches the follow-up rules every purchase is matched against.
	rules rulesCache
	// records commits RecordInteraction's writes, in groups under load.
	records *groupcommit.Group[pendingRecord]
}

// Timeline records interactions one at a time and reads a customer's
// timeline.
type Timeline struct{ *core }

// Merges re-keys and anonymizes timelines on the customer service's
// merge and erasure events.
type Merges struct{ *core }

// Option configures a Service.
type Option func(*core)

// WithDirectory sets where ingestion finds callers by phone and creates
// prospects; without one, events must name their customer.
func WithDirectory(d domain.Directory) Option {
	return func(s *core) { s.directory = d }
}

// New returns a Service. now is the clock; nil means time.Now.
func New(store domain.Store, customers domain.Customers, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &core{store: store, customers: customers, now: now, resolved: newLookupCache(100_000)}
	s.records = groupcommit.New(s.writeRecords)
	for _, o := range opts {
		o(s)
	}
	surveys := &Surveys{s}
	return &Service{
		Timeline:     &Timeline{s},
		Ingestion:    &Ingestion{s},
		Cases:        &Cases{core: s, surveys: surveys},
		CaseSettings: &CaseSettings{s},
		Followups:    &Followups{s},
		Surveys:      surveys,
		Merges:       &Merges{s},
	}
}

// RecordInteraction is the input of Timeline.RecordInteraction.
type RecordInteraction struct {
	Interaction domain.Interaction
	// RequestID makes the call idempotent (AIP-155); may be empty.
	RequestID string
}

// RecordInteraction validates and stores a new interaction and publishes its
// events in the same transaction. A repeat (same request id, same source
// and source id, or a purchase with the same source and order id, the
// same total and customer) returns the interaction first recorded and
// publishes nothing; a purchase reusing an order id with another total or
// customer is a *domain.OrderConflictError.
func (s *Timeline) RecordInteraction(ctx context.Context, cmd RecordInteraction) (domain.Interaction, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	in := cmd.Interaction
	in.Normalize(now)
	// Field paths follow the command, which mirrors the API request.
	v := in.Validate(now).Nest("interaction")
	v = append(v, domain.ValidateRequestID("request_id", cmd.RequestID)...)
	if err := v.Err(); err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: %w", err)
	}
	key := domain.IdempotencyKey{RequestID: cmd.RequestID, Source: in.Source, SourceID: in.SourceID}
	// A repeat under its request or source id is answered before asking the
	// customer service, so a retrying client gets its result even while
	// that service is down. A purchase repeated under its order id only is
	// found by the unique order index when it is written (ErrDuplicate
	// below): looking each order up first would cost every purchase a read
	// to catch the rare repeat.
	if prev, ok, err := s.findByKey(ctx, key); err != nil || ok {
		return prev, err
	}
	// The customer service answers with the survivor for a merged customer:
	// the interaction joins the survivor's timeline, and its events name
	// the survivor, so loyalty and segmentation credit the right customer.
	// What this service learnt from merge and erasure events backs it up:
	// writeRecords consults it for the whole group at once, and a return
	// consults it now, to be checked against its purchase.
	resolve := s.checkCustomer
	if in.Return != nil {
		resolve = s.resolveCustomer
	}
	customerID, err := resolve(ctx, in.CustomerID)
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: %w", err)
	}
	in.CustomerID = customerID
	if err := s.checkReturnedPurchase(ctx, &in); err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: new id: %w", err)
	}
	in.ID = id.String()
	in.CreateTime = now
	rules, err := s.purchaseRules(ctx, in)
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: %w", err)
	}
	err = s.records.Do(ctx, pendingRecord{ctx: ctx, in: &in, key: key, rules: rules, now: now})
	if errors.Is(err, domain.ErrDuplicate) {
		// A concurrent call with the same key or order won the race;
		// answer as the repeat (or the conflict) this call is.
		prev, ok, ferr := s.findRepeat(ctx, key, in)
		if ferr != nil {
			return domain.Interaction{}, ferr
		}
		if ok {
			return prev, nil
		}
	}
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("record interaction: %w", err)
	}
	return in, nil
}

// pendingRecord is a recorded interaction waiting for the commit of its
// group (see groupcommit.Group).
type pendingRecord struct {
	ctx   context.Context // the caller's, whose trace the events carry
	in    *domain.Interaction
	key   domain.IdempotencyKey
	rules []domain.FollowupRule
	now   time.Time
}

// writeRecords stores recorded interactions, their follow-ups and their
// events in one transaction, each under the customer its own survives as
// (see Store.ResolveCustomers). An erased customer fails the group, and so
// the record naming it when it is written on its own.
func (s *core) writeRecords(ctx context.Context, recs []pendingRecord) error {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.in.CustomerID
	}
	survivors, erased, err := s.store.ResolveCustomers(ctx, ids)
	if err != nil {
		return err
	}
	keyed := make([]domain.Keyed, len(recs))
	var fs []domain.Followup
	for i, r := range recs {
		cid := survivors[r.in.CustomerID]
		if erased[cid] {
			return &domain.CustomerErasedError{CustomerID: r.in.CustomerID}
		}
		r.in.CustomerID = cid
		keyed[i] = domain.Keyed{Interaction: *r.in, Key: r.key}
		fs = append(fs, domain.FollowupsForPurchase(r.rules, *r.in, r.now)...)
	}
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.Insert(ctx, keyed...); err != nil {
			return err
		}
		if err := scheduleFollowups(ctx, tx, fs); err != nil {
			return err
		}
		for _, r := range recs {
			for _, ev := range domain.RecordedEvents(*r.in) {
				if err := tx.Publish(r.ctx, ev); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// checkReturnedPurchase makes sure a return names a purchase of the same
// customer, and takes the purchase's order id when the return has none.
func (s *Timeline) checkReturnedPurchase(ctx context.Context, in *domain.Interaction) error {
	r := in.Return
	if r == nil || r.PurchaseInteractionID == "" {
		return nil
	}
	p, err := s.store.GetInteraction(ctx, r.PurchaseInteractionID)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	if err != nil || p.Purchase == nil || p.CustomerID != in.CustomerID {
		var v validation.Violations
		v.Add("interaction.return.purchase_interaction_id", "is not a purchase of this customer")
		return v.Err()
	}
	if r.OrderID == "" {
		r.OrderID = p.Purchase.OrderID
	}
	return nil
}

// findByKey returns what an earlier call recorded under the request id or
// source pair of key, if key has either.
func (s *Timeline) findByKey(ctx context.Context, key domain.IdempotencyKey) (domain.Interaction, bool, error) {
	if key.RequestID == "" && key.SourceID == "" {
		return domain.Interaction{}, false, nil
	}
	prev, err := s.store.FindByKey(ctx, key)
	switch {
	case err == nil:
		return prev, true, nil
	case errors.Is(err, domain.ErrNotFound):
		return domain.Interaction{}, false, nil
	}
	return domain.Interaction{}, false, fmt.Errorf("record interaction: find repeat: %w", err)
}

// findRepeat returns what an earlier report of in recorded: under the
// request id or source pair of key, else, for a purchase, under its order
// key, when it is the same purchase (see domain.SameOrder).
func (s *Timeline) findRepeat(ctx context.Context, key domain.IdempotencyKey, in domain.Interaction) (domain.Interaction, bool, error) {
	if prev, ok, err := s.findByKey(ctx, key); err != nil || ok {
		return prev, ok, err
	}
	order, ok := domain.OrderKeyOf(in)
	if !ok {
		return domain.Interaction{}, false, nil
	}
	found, err := s.store.FindOrders(ctx, []domain.OrderKey{order})
	if err != nil {
		return domain.Interaction{}, false, fmt.Errorf("record interaction: find order: %w", err)
	}
	rec, ok := found[order]
	if !ok {
		return domain.Interaction{}, false, nil
	}
	// The recorded purchase moved to the survivor of any merge since; the
	// repeat may still name the merged customer.
	customerID := in.CustomerID
	if customerID != rec.CustomerID {
		if customerID, err = s.survivor(ctx, customerID); err != nil {
			return domain.Interaction{}, false, fmt.Errorf("record interaction: %w", err)
		}
	}
	if !domain.SameOrder(rec, customerID, in.Purchase.Total) {
		return domain.Interaction{}, false, fmt.Errorf("record interaction: %w", &domain.OrderConflictError{Key: order})
	}
	prev, err := s.store.GetInteraction(ctx, rec.InteractionID)
	if err != nil {
		return domain.Interaction{}, false, fmt.Errorf("record interaction: find order: %w", err)
	}
	return prev, true, nil
}

// ListInteractions is the input of Timeline.ListInteractions.
type ListInteractions struct {
	CustomerID string
	// Filter is an AIP-160 filter (see domain.TimelineQuery).
	Filter string
	// PageSize is the page size asked for; 0 means DefaultPageSize and
	// larger than MaxPageSize means MaxPageSize.
	PageSize int
	// After is where the previous page ended; nil for the first page.
	After *domain.Cursor
}

// InteractionPage is one page of a customer's timeline.
type InteractionPage struct {
	Interactions []domain.Interaction
	// Next is where the next page starts; nil on the last page.
	Next *domain.Cursor
	// OpenCases are the customer's cases that are not closed, and
	// PendingFollowups its follow-ups not done, on the first page only.
	OpenCases        []domain.Case
	PendingFollowups []domain.Followup
}

// ListInteractions returns a page of a customer's timeline, newest first;
// for a customer merged into another, the survivor's. An unknown customer
// has an empty timeline: the customer service is not asked, so reading
// stays available when it is down.
func (s *Timeline) ListInteractions(ctx context.Context, q ListInteractions) (InteractionPage, error) {
	v := domain.ValidateCustomerID("customer_id", q.CustomerID)
	if q.PageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return InteractionPage{}, fmt.Errorf("list interactions: %w", err)
	}
	size := q.PageSize
	switch {
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	customerID, err := s.survivor(ctx, q.CustomerID)
	if err != nil {
		return InteractionPage{}, fmt.Errorf("list interactions: %w", err)
	}
	// One extra row tells whether a next page exists.
	items, err := s.store.Timeline(ctx, domain.TimelineQuery{CustomerID: customerID, Filter: q.Filter, After: q.After, Limit: size + 1})
	if err != nil {
		return InteractionPage{}, fmt.Errorf("list interactions: %w", err)
	}
	page := InteractionPage{Interactions: items}
	if q.After == nil {
		if page.OpenCases, err = s.store.ListCases(ctx, domain.CaseQuery{CustomerID: customerID, OpenOnly: true, Limit: MaxPageSize}); err != nil {
			return InteractionPage{}, fmt.Errorf("list interactions: open cases: %w", err)
		}
		if page.PendingFollowups, err = s.store.ListFollowups(ctx, domain.FollowupQuery{CustomerID: customerID, PendingOnly: true, Limit: MaxPageSize}); err != nil {
			return InteractionPage{}, fmt.Errorf("list interactions: pending followups: %w", err)
		}
	}
	if len(items) > size {
		page.Interactions = items[:size]
		last := items[size-1]
		page.Next = &domain.Cursor{OccurTime: last.OccurTime, ID: last.ID}
	}
	return page, nil
}

// survivorVia follows merges from id to the customer it stands for;
// mergedInto is MergedInto of a Store or a Tx.
func survivorVia(ctx context.Context, mergedInto merges.Lookup, id string) (string, error) {
	return merges.Resolve(ctx, mergedInto, id)
}

func (s *Timeline) survivor(ctx context.Context, id string) (string, error) {
	return survivorVia(ctx, s.store.MergedInto, id)
}

// MergeCustomers moves the merged customer's timeline to the survivor and
// remembers the merge, so interactions later reported for the merged
// customer join the survivor's timeline. A survivor merged since stands
// for its own survivor. eventID is the CustomerMerged event's: seeing it
// again, or the same merge under another event, changes nothing.
func (s *Merges) MergeCustomers(ctx context.Context, eventID string, m domain.Merge) error {
	if err := m.Validate().Err(); err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Fold(ctx, tx, ConsumerCustomers, eventID, m, func(m domain.Merge) error {
			return tx.MergeCustomer(ctx, m)
		})
	})
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	return nil
}

// EraseCustomer removes the personal data of the customer's interactions
// (see domain.Erasure) and remembers the customer as erased. An erasure
// naming a merged customer erases the survivor, whose timeline holds the
// merged one's. eventID is the CustomerErased event's: seeing it again
// changes nothing.
func (s *Merges) EraseCustomer(ctx context.Context, eventID string, e domain.Erasure) error {
	if err := e.Validate().Err(); err != nil {
		return fmt.Errorf("erase customer: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		return merges.Erase(ctx, tx, ConsumerCustomers, eventID, e, func(e domain.Erasure) error {
			_, err := tx.EraseCustomer(ctx, e, s.now().UTC().Truncate(time.Microsecond))
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("erase customer: %w", err)
	}
	return nil
}
