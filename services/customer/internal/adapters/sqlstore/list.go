package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// orderFields are the fields ListCustomers sorts by: the column, and the
// column's value in a customer, which a page's cursor carries.
var orderFields = map[string]struct {
	column string
	key    func(domain.Customer) any
}{
	"display_name":    {"display_name", func(c domain.Customer) any { return c.DisplayName }},
	"create_time":     {"create_time", func(c domain.Customer) any { return sqldb.Micros(c.CreateTime) }},
	"update_time":     {"update_time", func(c domain.Customer) any { return sqldb.Micros(c.UpdateTime) }},
	"kind":            {"kind", func(c domain.Customer) any { return c.Kind.String() }},
	"lifecycle_stage": {"lifecycle_stage", func(c domain.Customer) any { return c.Stage.String() }},
	"owner_id":        {"owner_id", func(c domain.Customer) any { return c.OwnerID }},
}

// orderColumns maps orderFields' names to their columns, for
// aipfilter.CompileOrderBy.
var orderColumns = func() map[string]string {
	m := make(map[string]string, len(orderFields))
	for name, f := range orderFields {
		m[name] = f.column
	}
	return m
}()

// ListCustomers implements domain.Store. It pages by keyset: the cursor is
// the last row's sort key and id, and a page reads from an index only the
// rows after it, where an OFFSET read and dropped every row of the pages
// before (page 10,000 of 100 read a million rows).
func (s *Store) ListCustomers(ctx context.Context, q domain.ListQuery) ([]domain.Customer, string, error) {
	if q.Limit <= 0 {
		// The use case always asks for a page of at least one.
		return nil, "", fmt.Errorf("list customers: limit %d", q.Limit)
	}
	terms, err := listOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	where, args, err := s.where(ctx, q)
	if err != nil {
		return nil, "", err
	}
	if q.After != "" {
		values, err := decodeCursor(q.After, terms)
		if err != nil {
			return nil, "", err
		}
		cond, cargs := aipfilter.After(terms, values)
		where += " AND " + cond
		args = append(args, cargs...)
	}
	// One row more than the page tells whether another page follows.
	query := `SELECT ` + customerColumns + ` FROM customers WHERE ` + where +
		` ORDER BY ` + aipfilter.OrderBySQL(terms) + ` LIMIT ?`
	cs, err := queryCustomers(ctx, s.db, query, append(args, q.Limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	if len(cs) <= q.Limit {
		return cs, "", nil
	}
	cs = cs[:q.Limit]
	return cs, encodeCursor(cs[len(cs)-1], terms), nil
}

// listOrder compiles orderBy (creation time when empty) and appends the id,
// which makes the order total, so a cursor names one position. The id
// sorts the way the last field does: an order all one way is then one
// range of an index on its columns and the id, read forwards or backwards.
func listOrder(orderBy string) ([]aipfilter.OrderTerm, error) {
	terms, err := aipfilter.CompileOrderBy(orderBy, orderColumns)
	if err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		terms = []aipfilter.OrderTerm{{Field: "create_time", Column: "create_time"}}
	}
	return append(terms, aipfilter.OrderTerm{Field: "id", Column: "id", Desc: terms[len(terms)-1].Desc}), nil
}

// encodeCursor is the position of c in the order of terms: its values of
// the order's fields, the id last.
func encodeCursor(c domain.Customer, terms []aipfilter.OrderTerm) string {
	values := make([]any, len(terms))
	for i, t := range terms {
		if t.Field == "id" {
			values[i] = c.ID
			continue
		}
		values[i] = orderFields[t.Field].key(c)
	}
	b, err := json.Marshal(values)
	if err != nil {
		// Strings and integers always marshal.
		panic("customer cursor: " + err.Error())
	}
	return string(b)
}

// decodeCursor reads a cursor encodeCursor made for terms. The page token
// around it is bound to the request's order, so a mismatch means a token
// from another release or a forged one.
func decodeCursor(cursor string, terms []aipfilter.OrderTerm) ([]any, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(cursor), &raw); err != nil || len(raw) != len(terms) {
		return nil, badCursor()
	}
	values := make([]any, len(terms))
	for i, t := range terms {
		var err error
		if t.Field == "create_time" || t.Field == "update_time" {
			var n int64
			err = json.Unmarshal(raw[i], &n)
			values[i] = n
		} else {
			var v string
			err = json.Unmarshal(raw[i], &v)
			values[i] = v
		}
		if err != nil {
			return nil, badCursor()
		}
	}
	return values, nil
}

