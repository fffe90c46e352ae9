package merges_test

import (
	"context"
	"errors"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/merges"
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
