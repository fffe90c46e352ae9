package aipfilter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

// FuzzCompile checks that no input panics, that every rejection is a
// *validation.Error (the schema is correct, so anything else is a bug), and
// that whatever compiles is SQL SQLite accepts with matching arguments.
//
//	go test -run '^$' -fuzz FuzzCompile -fuzztime 30s ./platform/aipfilter
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`,
		`lifecycle_stage != "LAPSED" OR (create_time >= "2025-01-01T00:00:00Z" AND NOT possible_duplicate = true)`,
		`display_name:"小明"`, `owner_id = "am-li"`, `attributes.level > 3`, `email:"@acme.com"`,
		`-(kind = RETAIL OR score < -2.5) tags:* display_name:*`,
		`a = 'it\'s \u5c0f\ud83d\ude00\n'`, `score >= 1e3 score != 0x1p3`, `((((a = 1))))`,
		`create_time > 2025-01-01T00:00:00Z`, `f(x)`, `a = (x OR y)`, `a..b = 1`, `a = "\q"`,
		`NOT NOT a = 1`, `a = - 3`, `名字 = 1 )`, `display_name desc, create_time`, `,`, ``,
	} {
		f.Add(seed)
	}
	db := testinfra.OpenDB(f, "sqlite::memory:", fstest.MapFS{"00001_init.sql": {Data: []byte(schemaSQL)}})
	allowed := map[string]string{"display_name": "c.display_name", "create_time": "c.create_time"}
	f.Fuzz(func(t *testing.T, filter string) {
		where, args, err := aipfilter.Compile(filter, testSchema())
		var verr *validation.Error
		if err != nil && !errors.As(err, &verr) {
			t.Fatalf("Compile(%q): %v, want a *validation.Error", filter, err)
		}
		if _, err := aipfilter.CompileOrderBy(filter, allowed); err != nil && !errors.As(err, &verr) {
			t.Fatalf("CompileOrderBy(%q): %v, want a *validation.Error", filter, err)
		}
		if err != nil || where == "" {
			return
		}
		if n := strings.Count(where, "?"); n != len(args) {
			t.Fatalf("Compile(%q) = %s with %d placeholders for %d args", filter, where, n, len(args))
		}
		rows, err := db.Query(context.Background(), "SELECT c.id FROM customers c WHERE "+where, args...)
		if err != nil {
			t.Fatalf("Compile(%q) = %s %v: SQLite rejects it: %v", filter, where, args, err)
		}
		rows.Close()
	})
}
