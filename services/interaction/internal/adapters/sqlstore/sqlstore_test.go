package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	eventsadapter "github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/migrations"
)

// TestStoreContract runs one suite against every database the store
// supports.
func TestStoreContract(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			// The relay is not run: events stay in the outbox, where Depth
			// counts them.
			outbox := events.NewOutbox(db, nil, nil)
			h := &harness{store: sqlstore.New(db, outbox, eventsadapter.NewEncoder()), outbox: outbox}
			t.Run("record and find by request id", h.testRecordAndFind)
			t.Run("duplicate request id", h.testDuplicateRequestID)
			t.Run("duplicate source id", h.testDuplicateSourceID)
			t.Run("interactions without keys never collide", h.testNoKeys)
			t.Run("list newest first with paging", h.testListPaging)
			t.Run("repeat through the app publishes nothing", h.testAppRepeat)
			t.Run("concurrent repeats record once", h.testConcurrentRepeats)
			t.Run("an order is one purchase per source", h.testOrderIdentity)
			t.Run("concurrent posts of one order record it once", h.testConcurrentOrders)
			t.Run("merge re-keys the timeline", h.testMergeCustomer)
			t.Run("erasure anonymizes the timeline", h.testEraseCustomer)
			t.Run("resolve customers follows merges and erasures", h.testResolveCustomers)
		})
	}
}

type harness struct {
	store  *sqlstore.Store
	outbox *events.Outbox
}

var base = time.Date(2025, 3, 8, 10, 0, 0, 0, time.UTC)

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func purchaseOf(t *testing.T, customerID string, occur time.Time) domain.Interaction {
	return domain.Interaction{
		ID:         newID(t),
		CustomerID: customerID,
		Kind:       domain.KindPurchase,
		Channel:    domain.ChannelInPerson,
		OccurTime:  occur,
		Summary:    "买了两盒茶",
		Source:     "pos",
		Purchase: &domain.Purchase{
			Total:   domain.Money{CurrencyCode: "CNY", AmountMinor: 12850},
			OrderID: "SO-" + newID(t), // order ids are unique per source
			Lines: []domain.PurchaseLine{
				{SKU: "TEA-1", ProductName: "龙井茶", Category: "tea", Quantity: 1, UnitPrice: domain.Money{CurrencyCode: "CNY", AmountMinor: 8850}},
				{SKU: "CUP-2", ProductName: "茶杯", Category: "tableware", Quantity: 2, UnitPrice: domain.Money{CurrencyCode: "CNY", AmountMinor: 2000}},
			},
		},
		CreateTime: base.Add(time.Hour),
	}
}

func noteOf(t *testing.T, customerID string, occur time.Time) domain.Interaction {
	return domain.Interaction{
		ID: newID(t), CustomerID: customerID, Kind: domain.KindNote, OccurTime: occur,
		Summary: "called back", CreateTime: base.Add(time.Hour),
	}
}

