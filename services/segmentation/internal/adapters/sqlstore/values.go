package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

var valueColumns = []string{
	"customer_id", "purchase_count", "purchase_days", "first_time", "last_time", "lifetime_spend", "trailing_spend",
	"refunds", "repeat_spend", "abc_class", "share_above", "recency_score", "frequency_score", "monetary_score",
	"rfm_segment", "predicted", "p_alive", "expected_purchases", "expected_aov", "clv", "compute_time",
}

func valueRow(v domain.Value) []any {
	var first, last any
	if !v.First.IsZero() {
		first, last = sqldb.Micros(v.First), sqldb.Micros(v.Last)
	}
	predicted := 0
	if v.Predicted {
		predicted = 1
	}
	return []any{
		v.CustomerID, v.PurchaseCount, v.PurchaseDays, first, last, v.Lifetime, v.Trailing,
		v.Refunds, v.RepeatSpend, v.Class.String(), v.ShareAbove, v.RFM.R, v.RFM.F, v.RFM.M,
		v.RFM.Segment, predicted, v.Prediction.PAlive, v.Prediction.ExpectedPurchases, v.Prediction.ExpectedAOV,
		v.Prediction.CLV, sqldb.Micros(v.ComputeTime),
	}
}

func parseClass(s string) domain.Class {
	switch s {
	case "A":
		return domain.ClassA
	case "B":
		return domain.ClassB
	case "C":
		return domain.ClassC
	}
	return domain.ClassUnspecified
}

// Value returns the stored value of a customer.
func (r reader) Value(ctx context.Context, customerID string) (domain.Value, bool, error) {
	var (
		v           domain.Value
		first, last sql.NullInt64
		class       string
		predicted   int
		computed    int64
	)
	err := r.q.QueryRow(ctx, `SELECT purchase_count, purchase_days, first_time, last_time, lifetime_spend, trailing_spend,
		refunds, repeat_spend, abc_class, share_above, recency_score, frequency_score, monetary_score,
		rfm_segment, predicted, p_alive, expected_purchases, expected_aov, clv, compute_time
		FROM customer_values WHERE customer_id = ?`, customerID).Scan(
		&v.PurchaseCount, &v.PurchaseDays, &first, &last, &v.Lifetime, &v.Trailing,
		&v.Refunds, &v.RepeatSpend, &class, &v.ShareAbove, &v.RFM.R, &v.RFM.F, &v.RFM.M,
		&v.RFM.Segment, &predicted, &v.Prediction.PAlive, &v.Prediction.ExpectedPurchases, &v.Prediction.ExpectedAOV,
		&v.Prediction.CLV, &computed)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Value{}, false, nil
	}
	if err != nil {
		return domain.Value{}, false, fmt.Errorf("load value: %w", err)
	}
	v.CustomerID = customerID
	if first.Valid {
		v.First, v.Last = sqldb.FromMicros(first.Int64), sqldb.FromMicros(last.Int64)
	}
	v.Class, v.Predicted, v.ComputeTime = parseClass(class), predicted == 1, sqldb.FromMicros(computed)
	return v, true, nil
}

// CategorySpends returns a customer's spend per category.
func (r reader) CategorySpends(ctx context.Context, customerID, currency string) ([]domain.CategorySpend, error) {
	out, err := sqldb.QueryAll(ctx, r.q, func(s sqldb.Scanner) (domain.CategorySpend, error) {
		var c domain.CategorySpend
		return c, s.Scan(&c.Category, &c.Quantity, &c.Spend)
	}, `SELECT category, CAST(SUM(quantity) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT)
		FROM purchase_lines WHERE customer_id = ? AND currency = ? GROUP BY category ORDER BY category`, customerID, currency)
	if err != nil {
		return nil, fmt.Errorf("category spend: %w", err)
	}
	return out, nil
}

