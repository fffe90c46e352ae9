package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// lookupConcurrency bounds the calls to the customer service one batch
// makes at once.
const lookupConcurrency = 8

// maxIngestAttempts bounds how often a batch is retried after losing a race
// on one of its keys to a concurrent batch. Each retry finds the winner's
// rows and records the rest, so a retry makes progress; several are only
// needed when many callers replay the same events at the same moment.
const maxIngestAttempts = 12

// Ingestion records batches of call-center events, finding or creating
// the callers they name.
type Ingestion struct{ *core }

// Ingest records a batch of call-center events, each exactly once, and
// returns one result per event, in order. A replayed event (same source and
// external id, in this batch or any earlier one) is a duplicate and changes
// nothing; an invalid one, or one naming an unknown or erased customer, is
// rejected with the reason. The batch is written in one transaction. An
// error means nothing was recorded and the whole batch may be retried.
func (s *Ingestion) Ingest(ctx context.Context, evs []domain.IngestEvent) ([]domain.IngestResult, error) {
	if len(evs) > domain.MaxIngestBatch {
		var v validation.Violations
		v.Add("events", fmt.Sprintf("must be at most %d per batch", domain.MaxIngestBatch))
		return nil, fmt.Errorf("ingest: %w", v.Err())
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	results := make([]domain.IngestResult, len(evs))
	firstOf := map[domain.SourceKey]int{}
	repeatOf := map[int]int{}
	var pending []int
	for i := range evs {
		ev := &evs[i]
		results[i] = domain.IngestResult{Source: ev.Source, ExternalID: ev.ExternalID}
		if v := s.checkEvent(ev, now); len(v) > 0 {
			results[i].Outcome = domain.OutcomeRejected
			results[i].Field, results[i].Reason = v[0].Field, v[0].Description
			continue
		}
		key := domain.SourceKey{Source: ev.Source, SourceID: ev.ExternalID}
		if j, ok := firstOf[key]; ok {
			repeatOf[i] = j
			continue
		}
		firstOf[key] = i
		pending = append(pending, i)
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = s.ingestPending(ctx, evs, results, pending, now)
		if !errors.Is(err, domain.ErrDuplicate) || attempt == maxIngestAttempts {
			break
		}
		// A short random pause lets the batches that collided drift
		// apart instead of colliding again in step.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ingest: %w", ctx.Err())
		case <-time.After(time.Duration(1+rand.IntN(10*attempt)) * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	for i, j := range repeatOf {
		r := results[j]
		r.ProspectCreated = false
		if r.Outcome == domain.OutcomeCreated {
			r.Outcome = domain.OutcomeDuplicate
		}
		results[i] = r
	}
	return results, nil
}

// checkEvent normalizes an event's interaction and returns what is wrong
// with it, with field paths as in the API's IngestEvent.
func (s *Ingestion) checkEvent(ev *domain.IngestEvent, now time.Time) validation.Violations {
	v := ev.Violations
	if ev.Source == "" {
		v.Add("source", "is required")
	}
	if ev.ExternalID == "" {
		v.Add("external_id", "is required")
	}
	if len(ev.Source) > domain.MaxKeyLength {
		v.Add("source", fmt.Sprintf("must be at most %d bytes", domain.MaxKeyLength))
	}
	if len(ev.ExternalID) > domain.MaxKeyLength {
		v.Add("external_id", fmt.Sprintf("must be at most %d bytes", domain.MaxKeyLength))
	}
	in := &ev.Interaction
	in.Source, in.SourceID = ev.Source, ev.ExternalID
	in.Normalize(now)
	for _, x := range in.ValidateContent(now) {
		if x.Field != "source" && x.Field != "source_id" {
			v = append(v, validation.Violation{Field: "interaction." + x.Field, Description: x.Description})
		}
	}
	switch {
	case in.CustomerID != "":
		v = append(v, domain.ValidateCustomerID("interaction.customer_id", in.CustomerID)...)
	case ev.Phone == "":
		v.Add("phone", "is required when interaction.customer_id is empty")
	case s.directory == nil:
		v.Add("phone", "cannot be matched: no customer directory is configured")
	default:
		phone, ok := domain.NormalizePhone(ev.Phone)
		if !ok {
			v.Add("phone", "is not a phone number")
		}
		ev.Phone = phone
	}
	return v
}

// ingestPending records the pending events that are not yet recorded. It
// returns ErrDuplicate when a concurrent batch took one of the keys first;
// the caller then runs it again, and that event is found as a duplicate.
func (s *Ingestion) ingestPending(ctx context.Context, evs []domain.IngestEvent, results []domain.IngestResult, pending []int, now time.Time) error {
	if len(pending) == 0 {
		return nil
	}
	keys := make([]domain.SourceKey, len(pending))
	for n, i := range pending {
		keys[n] = domain.SourceKey{Source: evs[i].Source, SourceID: evs[i].ExternalID}
	}
	found, err := s.store.FindBySourceKeys(ctx, keys)
	if err != nil {
		return err
	}
	var todo []int
	for n, i := range pending {
		if r, ok := found[keys[n]]; ok {
			results[i].Outcome = domain.OutcomeDuplicate
			// A prospect this batch created for the caller stays reported
			// even when a concurrent batch recorded the event first.
			results[i].InteractionID, results[i].CustomerID = r.InteractionID, r.CustomerID
			continue
		}
		todo = append(todo, i)
	}
	if err := s.resolveCallers(ctx, evs, results, todo); err != nil {
		return err
	}
	var ids []string
	seen := map[string]bool{}
	for _, i := range todo {
		if id := results[i].CustomerID; results[i].Outcome != domain.OutcomeRejected && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	survivors, erased, err := s.store.ResolveCustomers(ctx, ids)
	if err != nil {
		return err
	}
	batch := make([]domain.Interaction, 0, len(todo))
	var created []int
	for _, i := range todo {
		if results[i].Outcome == domain.OutcomeRejected {
			continue
		}
		cid := survivors[results[i].CustomerID]
		if erased[cid] {
			results[i].Outcome = domain.OutcomeRejected
			results[i].Field, results[i].Reason = "interaction.customer_id", "the customer was erased"
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("new id: %w", err)
		}
		in := evs[i].Interaction
		in.ID, in.CustomerID, in.CreateTime = id.String(), cid, now
		batch = append(batch, in)
		created = append(created, i)
	}
	batch, created, repeats, err := s.takeOutRecordedOrders(ctx, batch, created, results)
	if err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	rules, err := s.purchaseRules(ctx, batch...)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.InsertBatch(ctx, batch); err != nil {
			return err
		}
		var fs []domain.Followup
		for _, in := range batch {
			fs = append(fs, domain.FollowupsForPurchase(rules, in, now)...)
		}
		if err := scheduleFollowups(ctx, tx, fs); err != nil {
			return err
		}
		events := make([]domain.Event, 0, len(batch)*2)
		for _, in := range batch {
			events = append(events, domain.RecordedEvents(in)...)
		}
		return tx.Publish(ctx, events...)
	})
	if err != nil {
		return err
	}
	for n, i := range created {
		results[i].Outcome = domain.OutcomeCreated
		results[i].InteractionID, results[i].CustomerID = batch[n].ID, batch[n].CustomerID
	}
	for i, n := range repeats {
		results[i].Outcome = domain.OutcomeDuplicate
		results[i].InteractionID, results[i].CustomerID = batch[n].ID, batch[n].CustomerID
	}
	return nil
}

// takeOutRecordedOrders takes out of batch the purchases whose order (see
// domain.OrderKey) is recorded already, by an earlier call or earlier in
// this batch, as RecordInteraction does: the same purchase again is a
// duplicate of the one recorded, another purchase under its order id is
// rejected. created holds the event index of each interaction in batch;
// the batch and indexes left are returned, with the events repeating an
// order first met in this batch mapped to that one's position in the
// batch left.
func (s *Ingestion) takeOutRecordedOrders(ctx context.Context, batch []domain.Interaction, created []int, results []domain.IngestResult) ([]domain.Interaction, []int, map[int]int, error) {
	var keys []domain.OrderKey
	for _, in := range batch {
		if k, ok := domain.OrderKeyOf(in); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return batch, created, nil, nil
	}
	found, err := s.store.FindOrders(ctx, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	keep := make([]domain.Interaction, 0, len(batch))
	keepIdx := make([]int, 0, len(batch))
	firstAt := map[domain.OrderKey]int{}
	repeats := map[int]int{}
	reject := func(i int) {
		results[i].Outcome = domain.OutcomeRejected
		results[i].Field = "interaction.purchase.order_id"
		results[i].Reason = "is already recorded with another total or customer"
	}
	for n, in := range batch {
		i := created[n]
		k, ok := domain.OrderKeyOf(in)
		if !ok {
			keep, keepIdx = append(keep, in), append(keepIdx, i)
			continue
		}
		if rec, taken := found[k]; taken {
			if !domain.SameOrder(rec, in.CustomerID, in.Purchase.Total) {
				reject(i)
				continue
			}
			results[i].Outcome = domain.OutcomeDuplicate
			results[i].InteractionID, results[i].CustomerID = rec.InteractionID, rec.CustomerID
			continue
		}
		if at, seen := firstAt[k]; seen {
			first := keep[at]
			if !domain.SameOrder(domain.RecordedOrder{CustomerID: first.CustomerID, Total: first.Purchase.Total}, in.CustomerID, in.Purchase.Total) {
				reject(i)
				continue
			}
			repeats[i] = at
			continue
		}
		firstAt[k] = len(keep)
		keep, keepIdx = append(keep, in), append(keepIdx, i)
	}
	return keep, keepIdx, repeats, nil
}

// resolveCallers sets results[i].CustomerID for each event in todo from the
// customer it names or its caller's phone, creating prospects for unknown
// numbers, and rejects events naming unknown or erased customers. Answers
// are cached; a failure to reach the customer service fails the batch.
func (s *Ingestion) resolveCallers(ctx context.Context, evs []domain.IngestEvent, results []domain.IngestResult, todo []int) error {
	var (
		mu      sync.Mutex
		answers = map[string]*answer{}
		first   = map[string]int{} // lookup key -> first event asking
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	for _, i := range todo {
		if results[i].CustomerID != "" {
			// Resolved in an earlier attempt at this batch.
			continue
		}
		ev := evs[i]
		key := "id:" + ev.Interaction.CustomerID
		if ev.Interaction.CustomerID == "" {
			key = "phone:" + ev.Phone
		}
		if _, ok := answers[key]; ok {
			continue
		}
		if id, ok := s.resolved.get(key); ok {
			answers[key] = &answer{id: id}
			continue
		}
		a := &answer{}
		answers[key] = a
		first[key] = i
		g.Go(func() error {
			// One lookup per key at a time in this process: concurrent
			// batches naming the same new number wait for the first, so
			// exactly one of them reports the prospect it created.
			ran := false
			v, err, _ := s.lookups.Do(key, func() (any, error) {
				if id, ok := s.resolved.get(key); ok {
					return answer{id: id}, nil
				}
				ran = true
				id, prospect, reject, err := s.lookupCaller(gctx, ev)
				if err != nil {
					return nil, err
				}
				if reject == "" {
					s.resolved.put(key, id)
				}
				return answer{id: id, prospect: prospect, reject: reject}, nil
			})
			if err != nil {
				return err
			}
			got := v.(answer)
			mu.Lock()
			a.id, a.prospect, a.reject = got.id, got.prospect && ran, got.reject
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, i := range todo {
		if results[i].CustomerID != "" {
			continue
		}
		ev := evs[i]
		key := "id:" + ev.Interaction.CustomerID
		if ev.Interaction.CustomerID == "" {
			key = "phone:" + ev.Phone
		}
		a := answers[key]
		if a.reject != "" {
			results[i].Outcome = domain.OutcomeRejected
			results[i].Field, results[i].Reason = "interaction.customer_id", a.reject
			continue
		}
		results[i].CustomerID = a.id
		results[i].ProspectCreated = a.prospect && first[key] == i
	}
	return nil
}

// answer is what the customer service said about a caller.
type answer struct {
	id       string
	prospect bool
	reject   string
}

// lookupCaller asks the customer service who an event is about.
func (s *Ingestion) lookupCaller(ctx context.Context, ev domain.IngestEvent) (id string, prospect bool, reject string, err error) {
	if cid := ev.Interaction.CustomerID; cid != "" {
		id, err := s.customers.Resolve(ctx, cid)
		var nf *domain.CustomerNotFoundError
		var erased *domain.CustomerErasedError
		switch {
		case errors.As(err, &nf):
			return "", false, "the customer does not exist", nil
		case errors.As(err, &erased):
			return "", false, "the customer was erased", nil
		case err != nil:
			return "", false, "", fmt.Errorf("check customer: %w", err)
		}
		return id, false, "", nil
	}
	id, err = s.directory.FindByPhone(ctx, ev.Phone)
	if err != nil {
		return "", false, "", fmt.Errorf("find caller: %w", err)
	}
	if id != "" {
		return id, false, "", nil
	}
	name := ev.CallerName
	if name == "" {
		name = ev.Phone
	}
	id, err = s.directory.CreateProspect(ctx, ev.Phone, name)
	if err != nil {
		return "", false, "", fmt.Errorf("create prospect: %w", err)
	}
	return id, true, "", nil
}
