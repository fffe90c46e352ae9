package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func TestGeneratedFileIsDeterministicWithUniqueContacts(t *testing.T) {
	t.Parallel()
	const n = 20000
	var a, b bytes.Buffer
	if err := writeCSV(&a, n); err != nil {
		t.Fatal(err)
	}
	if err := writeCSV(&b, n); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two files of the same size differ")
	}

	r := csv.NewReader(&a)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(header, ",") != strings.Join(genHeader, ",") {
		t.Fatalf("header = %v", header)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	seen := map[string]int{}
	unique := func(line int, kind, v string) {
		if v == "" {
			return
		}
		if prev, ok := seen[kind+v]; ok {
			t.Errorf("line %d repeats the %s %q of line %d", line, kind, v, prev)
		}
		seen[kind+v] = line
	}
	han, rows := 0, 0
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		unique(line, "external id", rec[col["external_id"]])
		unique(line, "email", rec[col["email"]])
		// Primary and other phones share one space of numbers.
		unique(line, "phone", rec[col["phone"]])
		unique(line, "phone", rec[col["other_phones"]])
		if p := rec[col["phone"]]; len(p) != 14 || !strings.HasPrefix(p, "+861") {
			t.Errorf("line %d: phone %q is not a +86 mobile number", line, p)
		}
		if rec[col["display_name"]] == "" {
			t.Errorf("line %d has no name", line)
		}
		if strings.ContainsFunc(rec[col["display_name"]], func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			han++
		}
	}
	if rows != n {
		t.Errorf("got %d rows, want %d", rows, n)
	}
	// Names are mixed: most Chinese, many Latin.
	if han < n/2 || han > n*9/10 {
		t.Errorf("%d of %d names are Chinese", han, n)
	}
}

// TestBenchRunsEndToEnd runs the whole bench on a few rows: it must import
// and export every row and leave no database behind.
func TestBenchRunsEndToEnd(t *testing.T) {
	pg := os.Getenv(testinfra.EnvPostgresURL)
	if pg == "" {
		if testinfra.RequireInfra() {
			t.Fatalf("%s not set", testinfra.EnvPostgresURL)
		}
		t.Skipf("%s not set, skipping", testinfra.EnvPostgresURL)
	}
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"customers", "-n", "500", "-postgres", pg}, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	s := out.String()
	for _, want := range []string{"import (gRPC, CSV)           500", "created 500, updated 0, unchanged 0, failed 0", "export (gRPC, CSV)           500", "stored rows, COPY            500", "raw COPY, plain table        500", "import / raw COPY", "stored / raw COPY"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "FAILED") {
		t.Errorf("report shows a failure:\n%s", s)
	}
}