// SpendByCurrency returns a customer's spend net of refunds per currency.
func (r reader) SpendByCurrency(ctx context.Context, customerID string) ([]domain.Money, error) {
	out, err := sqldb.QueryAll(ctx, r.q, func(s sqldb.Scanner) (domain.Money, error) {
		var m domain.Money
		return m, s.Scan(&m.Currency, &m.Minor)
	}, `SELECT currency, CAST(SUM(amount_minor) AS BIGINT) FROM (
			SELECT currency, amount_minor FROM purchases WHERE customer_id = ?
			UNION ALL SELECT currency, -amount_minor FROM returns WHERE customer_id = ?
		) s GROUP BY currency ORDER BY currency`, customerID, customerID)
	if err != nil {
		return nil, fmt.Errorf("spend by currency: %w", err)
	}
	return out, nil
}

// CurrentFit returns the latest model fit.
func (r reader) CurrentFit(ctx context.Context) (domain.ModelFit, bool, error) {
	var (
		f                             domain.ModelFit
		fitTime, calEnd, dura, bgDura int64
	)
	err := r.q.QueryRow(ctx, `SELECT id, fit_time, calibration_end, r, alpha, a, b, log_likelihood, customer_count,
		p, q, gamma, spend_log_likelihood, repeat_count, duration_micros, bgnbd_micros, model, choice
		FROM model_fits ORDER BY fit_time DESC, id DESC LIMIT 1`).Scan(
		&f.ID, &fitTime, &calEnd, &f.BGNBD.R, &f.BGNBD.Alpha, &f.BGNBD.A, &f.BGNBD.B, &f.LogLikelihood, &f.Customers,
		&f.Spend.P, &f.Spend.Q, &f.Spend.Gamma, &f.SpendLogLikelihood, &f.RepeatCustomers, &dura, &bgDura, &f.Model, &f.Choice)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ModelFit{}, false, nil
	}
	if err != nil {
		return domain.ModelFit{}, false, fmt.Errorf("load model fit: %w", err)
	}
	f.FitTime, f.CalibrationEnd, f.Duration = sqldb.FromMicros(fitTime), sqldb.FromMicros(calEnd), time.Duration(dura)*time.Microsecond
	f.BGNBDDuration = time.Duration(bgDura) * time.Microsecond
	return f, true, nil
}

// RFMBounds returns the bounds of the last recompute.
func (r reader) RFMBounds(ctx context.Context) (domain.RFMBounds, error) {
	var (
		b                 domain.RFMBounds
		rec, fr, mon, abc string
		computeMicros     int64
	)
	err := r.q.QueryRow(ctx, `SELECT recency, frequency, monetary, abc, compute_time FROM rfm_bounds WHERE id = 1`).
		Scan(&rec, &fr, &mon, &abc, &computeMicros)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.RFMBounds{}, nil
	}
	if err != nil {
		return domain.RFMBounds{}, fmt.Errorf("load rfm bounds: %w", err)
	}
	for _, x := range []struct {
		s string
		q *domain.Quintiles
	}{{rec, &b.Recency}, {fr, &b.Frequency}, {mon, &b.Monetary}} {
		if err := json.Unmarshal([]byte(x.s), x.q); err != nil {
			return domain.RFMBounds{}, fmt.Errorf("load rfm bounds: %w", err)
		}
	}
	if abc != "" {
		if err := json.Unmarshal([]byte(abc), &b.ABC); err != nil {
			return domain.RFMBounds{}, fmt.Errorf("load abc bounds: %w", err)
		}
	}
	b.ComputeTime = sqldb.FromMicros(computeMicros)
	return b, nil
}

// PutValue stores a customer's value after a change to its history.
func (t *storeTx) PutValue(ctx context.Context, v domain.Value) error {
	return t.PutValues(ctx, []domain.Value{v})
}

