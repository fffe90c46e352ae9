package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rulesByName lets testdata files name the rule they break in a
// "// want ruleX" comment after the import.
var rulesByName = map[string]string{
	"ruleOtherService":   ruleOtherService,
	"ruleDomainLayer":    ruleDomainLayer,
	"ruleDomainLibrary":  ruleDomainLibrary,
	"ruleAppLayer":       ruleAppLayer,
	"ruleAppLibrary":     ruleAppLibrary,
	"ruleProtoconvLayer": ruleProtoconvLayer,
	"ruleAdapterApp":     ruleAdapterApp,
	"ruleAdapterPort":    ruleAdapterPort,
	"ruleAdapterAdapter": ruleAdapterAdapter,
	"rulePortAdapter":    rulePortAdapter,
	"rulePortPort":       rulePortPort,
	"ruleUnknownLayer":   ruleUnknownLayer,
}

// TestPlantedViolations runs the check over testdata/planted, a repository
// with one or more wrong-way imports per rule, each marked "// want ruleX",
// and beside them the imports each layer may make. Every marked import must
// be reported, with its file, line and rule, and nothing else: not the right
// way imports, not tests (but for the cross-service rule), not generated
// files, not testdata.
func TestPlantedViolations(t *testing.T) {
	const root = "testdata/planted"
	want := wantedFindings(t, root)
	got, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for _, f := range got {
		gotKeys = append(gotKeys, fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Rule))
	}
	for _, w := range want {
		if !slices.ContainsFunc(gotKeys, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("not reported: %s", w)
		}
	}
	for _, g := range gotKeys {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("reported, not planted: %s", g)
		}
	}
	for name, rule := range rulesByName {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.HasSuffix(w, ": "+rule) }) {
			t.Errorf("no planted violation of %s", name)
		}
	}
}

// wantedFindings reads the "// want ruleX" comments under root as
// "file:line: rule" prefixes of the expected findings.
func wantedFindings(t *testing.T, root string) []string {
	t.Helper()
	var want []string
	err := filepath.WalkDir(filepath.Join(root, "services"), func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(file, ".go") {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, file)
		lines := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; lines.Scan(); n++ {
			_, name, ok := strings.Cut(lines.Text(), "// want ")
			if !ok {
				continue
			}
			rule, ok := rulesByName[strings.TrimSpace(name)]
			if !ok {
				t.Fatalf("%s:%d: unknown rule %q", file, n, name)
			}
			want = append(want, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), n, rule))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no planted violations found")
	}
	return want
}

// TestCommandNamesFileAndImport runs the command as `make layers` does: on a
// wrong-way import it prints the file, the line, the layer, the import and the
// rule, and exits 1.
func TestCommandNamesFileAndImport(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"testdata/planted"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr: %s", code, stderr.String())
	}
	line := "testdata/planted/services/alpha/internal/ports/grpc/server.go:6: alpha internal/ports/grpc imports " +
		"example.com/crm/services/alpha/internal/adapters/events: " + rulePortAdapter + "\n"
	if !strings.Contains(stdout.String(), line) {
		t.Errorf("output lacks\n%s\ngot:\n%s", line, stdout.String())
	}
	line = "testdata/planted/services/alpha/internal/domain/domain.go:"
	if !strings.Contains(stdout.String(), line) || !strings.Contains(stdout.String(), " imports example.com/crm/platform/wrap: "+ruleDomainLibrary+" (platform/wrap -> platform/store -> database/sql)\n") {
		t.Errorf("output lacks the domain's import of SQL through two platform packages; got:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "wrong-way imports") {
		t.Errorf("stderr lacks the count: %s", stderr.String())
	}
}

// TestCleanTreePasses checks that a service importing only the right way
// passes with exit code 0 and prints nothing.
func TestCleanTreePasses(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"services/beta/go.mod":                       "module example.com/crm/services/beta\n",
		"services/beta/beta.go":                      "package beta\n\nimport _ \"example.com/crm/services/beta/internal/ports/grpc\"\n",
		"services/beta/internal/domain/domain.go":    "package domain\n",
		"services/beta/internal/app/app.go":          "package app\n\nimport _ \"example.com/crm/services/beta/internal/domain\"\n",
		"services/beta/internal/ports/grpc/grpc.go":  "package grpc\n\nimport (\n\t_ \"example.com/crm/services/beta/internal/app\"\n\t_ \"example.com/crm/proto/beta/v1\"\n)\n",
		"services/beta/internal/adapters/sql/sql.go": "package sql\n\nimport (\n\t_ \"database/sql\"\n\t_ \"example.com/crm/services/beta/internal/domain\"\n)\n",
	}
	for name, text := range files {
		file := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{root}, &stdout, &stderr); code != 0 || stdout.Len() != 0 {
		t.Errorf("exit code %d, output %q, stderr %q; want 0 and nothing", code, stdout.String(), stderr.String())
	}
}

// TestClassify pins where each directory of a service sits.
func TestClassify(t *testing.T) {
	for dir, want := range map[string]place{
		"":                             {layer: layerNone},
		"cmd/loyalty":                  {layer: layerNone},
		"migrations":                   {layer: layerNone},
		"internalx/domain":             {layer: layerNone},
		"internal/domain":              {layer: layerDomain},
		"internal/domain/money":        {layer: layerDomain},
		"internal/app":                 {layer: layerApp},
		"internal/protoconv":           {layer: layerProtoconv},
		"internal/adapters":            {layer: layerAdapter},
		"internal/adapters/sqlstore":   {layer: layerAdapter, name: "sqlstore"},
		"internal/adapters/sqlstore/x": {layer: layerAdapter, name: "sqlstore"},
		"internal/ports/events":        {layer: layerPort, name: "events"},
		"internal/model":               {layer: layerUnknown},
		"internal":                     {layer: layerUnknown},
	} {
		if got := classify(dir); got != want {
			t.Errorf("classify(%q) = %+v, want %+v", dir, got, want)
		}
	}
}
