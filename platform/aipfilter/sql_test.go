package aipfilter_test

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

const schemaSQL = `-- +goose Up
CREATE TABLE customers (
    id                 TEXT    NOT NULL PRIMARY KEY,
    kind               TEXT    NOT NULL,
    lifecycle_stage    TEXT    NOT NULL,
    display_name       TEXT    NOT NULL,
    email              TEXT    NOT NULL DEFAULT '',
    owner_id           TEXT    NOT NULL,
    score              BIGINT  NOT NULL,
    possible_duplicate BOOLEAN NOT NULL,
    create_time        BIGINT  NOT NULL
);
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE TABLE customer_attributes (
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    name         TEXT NOT NULL,
    text_value   TEXT NOT NULL,
    number_value DOUBLE PRECISION,
    PRIMARY KEY (customer_id, name)
);
`

type testCustomer struct {
	id, kind, stage, name, email, owner string
	score                               int64
	dup                                 bool
	created                             string
	tags                                []string
	attrs                               map[string]any // string or float64
}

var customers = []testCustomer{
	{"c1", "distributor", "ACTIVE", "杭州小明贸易", "ming@acme.com", "am-li", 5, false, "2025-02-01T00:00:00Z",
		[]string{"vip", "gold"}, map[string]any{"city": "Hangzhou", "level": 4.0}},
	{"c2", "retail", "LAPSED", "Acme Retail", "buyer@ACME.com", "am-wang", 2, true, "2024-06-01T00:00:00Z",
		[]string{"vip"}, map[string]any{"city": "Shanghai", "level": 2.0}},
	{"c3", "distributor", "LAPSED", "Beta_50% Off", "x@beta.cn", "am-li", 0, false, "2025-01-01T00:00:00Z",
		nil, map[string]any{"city": "Hangzhou"}},
	{"c4", "retail", "LEAD", "小红", "", "am-zhao", -1, true, "2025-03-01T00:00:00Z",
		[]string{"gold"}, nil},
}

// TestSQL runs compiled filters on SQLite and PostgreSQL and checks which
// rows they select, so the generated SQL is valid and means the same on
// both.
func TestSQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		want   []string
	}{
		{``, []string{"c1", "c2", "c3", "c4"}},
		{`kind = "DISTRIBUTOR" AND tags:"vip" AND attributes.city = "Hangzhou"`, []string{"c1"}},
		{`lifecycle_stage != "LAPSED" OR (create_time >= "2025-01-01T00:00:00Z" AND NOT possible_duplicate = true)`, []string{"c1", "c3", "c4"}},
		{`display_name:"小明"`, []string{"c1"}},
		{`display_name = "小红"`, []string{"c4"}},
		{`owner_id = "am-li"`, []string{"c1", "c3"}},
		{`owner_id = am-li`, []string{"c1", "c3"}},
		{`attributes.level > 3`, []string{"c1"}},
		{`attributes.level >= 1.5`, []string{"c1", "c2"}},
		{`attributes.city:hang`, []string{"c1", "c2", "c3"}}, // sHANGhai too
		{`attributes.city:"HANGZ"`, []string{"c1", "c3"}},
		{`attributes.city:*`, []string{"c1", "c2", "c3"}},
		{`-attributes.city = Hangzhou`, []string{"c2", "c4"}},
		// ASCII letters match in any case on both databases.
		{`email:"@acme.com"`, []string{"c1", "c2"}},
		{`display_name:"ACME"`, []string{"c2"}},
		// % and _ are literal characters, not LIKE wildcards.
		{`display_name:"50%"`, []string{"c3"}},
		{`display_name:"a%"`, nil},
		{`display_name:"_"`, []string{"c3"}},
		{`email:*`, []string{"c1", "c2", "c3"}},
		{`display_name >= "A" AND display_name < "C"`, []string{"c2", "c3"}},
		// Fractions are neither rounded nor truncated against BIGINT.
		{`score > 1.5`, []string{"c1", "c2"}},
		{`score < 2.5`, []string{"c2", "c3", "c4"}},
		{`score < 0`, []string{"c4"}},
		{`score = -1`, []string{"c4"}},
		{`score:*`, []string{"c1", "c2", "c3", "c4"}},
		{`possible_duplicate = true`, []string{"c2", "c4"}},
		{`NOT possible_duplicate = true`, []string{"c1", "c3"}},
		{`possible_duplicate != true`, []string{"c1", "c3"}},
		{`-tags:"vip"`, []string{"c3", "c4"}},
		{`tags:*`, []string{"c1", "c2", "c4"}},
		{`-tags:*`, []string{"c3"}},
		{`tags:vip tags:gold`, []string{"c1"}},
		{`tags:vip OR tags:gold`, []string{"c1", "c2", "c4"}},
		{`kind = RETAIL OR kind = DISTRIBUTOR lifecycle_stage = LAPSED`, []string{"c2", "c3"}},
		{`kind = CUSTOMER_KIND_RETAIL AND (score > 0 OR display_name:"红")`, []string{"c2", "c4"}},
		{`create_time < "2025-01-01T08:00:00+08:00"`, []string{"c2"}},
		{`create_time <= "2025-01-01T08:00:00+08:00"`, []string{"c2", "c3"}},
		{`-(create_time < "2025-01-01T00:00:00Z" OR score > 4)`, []string{"c3", "c4"}},
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			db := seed(t, d.URL)
			for _, tt := range tests {
				where, args, err := aipfilter.Compile(tt.filter, testSchema())
				if err != nil {
					t.Errorf("Compile(%q): %v", tt.filter, err)
					continue
				}
				q := "SELECT c.id FROM customers c"
				if where != "" {
					q += " WHERE " + where
				}
				got := ids(t, db, q+" ORDER BY c.id", args...)
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s\n%s %v\n got %v, want %v", tt.filter, where, args, got, tt.want)
				}
			}
			allowed := map[string]string{"score": "c.score", "create_time": "c.create_time"}
			for orderBy, want := range map[string][]string{
				"score desc":  {"c1", "c2", "c3", "c4"},
				"create_time": {"c2", "c3", "c1", "c4"},
			} {
				terms, err := aipfilter.CompileOrderBy(orderBy, allowed)
				if err != nil {
					t.Fatal(err)
				}
				q := "SELECT c.id FROM customers c ORDER BY " + aipfilter.OrderBySQL(terms) + ", c.id"
				if got := ids(t, db, q); !slices.Equal(got, want) {
					t.Errorf("order_by %q: got %v, want %v", orderBy, got, want)
				}
			}
		})
	}
}

func seed(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db := testinfra.OpenDB(t, url, fstest.MapFS{"00001_init.sql": {Data: []byte(schemaSQL)}})
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, c := range customers {
			created, err := time.Parse(time.RFC3339, c.created)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				c.id, c.kind, c.stage, c.name, c.email, c.owner, c.score, c.dup, sqldb.Micros(created)); err != nil {
				return err
			}
			for _, tag := range c.tags {
				if _, err := tx.Exec(ctx, "INSERT INTO customer_tags VALUES (?, ?)", c.id, tag); err != nil {
					return err
				}
			}
			for name, v := range c.attrs {
				text, number := v, any(nil)
				if f, ok := v.(float64); ok {
					text, number = "", f
				}
				if _, err := tx.Exec(ctx, "INSERT INTO customer_attributes VALUES (?, ?, ?, ?)", c.id, name, text, number); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return db
}

func ids(t *testing.T, db *sqldb.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