// PutValues stores customers' values after a change to their histories, in
// one statement, each with a new version: larger than the stored one and
// than any the customer had before (a unix-microseconds clock reading), so
// a recompute that read an older version, even one of a value deleted and
// written again since, leaves it alone. The customers must be distinct.
func (t *storeTx) PutValues(ctx context.Context, vs []domain.Value) error {
	if len(vs) == 0 {
		return nil
	}
	greatest := "MAX"
	if t.tx.Dialect() == sqldb.Postgres {
		greatest = "GREATEST"
	}
	cols := append(slices.Clone(valueColumns), "version")
	set := make([]string, 0, len(valueColumns))
	for _, c := range valueColumns[1:] {
		set = append(set, c+" = excluded."+c)
	}
	version := time.Now().UnixMicro()
	rows := make([][]any, len(vs))
	for i, v := range vs {
		rows[i] = append(valueRow(v), version)
	}
	values, args := sqldb.ValuesList(rows)
	_, err := t.tx.Exec(ctx, `INSERT INTO customer_values (`+strings.Join(cols, ", ")+`) VALUES `+values+`
		ON CONFLICT (customer_id) DO UPDATE SET `+strings.Join(set, ", ")+`,
			version = `+greatest+`(customer_values.version + 1, excluded.version)`, args...)
	if err != nil {
		return fmt.Errorf("store values: %w", err)
	}
	return nil
}

// previous is a customer's class and segment before a recompute.
type previous struct {
	id  string
	old domain.ClassAndSegment
}