func (h *harness) record(ctx context.Context, in domain.Interaction, key domain.IdempotencyKey) error {
	return h.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.Insert(ctx, domain.Keyed{Interaction: in, Key: key}); err != nil {
			return err
		}
		for _, ev := range domain.RecordedEvents(in) {
			if err := tx.Publish(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func (h *harness) depth(t *testing.T) int64 {
	t.Helper()
	n, err := h.outbox.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *harness) testRecordAndFind(t *testing.T) {
	ctx := context.Background()
	before := h.depth(t)
	in := purchaseOf(t, newID(t), base)
	key := domain.IdempotencyKey{RequestID: newID(t)}
	if err := h.record(ctx, in, key); err != nil {
		t.Fatal(err)
	}
	if got := h.depth(t) - before; got != 2 {
		t.Errorf("outbox grew by %d events, want 2 (interaction and purchase recorded)", got)
	}
	got, err := h.store.FindByKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("found\n%+v\nwant\n%+v", got, in)
	}
	if _, err := h.store.FindByKey(ctx, domain.IdempotencyKey{RequestID: newID(t)}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown request id: err = %v, want ErrNotFound", err)
	}
}

func (h *harness) testDuplicateRequestID(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	key := domain.IdempotencyKey{RequestID: newID(t)}
	first := purchaseOf(t, customer, base)
	if err := h.record(ctx, first, key); err != nil {
		t.Fatal(err)
	}
	before := h.depth(t)
	second := purchaseOf(t, customer, base.Add(time.Minute))
	if err := h.record(ctx, second, key); !errors.Is(err, domain.ErrDuplicate) {
		t.Fatalf("second insert with the same request id: err = %v, want ErrDuplicate", err)
	}
	if got := h.depth(t); got != before {
		t.Errorf("outbox depth %d after a duplicate, want %d: the events must roll back with the insert", got, before)
	}
	list, err := h.store.ListByCustomer(ctx, customer, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("timeline = %v, want only the first interaction", ids(list))
	}
}

func (h *harness) testDuplicateSourceID(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	first := purchaseOf(t, customer, base)
	first.SourceID = "T-" + newID(t)
	if err := h.record(ctx, first, domain.IdempotencyKey{RequestID: newID(t), Source: first.Source, SourceID: first.SourceID}); err != nil {
		t.Fatal(err)
	}
	second := purchaseOf(t, customer, base)
	second.SourceID = first.SourceID
	if err := h.record(ctx, second, domain.IdempotencyKey{Source: second.Source, SourceID: second.SourceID}); !errors.Is(err, domain.ErrDuplicate) {
		t.Fatalf("same source and source id: err = %v, want ErrDuplicate", err)
	}
	// A request id nobody used falls back to the source pair.
	got, err := h.store.FindByKey(ctx, domain.IdempotencyKey{RequestID: newID(t), Source: "pos", SourceID: first.SourceID})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID {
		t.Errorf("found %s by source id, want %s", got.ID, first.ID)
	}
	// The same source id from another system is another interaction.
	other := purchaseOf(t, customer, base)
	other.Source, other.SourceID = "web", first.SourceID
	if err := h.record(ctx, other, domain.IdempotencyKey{Source: other.Source, SourceID: other.SourceID}); err != nil {
		t.Errorf("same source id from another source: %v", err)
	}
}

func (h *harness) testNoKeys(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	for range 3 {
		if err := h.record(ctx, noteOf(t, customer, base), domain.IdempotencyKey{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := h.store.ListByCustomer(ctx, customer, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Errorf("%d interactions, want 3", len(list))
	}
}

func (h *harness) testListPaging(t *testing.T) {
	ctx := context.Background()
	customer, stranger := newID(t), newID(t)
	var want []domain.Interaction
	// Recorded out of order; two share an occur time so the id breaks ties.
	for _, offset := range []time.Duration{2 * time.Hour, 0, 5 * time.Hour, 2 * time.Hour, time.Hour} {
		in := noteOf(t, customer, base.Add(offset))
		if offset == time.Hour {
			in = purchaseOf(t, customer, base.Add(offset))
		}
		if err := h.record(ctx, in, domain.IdempotencyKey{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, in)
	}
	if err := h.record(ctx, noteOf(t, stranger, base.Add(3*time.Hour)), domain.IdempotencyKey{}); err != nil {
		t.Fatal(err)
	}
	// Newest first: 5h, 2h (larger id: recorded later), 2h, 1h, 0.
	order := []domain.Interaction{want[2], want[3], want[0], want[4], want[1]}

	var got []domain.Interaction
	var after *domain.Cursor
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		items, err := h.store.ListByCustomer(ctx, customer, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
		if len(items) < 2 {
			break
		}
		last := items[len(items)-1]
		after = &domain.Cursor{OccurTime: last.OccurTime, ID: last.ID}
	}
	if !reflect.DeepEqual(got, order) {
		t.Errorf("timeline ids = %v, want %v", ids(got), ids(order))
	}
	if got[3].Purchase == nil || len(got[3].Purchase.Lines) != 2 || got[3].Purchase.Lines[1].SKU != "CUP-2" {
		t.Errorf("listed purchase = %+v, want its two lines in order", got[3].Purchase)
	}

	empty, err := h.store.ListByCustomer(ctx, newID(t), nil, 10)
	if err != nil || len(empty) != 0 {
		t.Errorf("unknown customer: %v, %v; want an empty timeline", ids(empty), err)
	}
}

// knownCustomers is a domain.Customers that knows a fixed set.
type knownCustomers map[string]bool

func (k knownCustomers) Resolve(_ context.Context, id string) (string, error) {
	if !k[id] {
		return "", &domain.CustomerNotFoundError{CustomerID: id}
	}
	return id, nil
}

func (h *harness) testAppRepeat(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	svc := app.New(h.store, knownCustomers{customer: true}, nil)
	tests := []struct {
		name   string
		first  app.RecordInteraction
		repeat app.RecordInteraction
	}{
		{
			name:   "by request id",
			first:  app.RecordInteraction{RequestID: "req-" + newID(t), Interaction: domain.Interaction{CustomerID: customer, Summary: "first"}},
			repeat: app.RecordInteraction{Interaction: domain.Interaction{CustomerID: customer, Summary: "retry"}},
		},
		{
			name:   "by source id",
			first:  app.RecordInteraction{Interaction: domain.Interaction{CustomerID: customer, Source: "callcenter", SourceID: "call-" + newID(t), Summary: "first"}},
			repeat: app.RecordInteraction{Interaction: domain.Interaction{CustomerID: customer, Source: "callcenter", Summary: "retry"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := svc.Timeline.RecordInteraction(ctx, tt.first)
			if err != nil {
				t.Fatal(err)
			}
			before := h.depth(t)
			repeat := tt.repeat
			repeat.RequestID = tt.first.RequestID
			repeat.Interaction.SourceID = tt.first.Interaction.SourceID
			got, err := svc.Timeline.RecordInteraction(ctx, repeat)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, first) {
				t.Errorf("repeat returned\n%+v\nwant the first\n%+v", got, first)
			}
			if d := h.depth(t); d != before {
				t.Errorf("outbox depth %d after a repeat, want %d", d, before)
			}
		})
	}
}

func (h *harness) testConcurrentRepeats(t *testing.T) {
	ctx := context.Background()
	customer := newID(t)
	svc := app.New(h.store, knownCustomers{customer: true}, nil)
	cmd := app.RecordInteraction{RequestID: "req-" + newID(t), Interaction: domain.Interaction{CustomerID: customer, Summary: "retried"}}
	before := h.depth(t)
	const n = 4
	type result struct {
		id  string
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			in, err := svc.Timeline.RecordInteraction(ctx, cmd)
			results <- result{in.ID, err}
		}()
	}
	var first string
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("concurrent repeat: %v", r.err)
		}
		if first == "" {
			first = r.id
		}
		if r.id != first {
			t.Errorf("concurrent repeats returned %s and %s, want one interaction", first, r.id)
		}
	}
	if d := h.depth(t) - before; d != 1 {
		t.Errorf("outbox grew by %d, want 1 event for one note", d)
	}
}

func ids(list []domain.Interaction) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = fmt.Sprintf("%s@%s", in.ID[len(in.ID)-4:], in.OccurTime.Format("15:04"))
	}
	return out
}

func (h *harness) testMergeCustomer(t *testing.T) {
	ctx := context.Background()
	earlier, merged, survivor, bystander := newID(t), newID(t), newID(t), newID(t)
	for _, in := range []domain.Interaction{
		noteOf(t, merged, base), purchaseOf(t, merged, base.Add(time.Hour)),
		noteOf(t, survivor, base.Add(2*time.Hour)), noteOf(t, bystander, base),
	} {
		if err := h.record(ctx, in, domain.IdempotencyKey{}); err != nil {
			t.Fatal(err)
		}
	}
	err := h.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.MergeCustomer(ctx, domain.Merge{MergedID: earlier, SurvivorID: merged, At: base}); err != nil {
			return err
		}
		return tx.MergeCustomer(ctx, domain.Merge{MergedID: merged, SurvivorID: survivor, At: base})
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{merged: 0, survivor: 3, bystander: 1} {
		list, err := h.store.ListByCustomer(ctx, id, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != want {
			t.Errorf("%d interactions under %s, want %d", len(list), id, want)
		}
		for _, in := range list {
			if in.CustomerID != id {
				t.Errorf("interaction %s listed for %s names %s", in.ID, id, in.CustomerID)
			}
		}
	}
	for id, want := range map[string]string{earlier: survivor, merged: survivor, survivor: "", bystander: ""} {
		got, err := h.store.MergedInto(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("MergedInto(%s) = %q, want %q", id, got, want)
		}
	}
}

func (h *harness) testEraseCustomer(t *testing.T) {
	ctx := context.Background()
	erased, bystander := newID(t), newID(t)
	keep := noteOf(t, bystander, base)
	keep.Source, keep.SourceID = "call-center", "+8613800000001"
	if err := h.record(ctx, keep, domain.IdempotencyKey{RequestID: "keep-" + newID(t), Source: keep.Source, SourceID: keep.SourceID}); err != nil {
		t.Fatal(err)
	}
	call := noteOf(t, erased, base)
	call.Kind, call.Channel, call.Summary = domain.KindCall, domain.ChannelPhone, "王先生来电, 回拨 +8613800000002"
	call.Source, call.SourceID = "call-center", "+8613800000002"
	callKey := domain.IdempotencyKey{RequestID: "call-" + newID(t), Source: call.Source, SourceID: call.SourceID}
	bought := purchaseOf(t, erased, base.Add(time.Hour))
	for in, key := range map[*domain.Interaction]domain.IdempotencyKey{&call: callKey, &bought: {}} {
		if err := h.record(ctx, *in, key); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := h.store.Erased(ctx, erased); err != nil || ok {
		t.Fatalf("Erased before the erasure = %v, %v", ok, err)
	}
	var n int64
	err := h.store.InTx(ctx, func(tx domain.Tx) error {
		var err error
		n, err = tx.EraseCustomer(ctx, domain.Erasure{CustomerID: erased, EraseTime: base}, base)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("anonymized %d interactions, want 2", n)
	}
	list, err := h.store.ListByCustomer(ctx, erased, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d interactions after the erasure, want both kept", len(list))
	}
	for _, in := range list {
		if in.Summary != "" || in.SourceID != "" {
			t.Errorf("interaction %s keeps summary %q, source id %q", in.ID, in.Summary, in.SourceID)
		}
		if in.ID == bought.ID && (in.Purchase == nil || in.Purchase.Total != bought.Purchase.Total || len(in.Purchase.Lines) != 2) {
			t.Errorf("purchase after erasure = %+v, want its amounts and lines kept", in.Purchase)
		}
		if in.ID == call.ID && (in.Kind != domain.KindCall || in.Channel != domain.ChannelPhone || in.Source != "call-center") {
			t.Errorf("call after erasure = %+v, want kind, channel and source kept", in)
		}
	}
	for _, key := range []domain.IdempotencyKey{{RequestID: callKey.RequestID}, {Source: callKey.Source, SourceID: callKey.SourceID}} {
		if _, err := h.store.FindByKey(ctx, key); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("FindByKey(%+v) after the erasure: err = %v, want ErrNotFound", key, err)
		}
	}
	if ok, err := h.store.Erased(ctx, erased); err != nil || !ok {
		t.Errorf("Erased after the erasure = %v, %v", ok, err)
	}
	other, err := h.store.ListByCustomer(ctx, bystander, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || other[0].Summary != keep.Summary || other[0].SourceID != keep.SourceID {
		t.Errorf("another customer's interaction changed: %+v", other)
	}
}

func (h *harness) testResolveCustomers(t *testing.T) {
	ctx := context.Background()
	a, b, c, d, e, x, y := newID(t), newID(t), newID(t), newID(t), newID(t), newID(t), newID(t)
	err := h.store.InTx(ctx, func(tx domain.Tx) error {
		// b into c first, then a into b: a chain of two merges.
		for _, m := range []domain.Merge{{MergedID: b, SurvivorID: c}, {MergedID: a, SurvivorID: b}, {MergedID: x, SurvivorID: y}, {MergedID: y, SurvivorID: x}} {
			m.At = base
			if err := tx.MergeCustomer(ctx, m); err != nil {
				return err
			}
		}
		for _, id := range []string{c, e} {
			if _, err := tx.EraseCustomer(ctx, domain.Erasure{CustomerID: id, EraseTime: base}, base); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	survivors, erased, err := h.store.ResolveCustomers(ctx, []string{a, b, c, d, e, a})
	if err != nil {
		t.Fatal(err)
	}
	wantSurvivors := map[string]string{a: c, b: c, c: c, d: d, e: e}
	if !reflect.DeepEqual(survivors, wantSurvivors) {
		t.Errorf("survivors = %v, want %v", survivors, wantSurvivors)
	}
	if want := map[string]bool{c: true, e: true}; !reflect.DeepEqual(erased, want) {
		t.Errorf("erased = %v, want %v", erased, want)
	}
	if _, _, err := h.store.ResolveCustomers(ctx, []string{d, x}); !errors.Is(err, domain.ErrMergeConflict) {
		t.Errorf("merges in a cycle: err = %v, want ErrMergeConflict", err)
	}
}