func badCursor() error {
	var v validation.Violations
	v.Add("page_token", "is not a position in this order; list again from the first page")
	return v.Err()
}

// CountCustomers implements domain.Store. The inner LIMIT stops the count
// at limit matches: an exact COUNT(*) of a million-row match reads every
// one of them (PostgreSQL has no stored row count to answer it from), and
// it would do so on every page.
func (s *Store) CountCustomers(ctx context.Context, q domain.ListQuery, limit int) (int, error) {
	where, args, err := s.where(ctx, q)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM customers WHERE `+where+` LIMIT ?) AS matched`,
		append(args, limit)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

// ScanCustomers implements domain.Store.
func (s *Store) ScanCustomers(ctx context.Context, q domain.ListQuery, after string, limit int) ([]domain.Customer, error) {
	q.ShowDeleted = false
	where, args, err := s.where(ctx, q)
	if err != nil {
		return nil, err
	}
	query := `SELECT ` + customerColumns + ` FROM customers WHERE ` + where + ` AND id > ? ORDER BY id LIMIT ?`
	cs, err := queryCustomers(ctx, s.db, query, append(args, after, limit)...)
	if err != nil {
		return nil, fmt.Errorf("scan customers: %w", err)
	}
	return cs, nil
}

// where is the condition selecting q's customers.
func (s *Store) where(ctx context.Context, q domain.ListQuery) (string, []any, error) {
	conds := []string{"state = 'active'"}
	if q.ShowDeleted {
		conds[0] = "state IN ('active', 'deleted')"
	}
	var args []any
	if q.Filter != "" {
		defs, err := s.Definitions(ctx)
		if err != nil {
			return "", nil, err
		}
		where, fargs, err := aipfilter.Compile(q.Filter, filterSchema(defs, docSQL{s.db.Dialect}))
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, "("+where+")")
		args = append(args, fargs...)
	}
	for _, t := range q.Terms {
		cond, targs := aipfilter.Contains("search_text", t)
		conds = append(conds, cond)
		args = append(args, targs...)
	}
	if q.Scope.Limited {
		cond, sargs := scopeCondition(q.Scope)
		conds = append(conds, cond)
		args = append(args, sargs...)
	}
	return strings.Join(conds, " AND "), args, nil
}

// scopeCondition selects the customers a limited scope sees: its owner's
// and its teams'.
func scopeCondition(s domain.Scope) (string, []any) {
	var ors []string
	var args []any
	if s.Owner != "" {
		ors = append(ors, "owner_id = ?")
		args = append(args, s.Owner)
	}
	if len(s.Teams) > 0 {
		ors = append(ors, "team_id IN (?"+strings.Repeat(", ?", len(s.Teams)-1)+")")
		for _, t := range s.Teams {
			args = append(args, t)
		}
	}
	if len(ors) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// compileFilter compiles an ownership transfer's filter, reading the
// attribute definitions in the transaction.
func (t *storeTx) compileFilter(ctx context.Context, filter string) (string, []any, error) {
	if filter == "" {
		return "", nil, nil
	}
	defs, err := t.Definitions(ctx)
	if err != nil {
		return "", nil, err
	}
	return aipfilter.Compile(filter, filterSchema(defs, docSQL{t.dialect}))
}

// filterSchema declares the fields filters may use. Contacts are matched in
// their side table with EXISTS, tags and attributes in the profile's JSON.
func filterSchema(defs domain.Definitions, d docSQL) aipfilter.Schema {
	typ := enumField("type", domain.TypeNames(), "CUSTOMER_TYPE_")
	kind := enumField("kind", domain.KindNames(), "CUSTOMER_KIND_")
	stage := enumField("lifecycle_stage", domain.StageNames(), "LIFECYCLE_STAGE_")
	str := func(col string) aipfilter.Field { return aipfilter.Field{Kind: aipfilter.String, Column: col} }
	return aipfilter.Schema{
		Fields: map[string]aipfilter.Field{
			"type": typ, "kind": kind, "lifecycle_stage": stage,
			"display_name": str("display_name"), "owner_id": str("owner_id"), "team_id": str("team_id"),
			"external_id": str("external_id"), "locale": str("locale"), "time_zone": str("time_zone"),
			"possible_duplicate": {Kind: aipfilter.Bool, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
				return aipfilter.Comparison("possible_duplicate", op, aipfilter.Value{Kind: aipfilter.Number, Arg: int64(boolInt(v.Arg == true))})
			}},
			"create_time": {Kind: aipfilter.Timestamp, Column: "create_time"},
			"update_time": {Kind: aipfilter.Timestamp, Column: "update_time"},
			"tags": {Kind: aipfilter.String, Has: func(v aipfilter.Value) (string, []any) {
				if v.Wildcard {
					return d.anyTag(), nil
				}
				return d.hasTag(v.Text)
			}},
			"email": contactField("email"),
			"phone": contactField("phone"),
		},
		Dynamic: func(path string) (aipfilter.Field, bool) {
			name, ok := strings.CutPrefix(path, "attributes.")
			if !ok {
				return aipfilter.Field{}, false
			}
			def, ok := defs[name]
			if !ok {
				return aipfilter.Field{}, false
			}
			return d.attributeField(def), true
		},
		DynamicHelp: "attributes.<name> for a declared attribute",
	}
}

// enumField is a stored lowercase enum column; filters name values as the
// API does, with or without the proto prefix, in any case.
func enumField(column string, names []string, prefix string) aipfilter.Field {
	upper := make([]string, len(names))
	for i, n := range names {
		upper[i] = strings.ToUpper(n)
	}
	return aipfilter.Field{Kind: aipfilter.Enum, Column: column, EnumNames: upper,
		Enum: func(name string) (string, bool) {
			n := strings.ToLower(strings.TrimPrefix(strings.ToUpper(name), prefix))
			return n, slices.Contains(names, n)
		}}
}

// contactField matches any of the customer's emails or phones: = compares
// the whole value, normalized as stored (`phone = "138 0013 8000"` finds
// +8613800138000), `:` a part of it, and `= ""` matches customers without
// any.
func contactField(kind string) aipfilter.Field {
	return aipfilter.Field{Kind: aipfilter.String, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
		exists := `EXISTS (SELECT 1 FROM customer_contacts c WHERE c.customer_id = customers.id AND `
		prefix := kind + ":"
		switch {
		case v.Wildcard:
			return exists + `c.contact_key LIKE ?)`, []any{prefix + "%"}, nil
		case op == aipfilter.Has:
			cond, args := aipfilter.Contains("c.contact_key", v.Text)
			return exists + `c.contact_key LIKE ? AND ` + cond + `)`, append([]any{prefix + "%"}, args...), nil
		case (op == aipfilter.Equal || op == aipfilter.NotEqual) && strings.TrimSpace(v.Text) == "":
			cond := exists + `c.contact_key LIKE ?)`
			if op == aipfilter.Equal {
				cond = "NOT " + cond
			}
			return cond, []any{prefix + "%"}, nil
		case op == aipfilter.Equal || op == aipfilter.NotEqual:
			holders, args := holdersOf([]any{domain.ContactKey(kind, v.Text)})
			cond := `customers.id IN (` + holders + `)`
			if op == aipfilter.NotEqual {
				cond = "NOT " + cond
			}
			return cond, args, nil
		}
		return "", nil, fmt.Errorf("%s supports =, != and : only", kind)
	}}
}

// holdersOf selects the customers holding any of the contact keys, claimed
// or not, through the two partial indexes on contact_key.
func holdersOf(keys []any) (string, []any) {
	in := `contact_key IN (` + placeholders(len(keys)) + `)`
	return `SELECT customer_id FROM customer_contacts WHERE (claimed = 1 AND ` + in + `) OR (claimed = 0 AND ` + in + `)`,
		append(append([]any{}, keys...), keys...)
}

// DuplicateCandidates implements domain.Store.
func (s *Store) DuplicateCandidates(ctx context.Context, c domain.Customer, limit int) ([]domain.Customer, error) {
	var keys []any
	for _, ct := range c.Contacts() {
		keys = append(keys, ct.Key())
	}
	cond := `name_key = ?`
	args := []any{domain.NameKey(c.DisplayName)}
	if len(keys) > 0 {
		holders, hargs := holdersOf(keys)
		cond += ` OR id IN (` + holders + `)`
		args = append(args, hargs...)
	}
	query := `SELECT ` + customerColumns + ` FROM customers WHERE state = 'active' AND id <> ? AND (` + cond + `)
		ORDER BY create_time, id LIMIT ?`
	cs, err := queryCustomers(ctx, s.db, query, append(append([]any{c.ID}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	return cs, nil
}