// UpdateValues stores a recompute's values in bulk: they are loaded into
// a temporary table (COPY on PostgreSQL), then one UPDATE writes those
// whose stored version is still the one their facts were read with, and
// not computed as of a later moment (an event committed between the
// recompute's clock and its read stored a value as of its purchase, which
// the recompute's trailing window ends before), and one INSERT those of
// customers without a value, still registered and not merged away. The customers whose class or segment changes are read, and
// locked, first: their previous class and segment are returned.
func (t *storeTx) UpdateValues(ctx context.Context, vs []domain.Value) (map[string]domain.ClassAndSegment, error) {
	const tmp = "recompute_values"
	pg := t.tx.Dialect() == sqldb.Postgres
	// The primary key keeps the joins below linear whatever plan the
	// database picks (the values table's statistics may be stale).
	create := `CREATE TEMP TABLE ` + tmp + ` AS SELECT * FROM customer_values WHERE 1 = 0`
	if pg {
		create = `CREATE TEMP TABLE ` + tmp + ` (LIKE customer_values INCLUDING INDEXES) ON COMMIT DROP`
	} else if _, err := t.tx.Exec(ctx, `DROP TABLE IF EXISTS temp.`+tmp); err != nil {
		return nil, fmt.Errorf("update values: %w", err)
	}
	if _, err := t.tx.Exec(ctx, create); err != nil {
		return nil, fmt.Errorf("update values: %w", err)
	}
	if !pg {
		if _, err := t.tx.Exec(ctx, `CREATE UNIQUE INDEX temp.`+tmp+`_id ON `+tmp+` (customer_id)`); err != nil {
			return nil, fmt.Errorf("update values: %w", err)
		}
	}
	cols := append(slices.Clone(valueColumns), "version")
	const batch = 20000
	rows := make([][]any, 0, min(batch, len(vs)))
	for i, v := range vs {
		rows = append(rows, append(valueRow(v), v.Version))
		if len(rows) == batch || i == len(vs)-1 {
			if err := t.tx.InsertRows(ctx, tmp, cols, rows); err != nil {
				return nil, fmt.Errorf("update values: %w", err)
			}
			rows = rows[:0]
		}
	}
	if pg {
		if _, err := t.tx.Exec(ctx, `ANALYZE `+tmp); err != nil {
			return nil, fmt.Errorf("update values: %w", err)
		}
	}
	lock := ""
	if pg {
		lock = " FOR UPDATE OF v" // SQLite: the transaction holds the one write lock
	}
	changed, err := sqldb.QueryAll(ctx, t.tx, func(s sqldb.Scanner) (previous, error) {
		var (
			p     previous
			class string
		)
		err := s.Scan(&p.id, &class, &p.old.RFM)
		p.old.Class = parseClass(class)
		return p, err
	}, `SELECT v.customer_id, v.abc_class, v.rfm_segment FROM customer_values v JOIN `+tmp+` n ON n.customer_id = v.customer_id
		WHERE v.version = n.version AND v.compute_time <= n.compute_time
		AND (v.abc_class <> n.abc_class OR v.rfm_segment <> n.rfm_segment)`+lock)
	if err != nil {
		return nil, fmt.Errorf("update values: read changes: %w", err)
	}
	old := make(map[string]domain.ClassAndSegment, len(changed))
	for _, c := range changed {
		old[c.id] = c.old
	}
	set := make([]string, 0, len(valueColumns))
	for _, c := range valueColumns[1:] {
		set = append(set, c+" = n."+c)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE customer_values AS v SET `+strings.Join(set, ", ")+`
		FROM `+tmp+` AS n WHERE v.customer_id = n.customer_id AND v.version = n.version AND v.compute_time <= n.compute_time`); err != nil {
		return nil, fmt.Errorf("update values: %w", err)
	}
	list := strings.Join(cols, ", ")
	if _, err := t.tx.Exec(ctx, `INSERT INTO customer_values (`+list+`) SELECT `+list+` FROM `+tmp+` n
		WHERE n.version = 0 AND EXISTS (SELECT 1 FROM customers c WHERE c.id = n.customer_id AND c.merged_into IS NULL)
		ON CONFLICT (customer_id) DO NOTHING`); err != nil {
		return nil, fmt.Errorf("update values: %w", err)
	}
	if !pg {
		if _, err := t.tx.Exec(ctx, `DROP TABLE temp.`+tmp); err != nil {
			return nil, fmt.Errorf("update values: %w", err)
		}
	}
	return old, nil
}

// PutRFMBounds stores the bounds of a recompute.
func (t *storeTx) PutRFMBounds(ctx context.Context, b domain.RFMBounds) error {
	enc := func(q domain.Quintiles) string {
		if q == nil {
			q = domain.Quintiles{}
		}
		raw, _ := json.Marshal(q)
		return string(raw)
	}
	abc := ""
	if b.ABC.Set() {
		raw, err := json.Marshal(b.ABC)
		if err != nil {
			return fmt.Errorf("store abc bounds: %w", err)
		}
		abc = string(raw)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO rfm_bounds (id, recency, frequency, monetary, abc, compute_time) VALUES (1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET recency = excluded.recency, frequency = excluded.frequency,
			monetary = excluded.monetary, abc = excluded.abc, compute_time = excluded.compute_time`,
		enc(b.Recency), enc(b.Frequency), enc(b.Monetary), abc, sqldb.Micros(b.ComputeTime))
	if err != nil {
		return fmt.Errorf("store rfm bounds: %w", err)
	}
	return nil
}

// PutFit stores a model fit.
func (t *storeTx) PutFit(ctx context.Context, f domain.ModelFit) error {
	if f.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store model fit: %w", err)
		}
		f.ID = id.String()
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO model_fits (id, fit_time, calibration_end, r, alpha, a, b, log_likelihood,
		customer_count, p, q, gamma, spend_log_likelihood, repeat_count, duration_micros, bgnbd_micros, model, choice)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, sqldb.Micros(f.FitTime), sqldb.Micros(f.CalibrationEnd), f.BGNBD.R, f.BGNBD.Alpha, f.BGNBD.A, f.BGNBD.B,
		f.LogLikelihood, f.Customers, f.Spend.P, f.Spend.Q, f.Spend.Gamma, f.SpendLogLikelihood, f.RepeatCustomers,
		f.Duration.Microseconds(), f.BGNBDDuration.Microseconds(), string(f.Counts().Kind), f.Choice)
	if err != nil {
		return fmt.Errorf("store model fit: %w", err)
	}
	return nil
}

