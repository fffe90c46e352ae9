package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// segmentFrom is what segment filters run over: every customer with a
// value, and their profile when the customer service told us of one.
const segmentFrom = ` FROM customer_values v LEFT JOIN customer_profiles p ON p.customer_id = v.customer_id`

// filterSchema declares the fields segment filters may use. Amounts are
// written in major units and compared in minor units (times scale).
func filterSchema(scale float64) aipfilter.Schema {
	num := func(col string) aipfilter.Field { return aipfilter.Field{Kind: aipfilter.Number, Column: col} }
	money := func(col string) aipfilter.Field {
		return aipfilter.Field{Kind: aipfilter.Number, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
			return aipfilter.Comparison(col, op, scaled(v, scale))
		}}
	}
	// Model outputs exist only once a model was fitted; a customer without
	// a prediction matches no comparison on them.
	predicted := func(col string, scale float64) aipfilter.Field {
		return aipfilter.Field{Kind: aipfilter.Number, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
			cond, args, err := aipfilter.Comparison(col, op, scaled(v, scale))
			return "v.predicted = 1 AND " + cond, args, err
		}}
	}
	profileEnum := func(col, prefix string) aipfilter.Field {
		return aipfilter.Field{Kind: aipfilter.String, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
			if !v.Wildcard && op != aipfilter.Has {
				v.Arg = strings.ToLower(strings.TrimPrefix(strings.ToUpper(v.Text), prefix))
			}
			return aipfilter.Comparison("COALESCE("+col+", '')", op, v)
		}}
	}
	rfmNames := domain.RFMSegments()
	return aipfilter.Schema{
		Fields: map[string]aipfilter.Field{
			"abc_class": {Kind: aipfilter.Enum, Column: "v.abc_class", EnumNames: []string{"A", "B", "C"},
				Enum: func(name string) (string, bool) {
					n := strings.TrimPrefix(strings.ToUpper(name), "ABC_CLASS_")
					return n, n == "A" || n == "B" || n == "C"
				}},
			"rfm_segment": {Kind: aipfilter.Enum, Column: "v.rfm_segment", EnumNames: rfmNames,
				Enum: func(name string) (string, bool) {
					n := strings.ToLower(name)
					return n, slices.Contains(rfmNames, n)
				}},
			"recency_score":        num("v.recency_score"),
			"frequency_score":      num("v.frequency_score"),
			"monetary_score":       num("v.monetary_score"),
			"purchase_count":       num("v.purchase_count"),
			"purchase_days":        num("v.purchase_days"),
			"trailing_spend":       money("v.trailing_spend"),
			"lifetime_spend":       money("v.lifetime_spend"),
			"p_alive":              predicted("v.p_alive", 1),
			"expected_purchases":   predicted("v.expected_purchases", 1),
			"expected_order_value": predicted("v.expected_aov", scale),
			"clv":                  predicted("v.clv", scale),
			"first_purchase_time":  {Kind: aipfilter.Timestamp, Column: "v.first_time"},
			"last_purchase_time":   {Kind: aipfilter.Timestamp, Column: "v.last_time"},
			"kind":                 profileEnum("p.kind", "CUSTOMER_KIND_"),
			"type":                 profileEnum("p.type", "CUSTOMER_TYPE_"),
			"lifecycle_stage":      profileEnum("p.lifecycle_stage", "LIFECYCLE_STAGE_"),
			"owner_id":             {Kind: aipfilter.String, Column: "COALESCE(p.owner_id, '')"},
			"team_id":              {Kind: aipfilter.String, Column: "COALESCE(p.team_id, '')"},
			"tags": {Kind: aipfilter.String, Has: func(v aipfilter.Value) (string, []any) {
				if v.Wildcard {
					return `EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = v.customer_id)`, nil
				}
				return `EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = v.customer_id AND t.tag = ?)`, []any{v.Text}
			}},
		},
		Dynamic: func(path string) (aipfilter.Field, bool) {
			if name, ok := strings.CutPrefix(path, "attributes."); ok && name != "" {
				return attributeField(name), true
			}
			if cat, ok := strings.CutPrefix(path, "category_spend."); ok && cat != "" {
				return aipfilter.Field{Kind: aipfilter.Number, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
					cond, args, err := aipfilter.Comparison(
						`(SELECT COALESCE(SUM(l.amount_minor), 0) FROM purchase_lines l WHERE l.customer_id = v.customer_id AND l.category = ?)`,
						op, scaled(v, scale))
					return cond, append([]any{cat}, args...), err
				}}, true
			}
			return aipfilter.Field{}, false
		},
		DynamicHelp: "attributes.<name>, category_spend.<category>",
	}
}

