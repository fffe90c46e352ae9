package proto_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEventCatalogListsEverySubject keeps docs/events.md in step with the
// subject constants of every service.
func TestEventCatalogListsEverySubject(t *testing.T) {
	t.Parallel()
	catalog, err := os.ReadFile(filepath.Join("..", "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("guanxi", "*", "v1", "subjects.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no subjects.go files: %v", err)
	}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || !strings.HasPrefix(spec.Names[0].Name, "Subject") {
				return true
			}
			subject, err := strconv.Unquote(spec.Values[0].(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(catalog), "`"+subject+"`") {
				t.Errorf("docs/events.md does not list %s (%s)", subject, file)
			}
			return true
		})
	}
}