// AllFacts sums up every registered customer not merged away, in two
// aggregates: purchases per customer and day (the models' transactions),
// then per customer; returns are summed apart and subtracted.
func (s *Store) AllFacts(ctx context.Context, w domain.Window, until time.Time) ([]domain.Facts, error) {
	// Purchases before the next calendar day in the store's zone.
	end := sqldb.Micros(domain.DayStart(until, s.zone).AddDate(0, 0, 1))
	since, wUntil := sqldb.Micros(w.Since), sqldb.Micros(w.Until)
	// The first spend day's spend, needed for the repeat spend, is carried
	// through MIN as day * 10^12 + spend over the days with a purchase in
	// the reporting currency: the smallest such number is the first one's,
	// and its remainder is that day's spend (below 10^12 minor units, ten
	// billion yuan a day). One scan of purchases instead of a second
	// aggregate to join.
	q := bulkQuerier(s.db.Query)
	if s.db.Dialect == sqldb.Postgres {
		// The per-day aggregate has about one group per purchase: with
		// the default 4 MB of work_mem it spills to disk.
		// Repeatable read: the purchases, the returns and the values'
		// versions are read in one snapshot.
		tx, err := s.db.SQL().BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return nil, fmt.Errorf("sum all purchases: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '`+BulkWorkMem+`'`); err != nil {
			return nil, fmt.Errorf("sum all purchases: %w", err)
		}
		q = func(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
			return tx.QueryContext(ctx, s.db.Rebind(query), args...)
		}
	}
	rows, err := q(ctx, `
		SELECT c.id, COALESCE(a.n, 0), COALESCE(a.days, 0), COALESCE(a.spend_days, 0), a.first_t, a.last_t,
			COALESCE(a.lifetime, 0), COALESCE(a.trailing, 0), COALESCE(a.lifetime - a.first_day % 1000000000000, 0),
			COALESCE(cv.version, 0)
		FROM customers c LEFT JOIN customer_values cv ON cv.customer_id = c.id LEFT JOIN (
			SELECT d.customer_id, CAST(SUM(d.n) AS BIGINT) AS n, COUNT(*) AS days,
				CAST(SUM(CASE WHEN d.spends > 0 THEN 1 ELSE 0 END) AS BIGINT) AS spend_days,
				MIN(d.first_t) AS first_t, MAX(d.last_t) AS last_t,
				CAST(SUM(d.spend) AS BIGINT) AS lifetime, CAST(SUM(d.trailing) AS BIGINT) AS trailing,
				MIN(CASE WHEN d.spends > 0 THEN d.day * 1000000000000 + d.spend END) AS first_day
			FROM (
				SELECT customer_id, `+day+` AS day, COUNT(*) AS n, MIN(occur_time) AS first_t, MAX(occur_time) AS last_t,
					SUM(CASE WHEN currency = ? THEN 1 ELSE 0 END) AS spends,
					CAST(SUM(CASE WHEN currency = ? THEN amount_minor ELSE 0 END) AS BIGINT) AS spend,
					CAST(SUM(CASE WHEN currency = ? AND occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END) AS BIGINT) AS trailing
				FROM purchases WHERE occur_time < ?
				GROUP BY customer_id, `+day+`
			) d
			GROUP BY d.customer_id
		) a ON a.customer_id = c.id
		WHERE c.merged_into IS NULL`,
		w.Currency, w.Currency, w.Currency, since, wUntil, end)
	if err != nil {
		return nil, fmt.Errorf("sum all purchases: %w", err)
	}
	defer rows.Close()
	var out []domain.Facts
	index := map[string]int{}
	for rows.Next() {
		var (
			f           domain.Facts
			first, last sql.NullInt64
		)
		if err := rows.Scan(&f.CustomerID, &f.PurchaseCount, &f.PurchaseDays, &f.SpendDays, &first, &last, &f.Lifetime, &f.Trailing, &f.RepeatSpend, &f.Version); err != nil {
			return nil, fmt.Errorf("sum all purchases: %w", err)
		}
		f.Zone = s.zone
		if first.Valid {
			f.First, f.Last = sqldb.FromMicros(first.Int64), sqldb.FromMicros(last.Int64)
		}
		index[f.CustomerID] = len(out)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum all purchases: %w", err)
	}
	refunds, err := q(ctx, `
		SELECT customer_id, CAST(SUM(amount_minor) AS BIGINT),
			CAST(SUM(CASE WHEN occur_time >= ? AND occur_time <= ? THEN amount_minor ELSE 0 END) AS BIGINT)
		FROM returns WHERE currency = ? AND occur_time < ? GROUP BY customer_id`, since, wUntil, w.Currency, end)
	if err != nil {
		return nil, fmt.Errorf("sum all returns: %w", err)
	}
	defer refunds.Close()
	for refunds.Next() {
		var (
			id              string
			total, trailing int64
		)
		if err := refunds.Scan(&id, &total, &trailing); err != nil {
			return nil, fmt.Errorf("sum all returns: %w", err)
		}
		if i, ok := index[id]; ok {
			out[i].Refunds = total
			out[i].Lifetime -= total
			out[i].Trailing -= trailing
		}
	}
	return out, refunds.Err()
}