// scaled turns a number in major units into minor units.
func scaled(v aipfilter.Value, scale float64) aipfilter.Value {
	if scale == 1 || v.Wildcard {
		return v
	}
	switch n := v.Arg.(type) {
	case int64:
		v.Arg = float64(n) * scale
	case float64:
		v.Arg = n * scale
	}
	return v
}

// attributeField compares an attribute numerically when the value is a
// number, as text otherwise.
func attributeField(name string) aipfilter.Field {
	return aipfilter.Field{Kind: aipfilter.Untyped, Compare: func(op aipfilter.Op, v aipfilter.Value) (string, []any, error) {
		exists := `EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = v.customer_id AND a.name = ?`
		if v.Wildcard {
			return exists + `)`, []any{name}, nil
		}
		column := "a.text_value"
		switch v.Kind {
		case aipfilter.Number:
			column = "a.num_value"
		case aipfilter.Bool:
			v = aipfilter.Value{Kind: aipfilter.String, Text: v.Text, Arg: v.Text}
		}
		cond, args, err := aipfilter.Comparison(column, op, v)
		if err != nil {
			return "", nil, err
		}
		return exists + ` AND ` + cond + `)`, append([]any{name}, args...), nil
	}}
}

// compile turns a segment's filter into SQL; errors name segment.filter.
func (r reader) compile(filter string) (string, []any, error) {
	where, args, err := aipfilter.Compile(filter, filterSchema(r.scale))
	var verr *validation.Error
	if errors.As(err, &verr) {
		return "", nil, validation.Violations(verr.Violations).Nest("segment").Err()
	}
	if err != nil {
		return "", nil, fmt.Errorf("compile segment filter: %w", err)
	}
	if where == "" {
		where = "1 = 1"
	}
	return where, args, nil
}

// CheckFilter compiles a filter to check it.
func (s *Store) CheckFilter(filter string) error {
	_, _, err := s.compile(filter)
	return err
}

