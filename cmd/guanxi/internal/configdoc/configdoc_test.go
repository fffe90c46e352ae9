package configdoc_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/configdoc"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := configdoc.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReferenceIsCurrent fails while docs/configuration.md is not what the
// generator makes from the configuration structs: run `make config-doc`.
func TestReferenceIsCurrent(t *testing.T) {
	r := root(t)
	want, err := configdoc.Generate(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(r, "docs", "configuration.md"))
	if err != nil {
		t.Fatalf("%v: run make config-doc", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/configuration.md is stale (run make config-doc); line %d is\n  %s\nwant\n  %s", i+1, g, w)
			}
		}
	}
}

// TestEveryVariableIsListed: the reference names every variable of every
// configuration struct, with its default, and reads the field comments.
func TestEveryVariableIsListed(t *testing.T) {
	doc, err := configdoc.Generate(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `GUANXI_AUTH_SECRET` | string | — |",
		"Secret: logged as `***`.",
		"| `GUANXI_TLS_CA_FILE` |",
		"| `GUANXI_NOTIFICATION_QUIET_HOURS` | string | `21:00-08:00` | QuietHours",
		"| `GUANXI_NOTIFICATION_SMTP_PASSWORD` | string | — |",
		"| `GUANXI_INTERACTION_SLA_CHECK_INTERVAL` | duration | `30s` |",
		"| `GUANXI_GATEWAY_CORS_ORIGINS` | list of string",
		"| `GUANXI_CUSTOMER_DATABASE_URL` | string | `sqlite://.guanxi/customer.db` | The service's database",
		"| `GUANXI_NOTIFICATION_RETRY_MAX_DELAY` | duration | `1h` | MaxAttempts, RetryBaseDelay and RetryMaxDelay",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the reference has no line with %q", want)
		}
	}
	if strings.Contains(string(doc), "LISTENER") {
		t.Error("the reference lists runtime wiring (env:\"-\" fields)")
	}
}

// TestEveryConfigLoadIsListed: every config.Load and config.LoadFrom in the
// source reads a prefix the generator documents, so a new configuration
// struct cannot stay out of the reference.
func TestEveryConfigLoadIsListed(t *testing.T) {
	r := root(t)
	fset := token.NewFileSet()
	known := configdoc.Prefixes()
	err := filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "testdata", "node_modules", ".guanxi":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		consts := map[string]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			fun := call.Fun
			if ix, ok := fun.(*ast.IndexExpr); ok {
				fun = ix.X
			}
			sel, ok := fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// Services load their Config through servicehost.LoadConfig,
			// which hands their prefix on to config.Load.
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !(pkg.Name == "config" && (sel.Sel.Name == "Load" || sel.Sel.Name == "LoadFrom") ||
				pkg.Name == "servicehost" && sel.Sel.Name == "LoadConfig") {
				return true
			}
			rel, _ := filepath.Rel(r, path)
			var prefix string
			switch a := call.Args[0].(type) {
			case *ast.BasicLit:
				prefix, _ = strconv.Unquote(a.Value)
			case *ast.Ident:
				prefix = consts[a.Name]
				if filepath.ToSlash(rel) == "platform/servicehost/servicehost.go" && a.Name == "prefix" {
					return true // servicehost.LoadConfig's own call: its callers' prefixes are checked
				}
			}
			if prefix == "" {
				t.Errorf("%s:%d: cannot tell the prefix of this %s.%s call", rel, fset.Position(call.Pos()).Line, pkg.Name, sel.Sel.Name)
			} else if !slices.Contains(known, prefix) {
				t.Errorf("%s:%d: %s.%s reads %s*, which configdoc.Groups does not list: add it so docs/configuration.md documents it",
					rel, fset.Position(call.Pos()).Line, pkg.Name, sel.Sel.Name, prefix)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryNamedVariableIsListed: a variable the code names outright (read
// with os.Getenv, or set for a process it starts) is in the reference, so
// a setting read outside the configuration structs cannot go undocumented,
// and a misspelt one set for a child process fails here. The test suites'
// own GUANXI_TEST_* variables are documented in docs/architecture.md.
func TestEveryNamedVariableIsListed(t *testing.T) {
	r := root(t)
	doc, err := os.ReadFile(filepath.Join(r, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`"(GUANXI_[A-Z0-9_]*[A-Z0-9])"`)
	err = filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "testdata", "node_modules", ".guanxi", "third_party":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range named.FindAllSubmatch(src, -1) {
			name := string(m[1])
			if strings.HasPrefix(name, "GUANXI_TEST_") {
				continue
			}
			if !bytes.Contains(doc, []byte("`"+name+"`")) {
				rel, _ := filepath.Rel(r, path)
				t.Errorf("%s names %s, which docs/configuration.md does not list", rel, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
