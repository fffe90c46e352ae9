package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

var (
	interactionColumns = []string{"id", "customer_id", "kind", "channel", "occur_time", "summary", "source",
		"source_id", "request_id", "create_time", "direction", "agent_id", "team_id", "case_id", "details"}
	purchaseColumns = []string{"interaction_id", "currency_code", "total_minor", "order_id", "warranty_end", "order_source"}
	lineColumns     = []string{"interaction_id", "line_no", "sku", "product_name", "category", "quantity",
		"unit_currency_code", "unit_price_minor"}
	returnColumns = []string{"interaction_id", "purchase_interaction_id", "order_id", "currency_code",
		"refund_minor", "reason"}
)

// rowsOf turns interactions into the rows of their tables, for one bulk
// insert per table.
type rowsOf struct {
	interactions, purchases, purchaseLines, returns, returnLines [][]any
}

func (r *rowsOf) add(in domain.Interaction, requestID string) {
	r.interactions = append(r.interactions, []any{in.ID, in.CustomerID, string(in.Kind), string(in.Channel),
		sqldb.Micros(in.OccurTime), in.Summary, in.Source, nullableAny(in.SourceID), nullableAny(requestID),
		sqldb.Micros(in.CreateTime), string(in.Direction), in.AgentID, in.TeamID, in.CaseID, encodeDetails(in.Details)})
	if p := in.Purchase; p != nil {
		var warranty any
		if !p.WarrantyEnd.IsZero() {
			warranty = sqldb.Micros(p.WarrantyEnd)
		}
		// order_source is set only with an order id: the unique index on
		// (order_source, order_id) is the order's identity (see
		// domain.OrderKey), and NULLs never collide in it.
		var orderSource any
		if key, ok := domain.OrderKeyOf(in); ok {
			orderSource = key.Source
		}
		r.purchases = append(r.purchases, []any{in.ID, p.Total.CurrencyCode, p.Total.AmountMinor, p.OrderID, warranty, orderSource})
		r.purchaseLines = appendLines(r.purchaseLines, in.ID, p.Lines)
	}
	if rt := in.Return; rt != nil {
		r.returns = append(r.returns, []any{in.ID, rt.PurchaseInteractionID, rt.OrderID, rt.Refund.CurrencyCode,
			rt.Refund.AmountMinor, rt.Reason})
		r.returnLines = appendLines(r.returnLines, in.ID, rt.Lines)
	}
}

func appendLines(rows [][]any, id string, lines []domain.PurchaseLine) [][]any {
	for i, l := range lines {
		rows = append(rows, []any{id, i, l.SKU, l.ProductName, l.Category, l.Quantity,
			l.UnitPrice.CurrencyCode, l.UnitPrice.AmountMinor})
	}
	return rows
}

// tableRows are the rows of one table.
type tableRows struct {
	table   string
	columns []string
	rows    [][]any
}

// tables lists the rows by table, parents first.
func (r *rowsOf) tables() []tableRows {
	return []tableRows{
		{"interactions", interactionColumns, r.interactions},
		{"purchases", purchaseColumns, r.purchases},
		{"purchase_lines", lineColumns, r.purchaseLines},
		{"returns", returnColumns, r.returns},
		{"return_lines", lineColumns, r.returnLines},
	}
}

// insert writes the rows with one bulk write per table (COPY on
// PostgreSQL); few rows are better written by insertSmall.
func (r *rowsOf) insert(ctx context.Context, tx *sqldb.Tx) error {
	for _, t := range r.tables() {
		if err := duplicate(t.table, tx.InsertRows(ctx, t.table, t.columns, t.rows)); err != nil {
			return err
		}
	}
	return nil
}