// BulkWorkMem is the PostgreSQL work_mem of the whole-population
// aggregate.
const BulkWorkMem = "256MB"

type bulkQuerier func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

// Values returns every stored value's class and RFM segment.
func (s *Store) Values(ctx context.Context) (map[string]domain.ClassAndSegment, error) {
	rows, err := s.db.Query(ctx, `SELECT customer_id, abc_class, rfm_segment FROM customer_values`)
	if err != nil {
		return nil, fmt.Errorf("load classes: %w", err)
	}
	defer rows.Close()
	out := map[string]domain.ClassAndSegment{}
	for rows.Next() {
		var id, class, seg string
		if err := rows.Scan(&id, &class, &seg); err != nil {
			return nil, fmt.Errorf("load classes: %w", err)
		}
		out[id] = domain.ClassAndSegment{Class: parseClass(class), RFM: seg}
	}
	return out, rows.Err()
}

// TrailingSpends returns every stored value's trailing spend.
func (s *Store) TrailingSpends(ctx context.Context) ([]int64, error) {
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (int64, error) {
		var v int64
		return v, s.Scan(&v)
	}, `SELECT trailing_spend FROM customer_values`)
	if err != nil {
		return nil, fmt.Errorf("load trailing spend: %w", err)
	}
	return out, nil
}

// HasRevenue reports whether any purchase in w.Currency falls in w.
func (s *Store) HasRevenue(ctx context.Context, w domain.Window) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM purchases
		WHERE currency = ? AND occur_time >= ? AND occur_time <= ? LIMIT 1) t`,
		w.Currency, sqldb.Micros(w.Since), sqldb.Micros(w.Until)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find revenue: %w", err)
	}
	return n > 0, nil
}

// Demand returns monthly demand per category.
func (s *Store) Demand(ctx context.Context, category, currency string) ([]domain.DemandRow, error) {
	q := `SELECT category, month, CAST(SUM(quantity) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT)
		FROM purchase_lines WHERE currency = ?`
	args := []any{currency}
	if category != "" {
		q += ` AND category = ?`
		args = append(args, category)
	}
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.DemandRow, error) {
		var d domain.DemandRow
		return d, s.Scan(&d.Category, &d.Month, &d.Quantity, &d.Revenue)
	}, q+` GROUP BY category, month ORDER BY category, month`, args...)
	if err != nil {
		return nil, fmt.Errorf("demand: %w", err)
	}
	return out, nil
}
