package textguard_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/guanxi-crm/guanxi/platform/textguard"
)

// TestNULFields finds NULs in nested messages, lists, map keys and values,
// and stops at the limit.
func TestNULFields(t *testing.T) {
	t.Parallel()
	m, err := structpb.NewStruct(map[string]any{
		"ok":       "fine",
		"name":     "A\x00da",
		"k\x00ey":  "v",
		"list":     []any{"x", "y\x00"},
		"nested":   map[string]any{"deep": "\x00"},
		"notation": "王小明",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := textguard.NULFields(m.ProtoReflect(), 10)
	slices.Sort(got)
	want := []string{
		`fields["k\x00ey"]`,
		`fields["list"].list_value.values[1].string_value`,
		`fields["name"].string_value`,
		`fields["nested"].struct_value.fields["deep"].string_value`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("NULFields = %q, want %q", got, want)
	}
	if got := textguard.NULFields(m.ProtoReflect(), 1); len(got) != 1 {
		t.Errorf("with limit 1: %q", got)
	}
	clean, _ := structpb.NewStruct(map[string]any{"a": "b", "n": 1.5})
	if got := textguard.NULFields(clean.ProtoReflect(), 10); len(got) != 0 {
		t.Errorf("clean message: %q", got)
	}
}
