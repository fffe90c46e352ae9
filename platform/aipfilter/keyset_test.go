package aipfilter_test

import (
	"context"
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestAfter pages the seeded customers with After by every order, on
// SQLite and PostgreSQL, and checks the pages join up to the whole sorted
// list: no row is skipped or repeated, ties in the sort key (two
// distributors, two retailers, two rows of am-li) included.
func TestAfter(t *testing.T) {
	t.Parallel()
	allowed := map[string]string{"kind": "c.kind", "owner_id": "c.owner_id", "score": "c.score", "display_name": "c.display_name"}
	orders := []string{"kind", "kind desc", "owner_id desc", "score", "kind, score desc", "kind desc, owner_id, score", "display_name desc"}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := seed(t, d.URL)
			for _, orderBy := range orders {
				terms, err := aipfilter.CompileOrderBy(orderBy, allowed)
				if err != nil {
					t.Fatal(err)
				}
				terms = append(terms, aipfilter.OrderTerm{Field: "id", Column: "c.id", Desc: terms[len(terms)-1].Desc})
				cols := make([]string, len(terms))
				for i, term := range terms {
					cols[i] = term.Column
				}
				order := " ORDER BY " + aipfilter.OrderBySQL(terms)
				want := ids(t, db, "SELECT c.id FROM customers c"+order)
				for _, size := range []int{1, 2, 3} {
					var got []string
					var last []any
					for page := 0; ; page++ {
						if page > len(customers) {
							t.Fatalf("%q by %d: paging does not end", orderBy, size)
						}
						q, args := "SELECT "+joinCols(cols)+" FROM customers c", []any(nil)
						if last != nil {
							cond, cargs := aipfilter.After(terms, last)
							q, args = q+" WHERE "+cond, cargs
						}
						rows := keyRows(t, db, q+order+" LIMIT ?", len(terms), append(args, size)...)
						for _, r := range rows {
							got = append(got, r[len(r)-1].(string))
						}
						if len(rows) < size {
							break
						}
						last = rows[len(rows)-1]
					}
					if !slices.Equal(got, want) {
						t.Errorf("order_by %q, pages of %d: got %v, want %v", orderBy, size, got, want)
					}
				}
			}
		})
	}
}

func TestAfterSQL(t *testing.T) {
	t.Parallel()
	asc := aipfilter.OrderTerm{Column: "a"}
	id := aipfilter.OrderTerm{Column: "id"}
	desc := aipfilter.OrderTerm{Column: "b", Desc: true}
	idDesc := aipfilter.OrderTerm{Column: "id", Desc: true}
	for _, tt := range []struct {
		terms []aipfilter.OrderTerm
		want  string
		args  int
	}{
		{[]aipfilter.OrderTerm{id}, "id > ?", 1},
		{[]aipfilter.OrderTerm{asc, id}, "(a, id) > (?, ?)", 2},
		{[]aipfilter.OrderTerm{desc, idDesc}, "(b, id) < (?, ?)", 2},
		{[]aipfilter.OrderTerm{asc, desc, idDesc}, "((a > ?) OR (a = ? AND b < ?) OR (a = ? AND b = ? AND id < ?))", 6},
	} {
		values := make([]any, len(tt.terms))
		got, args := aipfilter.After(tt.terms, values)
		if got != tt.want || len(args) != tt.args {
			t.Errorf("After(%v) = %q with %d args, want %q with %d", tt.terms, got, len(args), tt.want, tt.args)
		}
	}
}

func joinCols(cols []string) string {
	s := cols[0]
	for _, c := range cols[1:] {
		s += ", " + c
	}
	return s
}

// keyRows reads rows of n columns, the last of them the id.
func keyRows(t *testing.T, db *sqldb.DB, q string, n int, args ...any) [][]any {
	t.Helper()
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