// Matching returns which of customerIDs match the segment.
func (t *storeTx) Matching(ctx context.Context, seg domain.Segment, customerIDs []string) (map[string]bool, error) {
	where, args, err := t.compile(seg.Filter)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, in := range t.tx.Dialect().OneOf("v.customer_id", customerIDs) {
		ids, err := t.ids(ctx, `SELECT v.customer_id`+segmentFrom+` WHERE `+in.SQL+` AND (`+where+`)`, append(in.Args, args...)...)
		if err != nil {
			return nil, fmt.Errorf("match segment %s: %w", seg.ID, err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

// MembersAmong returns which of customerIDs are in the segment.
func (t *storeTx) MembersAmong(ctx context.Context, segmentID string, customerIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, in := range t.tx.Dialect().OneOf("customer_id", customerIDs) {
		ids, err := t.ids(ctx, `SELECT customer_id FROM segment_members WHERE segment_id = ? AND `+in.SQL, append([]any{segmentID}, in.Args...)...)
		if err != nil {
			return nil, fmt.Errorf("find segment members: %w", err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

// MatchingCustomers returns every customer matching the segment.
func (t *storeTx) MatchingCustomers(ctx context.Context, seg domain.Segment) ([]string, error) {
	where, args, err := t.compile(seg.Filter)
	if err != nil {
		return nil, err
	}
	return t.ids(ctx, `SELECT v.customer_id`+segmentFrom+` WHERE `+where, args...)
}

// SegmentMembers returns every member of a segment.
func (t *storeTx) SegmentMembers(ctx context.Context, segmentID string) ([]string, error) {
	return t.ids(ctx, `SELECT customer_id FROM segment_members WHERE segment_id = ?`, segmentID)
}

// CustomerSegments returns the segments a customer is in.
func (t *storeTx) CustomerSegments(ctx context.Context, customerID string) ([]string, error) {
	return t.ids(ctx, `SELECT segment_id FROM segment_members WHERE customer_id = ?`, customerID)
}

func (r reader) ids(ctx context.Context, query string, args ...any) ([]string, error) {
	out, err := sqldb.QueryAll(ctx, r.q, func(s sqldb.Scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list ids: %w", err)
	}
	return out, nil
}

// SetMembers adds or removes members.
func (t *storeTx) SetMembers(ctx context.Context, segmentID string, customerIDs []string, member bool) error {
	if len(customerIDs) == 0 {
		return nil
	}
	if member {
		rows := make([][]any, len(customerIDs))
		for i, id := range customerIDs {
			rows[i] = []any{segmentID, id}
		}
		if err := t.tx.InsertRows(ctx, "segment_members", []string{"segment_id", "customer_id"}, rows); err != nil {
			return fmt.Errorf("add segment members: %w", err)
		}
		return nil
	}
	const batch = 500
	for len(customerIDs) > 0 {
		chunk := customerIDs[:min(batch, len(customerIDs))]
		customerIDs = customerIDs[len(chunk):]
		args := []any{segmentID}
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM segment_members WHERE segment_id = ? AND customer_id IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args...); err != nil {
			return fmt.Errorf("remove segment members: %w", err)
		}
	}
	return nil
}

// IsMember reports whether the customer is in the segment.
func (r reader) IsMember(ctx context.Context, segmentID, customerID string) (bool, error) {
	var n int
	err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM segment_members WHERE segment_id = ? AND customer_id = ?`, segmentID, customerID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check membership: %w", err)
	}
	return n > 0, nil
}

// Members pages through a segment's members.
func (s *Store) Members(ctx context.Context, segmentID, after string, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT customer_id FROM segment_members WHERE segment_id = ? AND customer_id > ?
		ORDER BY customer_id LIMIT ?`, segmentID, after, limit)
}

const segmentColumns = `id, name, description, filter, create_time, update_time, etag`

func scanSegment(sc sqldb.Scanner) (domain.Segment, error) {
	var (
		s              domain.Segment
		create, update int64
	)
	if err := sc.Scan(&s.ID, &s.Name, &s.Description, &s.Filter, &create, &update, &s.Etag); err != nil {
		return domain.Segment{}, err
	}
	s.CreateTime, s.UpdateTime = sqldb.FromMicros(create), sqldb.FromMicros(update)
	return s, nil
}

// Segments returns every segment.
func (r reader) Segments(ctx context.Context) ([]domain.Segment, error) {
	return r.listSegments(ctx, `SELECT `+segmentColumns+` FROM segments ORDER BY name`)
}

func (r reader) listSegments(ctx context.Context, query string, args ...any) ([]domain.Segment, error) {
	out, err := sqldb.QueryAll(ctx, r.q, scanSegment, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return out, nil
}

// ListSegments pages through segments by name, with member counts.
func (s *Store) ListSegments(ctx context.Context, after string, limit int) ([]domain.Segment, error) {
	segs, err := s.listSegments(ctx, `SELECT `+segmentColumns+` FROM segments WHERE name > ? ORDER BY name LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range segs {
		if segs[i].MemberCount, err = s.memberCount(ctx, segs[i].ID); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

func (r reader) memberCount(ctx context.Context, segmentID string) (int64, error) {
	var n int64
	if err := r.q.QueryRow(ctx, `SELECT COUNT(*) FROM segment_members WHERE segment_id = ?`, segmentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

// Segment returns one segment with its member count.
func (r reader) Segment(ctx context.Context, id string) (domain.Segment, error) {
	seg, err := scanSegment(r.q.QueryRow(ctx, `SELECT `+segmentColumns+` FROM segments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Segment{}, fmt.Errorf("segment %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Segment{}, fmt.Errorf("load segment: %w", err)
	}
	if seg.MemberCount, err = r.memberCount(ctx, id); err != nil {
		return domain.Segment{}, err
	}
	return seg, nil
}

// CreateSegment stores a new segment.
func (t *storeTx) CreateSegment(ctx context.Context, seg domain.Segment, requestID string) (string, bool, error) {
	if requestID != "" {
		var id string
		err := t.tx.QueryRow(ctx, `SELECT id FROM segments WHERE request_id = ?`, requestID).Scan(&id)
		if err == nil {
			return id, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", false, fmt.Errorf("create segment: %w", err)
		}
	}
	if err := t.nameFree(ctx, seg.Name, ""); err != nil {
		return "", false, err
	}
	var reqID any
	if requestID != "" {
		reqID = requestID
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO segments (id, name, description, filter, request_id, create_time, update_time, etag)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seg.ID, seg.Name, seg.Description, seg.Filter, reqID,
		sqldb.Micros(seg.CreateTime), sqldb.Micros(seg.UpdateTime), seg.Etag)
	if err != nil {
		return "", false, fmt.Errorf("create segment: %w", err)
	}
	return seg.ID, true, nil
}

// nameFree returns ErrConflict when another segment has the name.
func (t *storeTx) nameFree(ctx context.Context, name, self string) error {
	var id string
	err := t.tx.QueryRow(ctx, `SELECT id FROM segments WHERE name = ?`, name).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check segment name: %w", err)
	case id != self:
		return fmt.Errorf("segment name %q is taken by segment %s: %w", name, id, domain.ErrAlreadyExists)
	}
	return nil
}

// UpdateSegment stores a changed segment.
func (t *storeTx) UpdateSegment(ctx context.Context, seg domain.Segment) error {
	if err := t.nameFree(ctx, seg.Name, seg.ID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE segments SET name = ?, description = ?, filter = ?, update_time = ?, etag = ? WHERE id = ?`,
		seg.Name, seg.Description, seg.Filter, sqldb.Micros(seg.UpdateTime), seg.Etag, seg.ID)
	if err != nil {
		return fmt.Errorf("update segment: %w", err)
	}
	return nil
}

// DeleteSegment removes a segment and its members.
func (t *storeTx) DeleteSegment(ctx context.Context, id string) error {
	for _, q := range []string{`DELETE FROM segment_members WHERE segment_id = ?`, `DELETE FROM segments WHERE id = ?`} {
		if _, err := t.tx.Exec(ctx, q, id); err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
	}
	return nil
}

// PutProfiles replaces customers' profiles, tags and attributes, in a
// statement per table. The customers must be distinct.
func (t *storeTx) PutProfiles(ctx context.Context, ps []domain.Profile) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]string, len(ps))
	var profiles, tags, attrs [][]any
	for i, p := range ps {
		ids[i] = p.CustomerID
		profiles = append(profiles, []any{p.CustomerID, p.Kind, p.Type, p.LifecycleStage, p.OwnerID, p.TeamID})
		for _, tag := range slices.Compact(slices.Sorted(slices.Values(p.Tags))) {
			tags = append(tags, []any{p.CustomerID, tag})
		}
		for name, a := range p.Attributes {
			var num any
			if a.Number != nil && !math.IsNaN(*a.Number) && !math.IsInf(*a.Number, 0) {
				num = *a.Number
			}
			attrs = append(attrs, []any{p.CustomerID, name, a.Text, num})
		}
	}
	values, args := sqldb.ValuesList(profiles)
	_, err := t.tx.Exec(ctx, `INSERT INTO customer_profiles (customer_id, kind, type, lifecycle_stage, owner_id, team_id)
		VALUES `+values+` ON CONFLICT (customer_id) DO UPDATE SET kind = excluded.kind, type = excluded.type,
			lifecycle_stage = excluded.lifecycle_stage, owner_id = excluded.owner_id, team_id = excluded.team_id`, args...)
	if err != nil {
		return fmt.Errorf("store profiles: %w", err)
	}
	for _, table := range []string{"customer_tags", "customer_attributes"} {
		for _, in := range t.tx.Dialect().OneOf("customer_id", ids) {
			if _, err := t.tx.Exec(ctx, `DELETE FROM `+table+` WHERE `+in.SQL, in.Args...); err != nil {
				return fmt.Errorf("store profiles: %w", err)
			}
		}
	}
	if err := t.tx.InsertRows(ctx, "customer_tags", []string{"customer_id", "tag"}, tags); err != nil {
		return fmt.Errorf("store profile tags: %w", err)
	}
	if err := t.tx.InsertRows(ctx, "customer_attributes", []string{"customer_id", "name", "text_value", "num_value"}, attrs); err != nil {
		return fmt.Errorf("store profile attributes: %w", err)
	}
	return nil
}