// insertSmall writes the rows of a few interactions. On PostgreSQL it
// takes one statement, each table's INSERT but the last in a WITH clause
// (foreign keys are checked at the end of the statement): one round trip
// where a COPY per table takes two each. On SQLite, where a statement
// costs no round trip, it takes one INSERT per table.
func (r *rowsOf) insertSmall(ctx context.Context, tx *sqldb.Tx) error {
	if tx.Dialect() != sqldb.Postgres {
		for _, t := range r.tables() {
			if err := duplicate(t.table, sqldb.InsertRows(ctx, tx, t.table, t.columns, t.rows)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		inserts []string
		args    []any
	)
	for _, t := range r.tables() {
		if len(t.rows) == 0 {
			continue
		}
		one := "(" + strings.Repeat("?, ", len(t.columns)-1) + "?)"
		inserts = append(inserts, "INSERT INTO "+t.table+" ("+strings.Join(t.columns, ", ")+") VALUES "+
			strings.Repeat(one+", ", len(t.rows)-1)+one)
		for _, row := range t.rows {
			args = append(args, row...)
		}
	}
	if len(inserts) == 0 {
		return nil
	}
	var q strings.Builder
	for i, ins := range inserts[:len(inserts)-1] {
		if i == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "w%d AS (%s)", i, ins)
	}
	q.WriteString(" " + inserts[len(inserts)-1])
	_, err := tx.Exec(ctx, q.String(), args...)
	return duplicate("interactions", err)
}

// duplicate makes a unique violation inserting into table ErrDuplicate.
func duplicate(table string, err error) error {
	if sqldb.IsUniqueViolation(err) {
		return fmt.Errorf("insert %s: %w", table, domain.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

// Insert stores the interactions with their purchases or returns and
// lines, in one statement on PostgreSQL.
func (t *storeTx) Insert(ctx context.Context, ins ...domain.Keyed) error {
	var r rowsOf
	for _, k := range ins {
		r.add(k.Interaction, k.Key.RequestID)
	}
	if r.params() > maxStatementParams {
		return r.insert(ctx, t.tx)
	}
	return r.insertSmall(ctx, t.tx)
}

// maxStatementParams keeps insertSmall's one statement well under the
// 65,535 parameters PostgreSQL takes (and SQLite's 32,766).
const maxStatementParams = 30_000

// params counts the values of the rows.
func (r *rowsOf) params() int {
	n := 0
	for _, t := range r.tables() {
		n += len(t.rows) * len(t.columns)
	}
	return n
}

// InsertBatch stores many interactions with one bulk write per table.
func (t *storeTx) InsertBatch(ctx context.Context, ins []domain.Interaction) error {
	var r rowsOf
	for _, in := range ins {
		r.add(in, "")
	}
	return r.insert(ctx, t.tx)
}

// encodeDetails stores details as a JSON object; none is the empty string.
func encodeDetails(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		// A map of strings always marshals.
		return ""
	}
	return string(b)
}

func decodeDetails(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("decode details: %w", err)
	}
	return d, nil
}

const selectInteractions = `SELECT i.id, i.customer_id, i.kind, i.channel, i.occur_time, i.summary,
	i.source, i.source_id, i.create_time, i.direction, i.agent_id, i.team_id, i.case_id, i.details,
	p.currency_code, p.total_minor, p.order_id, p.warranty_end,
	r.purchase_interaction_id, r.order_id, r.currency_code, r.refund_minor, r.reason
	FROM interactions i LEFT JOIN purchases p ON p.interaction_id = i.id
	LEFT JOIN returns r ON r.interaction_id = i.id `

// FindByKey returns the interaction recorded under the request id, else
// under the source pair.
func (s *Store) FindByKey(ctx context.Context, key domain.IdempotencyKey) (domain.Interaction, error) {
	if key.RequestID != "" {
		in, err := s.findOne(ctx, `WHERE i.request_id = ?`, key.RequestID)
		if !errors.Is(err, domain.ErrNotFound) {
			return in, err
		}
	}
	if key.SourceID != "" {
		return s.findOne(ctx, `WHERE i.source = ? AND i.source_id = ?`, key.Source, key.SourceID)
	}
	return domain.Interaction{}, fmt.Errorf("find interaction: %w", domain.ErrNotFound)
}

// GetInteraction returns one interaction by id.
func (s *Store) GetInteraction(ctx context.Context, id string) (domain.Interaction, error) {
	return s.findOne(ctx, `WHERE i.id = ?`, id)
}

func (s *Store) findOne(ctx context.Context, where string, args ...any) (domain.Interaction, error) {
	list, err := s.query(ctx, selectInteractions+where, args...)
	if err != nil {
		return domain.Interaction{}, fmt.Errorf("find interaction: %w", err)
	}
	if len(list) == 0 {
		return domain.Interaction{}, fmt.Errorf("find interaction: %w", domain.ErrNotFound)
	}
	return list[0], nil
}

// ListByCustomer returns a customer's interactions newest first, by
// (occur_time desc, id desc), strictly after the cursor.
func (s *Store) ListByCustomer(ctx context.Context, customerID string, after *domain.Cursor, limit int) ([]domain.Interaction, error) {
	return s.Timeline(ctx, domain.TimelineQuery{CustomerID: customerID, After: after, Limit: limit})
}

// timelineSchema declares the fields a timeline filter may use.
var timelineSchema = aipfilter.Schema{Fields: map[string]aipfilter.Field{
	"channel":    enumField("i.channel", domain.ChannelNames(), "CHANNEL_"),
	"kind":       enumField("i.kind", domain.KindNames(), "INTERACTION_KIND_"),
	"direction":  enumField("i.direction", domain.DirectionNames(), "DIRECTION_"),
	"agent_id":   {Kind: aipfilter.String, Column: "i.agent_id"},
	"team_id":    {Kind: aipfilter.String, Column: "i.team_id"},
	"case_id":    {Kind: aipfilter.String, Column: "i.case_id"},
	"source":     {Kind: aipfilter.String, Column: "i.source"},
	"occur_time": {Kind: aipfilter.Timestamp, Column: "i.occur_time"},
}}

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

// Timeline returns a customer's interactions matching the filter, newest
// first, strictly after the cursor.
func (s *Store) Timeline(ctx context.Context, tq domain.TimelineQuery) ([]domain.Interaction, error) {
	q := selectInteractions + `WHERE i.customer_id = ? `
	args := []any{tq.CustomerID}
	where, fargs, err := aipfilter.Compile(tq.Filter, timelineSchema)
	if err != nil {
		return nil, err
	}
	if where != "" {
		q += `AND (` + where + `) `
		args = append(args, fargs...)
	}
	if tq.After != nil {
		at := sqldb.Micros(tq.After.OccurTime)
		q += `AND (i.occur_time < ? OR (i.occur_time = ? AND i.id < ?)) `
		args = append(args, at, at, tq.After.ID)
	}
	q += `ORDER BY i.occur_time DESC, i.id DESC LIMIT ?`
	args = append(args, tq.Limit)
	list, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list interactions: %w", err)
	}
	return list, nil
}

// FindBySourceKeys looks the keys up in chunks, one query per chunk.
func (s *Store) FindBySourceKeys(ctx context.Context, keys []domain.SourceKey) (map[domain.SourceKey]domain.Recorded, error) {
	out := make(map[domain.SourceKey]domain.Recorded)
	bySource := map[string][]string{}
	for _, k := range keys {
		bySource[k.Source] = append(bySource[k.Source], k.SourceID)
	}
	const chunk = 1000
	for source, ids := range bySource {
		for len(ids) > 0 {
			part := ids[:min(chunk, len(ids))]
			ids = ids[len(part):]
			q, args := inList(s.db.Dialect, `SELECT source_id, id, customer_id FROM interactions
				WHERE source = ? AND source_id`, part, source)
			rows, err := s.db.Query(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("find source keys: %w", err)
			}
			for rows.Next() {
				var sid string
				var r domain.Recorded
				if err := rows.Scan(&sid, &r.InteractionID, &r.CustomerID); err != nil {
					rows.Close()
					return nil, fmt.Errorf("find source keys: %w", err)
				}
				out[domain.SourceKey{Source: source, SourceID: sid}] = r
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("find source keys: %w", err)
			}
		}
	}
	return out, nil
}

// FindOrders looks the order keys up in chunks, one query per chunk and
// source.
func (s *Store) FindOrders(ctx context.Context, keys []domain.OrderKey) (map[domain.OrderKey]domain.RecordedOrder, error) {
	out := make(map[domain.OrderKey]domain.RecordedOrder)
	bySource := map[string][]string{}
	for _, k := range keys {
		bySource[k.Source] = append(bySource[k.Source], k.OrderID)
	}
	const chunk = 1000
	for source, ids := range bySource {
		for len(ids) > 0 {
			part := ids[:min(chunk, len(ids))]
			ids = ids[len(part):]
			q, args := inList(s.db.Dialect, `SELECT p.order_id, p.interaction_id, i.customer_id, p.currency_code, p.total_minor
				FROM purchases p JOIN interactions i ON i.id = p.interaction_id
				WHERE p.order_source = ? AND p.order_id`, part, source)
			rows, err := s.db.Query(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("find orders: %w", err)
			}
			for rows.Next() {
				var oid string
				var r domain.RecordedOrder
				if err := rows.Scan(&oid, &r.InteractionID, &r.CustomerID, &r.Total.CurrencyCode, &r.Total.AmountMinor); err != nil {
					rows.Close()
					return nil, fmt.Errorf("find orders: %w", err)
				}
				out[domain.OrderKey{Source: source, OrderID: oid}] = r
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("find orders: %w", err)
			}
		}
	}
	return out, nil
}

// ResolveCustomers follows the merges of every id to its survivor, and
// checks the survivors' erasure, in one recursive query per thousand ids:
// RecordInteraction resolves its one customer on every call, and a query
// per hop and another for erasures made that three round trips.
func (s *Store) ResolveCustomers(ctx context.Context, ids []string) (map[string]string, map[string]bool, error) {
	survivors := make(map[string]string, len(ids))
	hops := make(map[string]int, len(ids))
	gone := map[string]bool{} // erased customers met on the way
	const chunk = 1000
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		var seed string
		var args []any
		if s.db.Dialect == sqldb.Postgres {
			seed, args = `SELECT k, k, 0 FROM unnest(CAST(? AS text[])) AS s (k)`, []any{part}
		} else {
			seed = `SELECT column1, column1, 0 FROM (VALUES (?)` + strings.Repeat(", (?)", len(part)-1) + `)`
			for _, id := range part {
				args = append(args, id)
			}
		}
		// The chain of each id, one row per merge followed; a chain still
		// going after MaxMergeHops merges is a cycle.
		rows, err := s.db.Query(ctx, `WITH RECURSIVE chain (start_id, id, hops) AS (`+seed+`
			UNION ALL
			SELECT c.start_id, m.survivor_id, c.hops + 1 FROM chain c JOIN customer_merges m ON m.merged_id = c.id
			WHERE c.hops <= ?)
			SELECT c.start_id, c.id, c.hops, EXISTS (SELECT 1 FROM customer_erasures e WHERE e.customer_id = c.id)
			FROM chain c`, append(args, domain.MaxMergeHops)...)
		if err != nil {
			return nil, nil, fmt.Errorf("resolve customers: %w", err)
		}
		for rows.Next() {
			var (
				start, id string
				n         int
				erasedID  bool
			)
			if err := rows.Scan(&start, &id, &n, &erasedID); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("resolve customers: %w", err)
			}
			if erasedID {
				gone[id] = true
			}
			if at, seen := hops[start]; !seen || n > at {
				hops[start], survivors[start] = n, id
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("resolve customers: %w", err)
		}
	}
	for id, n := range hops {
		if n > domain.MaxMergeHops {
			return nil, nil, fmt.Errorf("resolve customers: %s: %w", id, domain.ErrMergeConflict)
		}
	}
	erased := map[string]bool{}
	for _, id := range survivors {
		if gone[id] {
			erased[id] = true
		}
	}
	return survivors, erased, nil
}

