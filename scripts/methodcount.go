//go:build ignore

// methodcount prints the number of methods of each exported type in the
// given package directories (declared methods, plus the listed methods of
// interfaces, an embedded interface counting as one), tests left out;
// MCOUNT_ALL=1 counts unexported methods too. Issue 21 item 4:
//
//	MCOUNT_ALL=1 GOWORK=off go run scripts/methodcount.go services/*/internal/app
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

var all = os.Getenv("MCOUNT_ALL") != ""

func main() {
	for _, dir := range os.Args[1:] {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		counts := map[string]int{}
		for _, p := range pkgs {
			for _, f := range p.Files {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						if d.Recv == nil || len(d.Recv.List) == 0 {
							continue
						}
						t := d.Recv.List[0].Type
						if s, ok := t.(*ast.StarExpr); ok {
							t = s.X
						}
						if ix, ok := t.(*ast.IndexExpr); ok {
							t = ix.X
						}
						id, ok := t.(*ast.Ident)
						if ok && id.IsExported() && (all || d.Name.IsExported()) {
							counts[id.Name]++
						}
					case *ast.GenDecl:
						for _, s := range d.Specs {
							ts, ok := s.(*ast.TypeSpec)
							if !ok || !ts.Name.IsExported() {
								continue
							}
							if it, ok := ts.Type.(*ast.InterfaceType); ok {
								counts[ts.Name.Name] += len(it.Methods.List)
							} else if _, ok := counts[ts.Name.Name]; !ok {
								counts[ts.Name.Name] += 0
							}
						}
					}
				}
			}
		}
		names := make([]string, 0, len(counts))
		for n := range counts {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			return counts[names[i]] > counts[names[j]] || counts[names[i]] == counts[names[j]] && names[i] < names[j]
		})
		for _, n := range names {
			fmt.Printf("%-40s %-28s %3d\n", filepath.Clean(dir), n, counts[n])
		}
	}
}
