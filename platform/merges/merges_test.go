package merges_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                 string
		mergedInto, survivor string
		wantApply, wantConfl bool
	}{
		{"first time", "", "s", true, false},
		{"replay", "s", "s", false, false},
		{"replay after the survivor merged on", "s2", "s2", false, false},
		{"merged elsewhere before", "x", "s", false, true},
		{"survivor was merged into the merged one", "", "m", false, true},
	} {
		apply, err := merges.Decide("m", "s", tt.mergedInto, tt.survivor)
		if apply != tt.wantApply || errors.Is(err, merges.ErrConflict) != tt.wantConfl {
			t.Errorf("%s: apply %v, err %v", tt.name, apply, err)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	links := map[string]string{"a": "b", "b": "c", "x": "y", "y": "x"}
	lookup := func(_ context.Context, id string) (string, error) { return links[id], nil }
	if got, err := merges.Resolve(context.Background(), lookup, "a"); got != "c" || err != nil {
		t.Errorf("Resolve(a) = %q, %v; want c", got, err)
	}
	if got, err := merges.Resolve(context.Background(), lookup, "z"); got != "z" || err != nil {
		t.Errorf("Resolve(z) = %q, %v; want z itself", got, err)
	}
	if _, err := merges.Resolve(context.Background(), lookup, "x"); !errors.Is(err, merges.ErrConflict) {
		t.Errorf("a cycle resolved: %v", err)
	}
	boom := errors.New("boom")
	if _, err := merges.Resolve(context.Background(), func(context.Context, string) (string, error) { return "", boom }, "a"); !errors.Is(err, boom) {
		t.Errorf("lookup error lost: %v", err)
	}
}

func TestResolveAll(t *testing.T) {
	t.Parallel()
	links := map[string]string{"a": "b", "b": "c", "x": "y", "y": "x"}
	lookups := 0
	lookup := func(_ context.Context, ids []string) (map[string]string, error) {
		lookups++
		out := map[string]string{}
		for _, id := range ids {
			if into := links[id]; into != "" {
				out[id] = into
			}
		}
		return out, nil
	}
	got, err := merges.ResolveAll(context.Background(), lookup, []string{"a", "b", "z", "a"})
	if err != nil || len(got) != 3 || got["a"] != "c" || got["b"] != "c" || got["z"] != "z" {
		t.Errorf("ResolveAll = %v, %v; want a and b to c, z itself", got, err)
	}
	if lookups != 3 { // a->b, b->c, c merged into nobody
		t.Errorf("%d lookups; want one per hop, 3", lookups)
	}
	if _, err := merges.ResolveAll(context.Background(), lookup, []string{"z", "x"}); !errors.Is(err, merges.ErrConflict) {
		t.Errorf("a cycle resolved: %v", err)
	}
	boom := errors.New("boom")
	if _, err := merges.ResolveAll(context.Background(), func(context.Context, []string) (map[string]string, error) { return nil, boom }, []string{"a"}); !errors.Is(err, boom) {
		t.Errorf("lookup error lost: %v", err)
	}
}

const (
	idA = "0190a6f0-0000-7000-8000-00000000000a"
	idB = "0190a6f0-0000-7000-8000-00000000000b"
	idC = "0190a6f0-0000-7000-8000-00000000000c"
)

func fieldsOf(v validation.Violations) []string {
	var out []string
	for _, x := range v {
		out = append(out, x.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		v    validation.Violations
		want []string
	}{
		{"valid merge", merges.Merge{MergedID: idA, SurvivorID: idB}.Validate(), nil},
		{"empty merge", merges.Merge{}.Validate(), []string{"merged_customer_id", "survivor_customer_id"}},
		{"merge into itself", merges.Merge{MergedID: idA, SurvivorID: idA}.Validate(), []string{"survivor_customer_id"}},
		{"merged id not a UUID", merges.Merge{MergedID: "x", SurvivorID: idB}.Validate(), []string{"merged_customer_id"}},
		{"survivor id not canonical", merges.Merge{MergedID: idA, SurvivorID: "{" + idB + "}"}.Validate(), []string{"survivor_customer_id"}},
		{"valid erasure", merges.Erasure{CustomerID: idA}.Validate(), nil},
		{"erasure without id", merges.Erasure{}.Validate(), []string{"customer_id"}},
		{"erasure of a bad id", merges.Erasure{CustomerID: "nope"}.Validate(), []string{"customer_id"}},
	} {
		if got := fieldsOf(tt.v); !slices.Equal(got, tt.want) {
			t.Errorf("%s: fields %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := (merges.Merge{}).Validate().Err(); err == nil {
		t.Error("an empty merge validated")
	}
}

func TestInIDOrder(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tt := range []struct {
		name      string
		m         merges.Merge
		mergedErr error
		want      []string
		wantErrIs error
	}{
		{"merged id first", merges.Merge{MergedID: idA, SurvivorID: idB}, nil, []string{"merged", "survivor"}, nil},
		{"survivor id first", merges.Merge{MergedID: idB, SurvivorID: idA}, nil, []string{"survivor", "merged"}, nil},
		{"stops at the first error", merges.Merge{MergedID: idA, SurvivorID: idB}, boom, []string{"merged"}, boom},
		{"error second", merges.Merge{MergedID: idB, SurvivorID: idA}, boom, []string{"survivor", "merged"}, boom},
	} {
		var got []string
		err := merges.InIDOrder(tt.m, func() error {
			got = append(got, "merged")
			return tt.mergedErr
		}, func() error {
			got = append(got, "survivor")
			return nil
		})
		if !slices.Equal(got, tt.want) || !errors.Is(err, tt.wantErrIs) || (tt.wantErrIs == nil && err != nil) {
			t.Errorf("%s: ran %v, err %v; want %v, %v", tt.name, got, err, tt.want, tt.wantErrIs)
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		links        map[string]string
		m            merges.Merge
		wantSurvivor string
		wantApply    bool
		wantConflict bool
	}{
		{"first time", nil, merges.Merge{MergedID: idA, SurvivorID: idB}, idB, true, false},
		{"replay", map[string]string{idA: idB}, merges.Merge{MergedID: idA, SurvivorID: idB}, idB, false, false},
		{"survivor merged on since", map[string]string{idB: idC}, merges.Merge{MergedID: idA, SurvivorID: idB}, idC, true, false},
		{"replay after the survivor merged on", map[string]string{idA: idC, idB: idC}, merges.Merge{MergedID: idA, SurvivorID: idB}, idC, false, false},
		{"merged elsewhere before", map[string]string{idA: idC}, merges.Merge{MergedID: idA, SurvivorID: idB}, "", false, true},
		{"survivor merged into the merged one", map[string]string{idB: idA}, merges.Merge{MergedID: idA, SurvivorID: idB}, "", false, true},
	} {
		var read []string
		lookup := func(_ context.Context, id string) (string, error) {
			read = append(read, id)
			return tt.links[id], nil
		}
		got, apply, err := merges.Plan(context.Background(), lookup, tt.m)
		if errors.Is(err, merges.ErrConflict) != tt.wantConflict || (!tt.wantConflict && err != nil) {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if apply != tt.wantApply {
			t.Errorf("%s: apply %v, want %v", tt.name, apply, tt.wantApply)
		}
		if !tt.wantConflict && (got.SurvivorID != tt.wantSurvivor || got.MergedID != tt.m.MergedID) {
			t.Errorf("%s: planned %+v, want survivor %s", tt.name, got, tt.wantSurvivor)
		}
		if len(read) == 0 || read[0] != idA {
			t.Errorf("%s: read %v, want the lower id (the merged one here) first", tt.name, read)
		}
	}
}

// inbox is a transaction's inbox and merge links, in memory.
type inbox struct {
	handled map[string]bool
	links   map[string]string
	err     error
}

func (i *inbox) MarkHandled(_ context.Context, consumer, eventID string) (bool, error) {
	if i.err != nil {
		return false, i.err
	}
	key := consumer + "/" + eventID
	first := !i.handled[key]
	i.handled[key] = true
	return first, nil
}

func (i *inbox) MergedInto(_ context.Context, id string) (string, error) { return i.links[id], nil }

func TestOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := &inbox{handled: map[string]bool{}}
	runs := 0
	apply := func() error { runs++; return nil }
	for _, ev := range []string{"e1", "e1", "e2"} {
		if err := merges.Once(ctx, tx, "c", ev, apply); err != nil {
			t.Fatal(err)
		}
	}
	if err := merges.Once(ctx, tx, "other", "e1", apply); err != nil {
		t.Fatal(err)
	}
	if runs != 3 {
		t.Errorf("applied %d times, want 3 (e1 and e2 once each, and e1 again for another consumer)", runs)
	}
	boom := errors.New("boom")
	if err := merges.Once(ctx, &inbox{err: boom}, "c", "e3", apply); !errors.Is(err, boom) || runs != 3 {
		t.Errorf("inbox error: err %v, runs %d", err, runs)
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := &inbox{handled: map[string]bool{}, links: map[string]string{idB: idC}}
	var folded []merges.Merge
	fold := func(m merges.Merge) error {
		folded = append(folded, m)
		tx.links[m.MergedID] = m.SurvivorID
		return nil
	}
	m := merges.Merge{MergedID: idA, SurvivorID: idB}
	for _, ev := range []string{"e1", "e1", "e2"} {
		if err := merges.Fold(ctx, tx, "c", ev, m, fold); err != nil {
			t.Fatal(err)
		}
	}
	if len(folded) != 1 || folded[0].SurvivorID != idC {
		t.Errorf("folded %+v, want once into %s, the survivor's survivor", folded, idC)
	}
	err := merges.Fold(ctx, tx, "c", "e3", merges.Merge{MergedID: idA, SurvivorID: idB + "x"}, fold)
	if !errors.Is(err, merges.ErrConflict) || len(folded) != 1 {
		t.Errorf("a contradicting merge: err %v, folded %d", err, len(folded))
	}
}

func TestErase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := &inbox{handled: map[string]bool{}, links: map[string]string{idA: idB}}
	var erased []string
	erase := func(e merges.Erasure) error { erased = append(erased, e.CustomerID); return nil }
	for _, tt := range []struct{ ev, id string }{{"e1", idA}, {"e1", idA}, {"e2", idC}} {
		if err := merges.Erase(ctx, tx, "c", tt.ev, merges.Erasure{CustomerID: tt.id}, erase); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(erased, []string{idB, idC}) {
		t.Errorf("erased %v, want the merged one's survivor once, then %s", erased, idC)
	}
}