// inList completes query, which ends in the column to match, with a match
// against any of keys: one array parameter on PostgreSQL (one plan
// whatever the count), an IN list on SQLite. Leading args come first.
func inList(d sqldb.Dialect, query string, keys []string, leading ...any) (string, []any) {
	if d == sqldb.Postgres {
		return query + ` = ANY(?)`, append(leading, keys)
	}
	args := leading
	for _, k := range keys {
		args = append(args, k)
	}
	return query + ` IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`, args
}

// lookup runs a two-column query whose IN list is keys, in chunks.
func (s *Store) lookup(ctx context.Context, prefix string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	const chunk = 1000
	for len(keys) > 0 {
		part := keys[:min(chunk, len(keys))]
		keys = keys[len(part):]
		q, args := inList(s.db.Dialect, prefix, part)
		rows, err := s.db.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// query runs a selectInteractions query and fills in the lines.
func (s *Store) query(ctx context.Context, q string, args ...any) ([]domain.Interaction, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		list      []domain.Interaction
		purchases = map[string]*[]domain.PurchaseLine{}
		returns   = map[string]*[]domain.PurchaseLine{}
	)
	for rows.Next() {
		var (
			in                      domain.Interaction
			kind, channel, dir      string
			details                 string
			occur, created          int64
			sourceID                sql.NullString
			currency, orderID       sql.NullString
			totalMinor, warranty    sql.NullInt64
			rPurchase, rOrder, rCur sql.NullString
			rRefund                 sql.NullInt64
			rReason                 sql.NullString
		)
		if err := rows.Scan(&in.ID, &in.CustomerID, &kind, &channel, &occur, &in.Summary,
			&in.Source, &sourceID, &created, &dir, &in.AgentID, &in.TeamID, &in.CaseID, &details,
			&currency, &totalMinor, &orderID, &warranty,
			&rPurchase, &rOrder, &rCur, &rRefund, &rReason); err != nil {
			return nil, fmt.Errorf("scan interaction: %w", err)
		}
		in.Kind = domain.Kind(kind)
		in.Channel = domain.Channel(channel)
		in.Direction = domain.Direction(dir)
		in.OccurTime = sqldb.FromMicros(occur)
		in.CreateTime = sqldb.FromMicros(created)
		in.SourceID = sourceID.String
		if in.Details, err = decodeDetails(details); err != nil {
			return nil, err
		}
		if currency.Valid {
			in.Purchase = &domain.Purchase{
				Total:   domain.Money{CurrencyCode: currency.String, AmountMinor: totalMinor.Int64},
				OrderID: orderID.String,
			}
			if warranty.Valid {
				in.Purchase.WarrantyEnd = sqldb.FromMicros(warranty.Int64)
			}
			purchases[in.ID] = &in.Purchase.Lines
		}
		if rCur.Valid {
			in.Return = &domain.Return{
				PurchaseInteractionID: rPurchase.String,
				OrderID:               rOrder.String,
				Refund:                domain.Money{CurrencyCode: rCur.String, AmountMinor: rRefund.Int64},
				Reason:                rReason.String,
			}
			returns[in.ID] = &in.Return.Lines
		}
		list = append(list, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read interactions: %w", err)
	}
	if err := s.loadLines(ctx, "purchase_lines", purchases); err != nil {
		return nil, err
	}
	if err := s.loadLines(ctx, "return_lines", returns); err != nil {
		return nil, err
	}
	return list, nil
}

// loadLines fills the lines of the given interactions from table with one
// query.
func (s *Store) loadLines(ctx context.Context, table string, into map[string]*[]domain.PurchaseLine) error {
	if len(into) == 0 {
		return nil
	}
	ids := make([]any, 0, len(into))
	for id := range into {
		ids = append(ids, id)
	}
	q := `SELECT interaction_id, sku, product_name, category, quantity, unit_currency_code, unit_price_minor
		FROM ` + table + ` WHERE interaction_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)
		ORDER BY interaction_id, line_no`
	rows, err := s.db.Query(ctx, q, ids...)
	if err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			l  domain.PurchaseLine
		)
		if err := rows.Scan(&id, &l.SKU, &l.ProductName, &l.Category, &l.Quantity,
			&l.UnitPrice.CurrencyCode, &l.UnitPrice.AmountMinor); err != nil {
			return fmt.Errorf("scan %s: %w", table, err)
		}
		lines := into[id]
		*lines = append(*lines, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}

// nullableAny is nullable for bulk rows, whose values must be plain Go
// types: an absent key is nil (NULL).
func nullableAny(s string) any {
	if s == "" {
		return nil
	}
	return s
}
