package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestJSONPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		path string
		rest []string
	}{
		{[]string{"customers", "-n", "5"}, "", []string{"customers", "-n", "5"}},
		{[]string{"-json", "out.json", "customers", "-n", "5"}, "out.json", []string{"customers", "-n", "5"}},
		{[]string{"customers", "-n", "5", "-json=out.json"}, "out.json", []string{"customers", "-n", "5"}},
		{[]string{"customers", "--json", "a b.json", "-keep"}, "a b.json", []string{"customers", "-keep"}},
		{[]string{"customers", "-jsonx", "1"}, "", []string{"customers", "-jsonx", "1"}},
	} {
		path, rest, err := jsonPath(tt.args)
		if err != nil || path != tt.path || !slices.Equal(rest, tt.rest) {
			t.Errorf("jsonPath(%q) = %q, %q, %v; want %q, %q", tt.args, path, rest, err, tt.path, tt.rest)
		}
	}
	for _, bad := range [][]string{{"customers", "-json"}, {"-json=", "customers"}} {
		if _, _, err := jsonPath(bad); err == nil {
			t.Errorf("jsonPath(%q) has no error", bad)
		}
	}
}

// TestMergeJSON writes two benchmarks' records into one file, as make
// bench's processes do one after the other, and a second run of the first
// replaces its record only.
func TestMergeJSON(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bench.json")
	rec := func(v float64) *benchRecord {
		return &benchRecord{Figures: []Figure{{Name: "import", Value: v, Unit: "rows/s"}}, Report: []string{"line"}}
	}
	for _, step := range []struct {
		name string
		v    float64
	}{{"customers", 1}, {"footprint", 2}, {"customers", 3}} {
		if err := mergeJSON(path, step.name, rec(step.v)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f jsonFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Benches) != 2 || f.Benches["customers"].Figures[0].Value != 3 || f.Benches["footprint"].Figures[0].Value != 2 {
		t.Errorf("merged file:\n%s", b)
	}
	if err := os.WriteFile(path, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mergeJSON(path, "customers", rec(1)); err == nil {
		t.Error("merging into a file that is not JSON succeeded")
	}
}
