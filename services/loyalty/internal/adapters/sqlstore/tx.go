package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/sqldb/mergesql"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Tx implements domain.Tx on one database transaction.
type Tx struct {
	reader
	tx *sqldb.Tx
	// events wait for the end of the transaction, to go to the outbox in
	// one write.
	events *platformevents.Pending[domain.Event]
	// touched are the cache keys of the members the transaction locked or
	// wrote, dropped from the cache once it commits.
	touched map[string]struct{}
}

// touch notes that the transaction may change a member's account.
func (t *Tx) touch(programID string, customerIDs ...string) {
	if t.touched == nil {
		t.touched = make(map[string]struct{}, len(customerIDs))
	}
	for _, id := range customerIDs {
		t.touched[AccountKey(programID, id)] = struct{}{}
	}
}

// AfterCommit runs fn once the transaction (or the consumer's batch it is
// part of) has committed.
func (t *Tx) AfterCommit(fn func()) { t.tx.AfterCommit(fn) }

// MarkHandled records eventID in the platform inbox.
func (t *Tx) MarkHandled(ctx context.Context, consumer, eventID string) (bool, error) {
	return platformevents.MarkHandled(ctx, t.tx, consumer, eventID)
}

// MarkHandledMany records eventIDs in the platform inbox in one statement.
func (t *Tx) MarkHandledMany(ctx context.Context, consumer string, eventIDs []string) (map[string]bool, error) {
	return platformevents.MarkHandledMany(ctx, t.tx, consumer, eventIDs)
}

// InsertProgram stores a new program.
func (t *Tx) InsertProgram(ctx context.Context, p domain.Program, requestID string) error {
	rules, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("insert program: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO programs (id, name, rules, request_id, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, string(rules), nullable(requestID), sqldb.Micros(p.CreateTime), sqldb.Micros(p.UpdateTime))
	if err != nil {
		return fmt.Errorf("insert program: %w", err)
	}
	return nil
}

// EnsureProgram stores p unless a program with its id exists.
func (t *Tx) EnsureProgram(ctx context.Context, p domain.Program) error {
	rules, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ensure program: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO programs (id, name, rules, create_time, update_time) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, string(rules), sqldb.Micros(p.CreateTime), sqldb.Micros(p.UpdateTime))
	if err != nil {
		return fmt.Errorf("ensure program: %w", err)
	}
	return nil
}

// SaveProgram updates a program's rules.
func (t *Tx) SaveProgram(ctx context.Context, p domain.Program) error {
	rules, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("save program: %w", err)
	}
	res, err := t.tx.Exec(ctx, `UPDATE programs SET name = ?, rules = ?, update_time = ? WHERE id = ?`,
		p.Name, string(rules), sqldb.Micros(p.UpdateTime), p.ID)
	return expectOne(res, err, "save program "+p.ID)
}

// TakeMemberNumbers bumps the program's member sequence by n in one
// statement and returns its new value: the numbers last-n+1..last are the
// caller's. The program row stays locked until the enrolling transaction
// ends, so enrollments of one program queue on PostgreSQL (members' other
// changes do not); drawing numbers on a connection of its own would free
// the row at once, but a transaction waiting for a second connection can
// starve the pool.
func (t *Tx) TakeMemberNumbers(ctx context.Context, programID string, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("take %d member numbers: want at least one", n)
	}
	var last int64
	err := t.tx.QueryRow(ctx, `UPDATE programs SET member_seq = member_seq + ? WHERE id = ? RETURNING member_seq`, n, programID).Scan(&last)
	if err != nil {
		return 0, notFound(err, "program "+programID)
	}
	return last, nil
}

// Members reads the memberships of customerIDs in a program, in one query
// per OneOf list (one on PostgreSQL). It looks the customers up in every
// program and keeps the one asked for: given the program too, PostgreSQL
// without statistics on members (while a catch-up fills it) read all of
// the program's members through the primary key and filtered them by the
// list, per batch; the customers' own index has only them to find, and a
// customer is a member of few programs.
func (t *Tx) Members(ctx context.Context, programID string, customerIDs []string) (map[string]domain.Member, error) {
	out := make(map[string]domain.Member, len(customerIDs))
	for _, in := range t.tx.Dialect().OneOf("customer_id", customerIDs) {
		rows, err := t.tx.Query(ctx, `SELECT `+memberColumns+` FROM members WHERE `+in.SQL, in.Args...)
		if err != nil {
			return nil, fmt.Errorf("load members: %w", err)
		}
		for rows.Next() {
			m, err := scanMember("", rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if m.ProgramID == programID {
				out[m.CustomerID] = m
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load members: %w", err)
		}
	}
	return out, nil
}

// InsertMembers stores ms in multi-row statements, skipping customers who
// are members already, and returns the customers stored.
func (t *Tx) InsertMembers(ctx context.Context, ms []domain.Member) (map[string]bool, error) {
	rows := make([][]any, len(ms))
	for i, m := range ms {
		t.touch(m.ProgramID, m.CustomerID)
		rows[i] = []any{m.ProgramID, m.CustomerID, m.Number, string(m.Status), m.TierCode, sqldb.Micros(m.TierSince),
			microsOrZero(m.GraceUntil), nullable(m.MergedInto), microsOrZero(m.ExpiredThrough), sqldb.Micros(m.JoinTime),
			sqldb.Micros(m.UpdateTime)}
	}
	stored := make(map[string]bool, len(ms))
	for _, part := range statementRows(rows) {
		values, args := sqldb.ValuesList(part)
		res, err := t.tx.Query(ctx, `INSERT INTO members (`+memberColumns+`) VALUES `+values+`
			ON CONFLICT (program_id, customer_id) DO NOTHING RETURNING customer_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert %d members: %w", len(part), err)
		}
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, fmt.Errorf("insert %d members: %w", len(part), err)
			}
			stored[id] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("insert %d members: %w", len(part), err)
		}
	}
	return stored, nil
}

// statementRows splits rows into parts few enough for one statement's
// parameters on either database.
func statementRows(rows [][]any) [][][]any {
	if len(rows) == 0 {
		return nil
	}
	per := max(1, maxStatementParams/len(rows[0]))
	var out [][][]any
	for len(rows) > 0 {
		n := min(len(rows), per)
		out = append(out, rows[:n])
		rows = rows[n:]
	}
	return out
}

// maxStatementParams keeps a multi-row statement under SQLite's limit of
// 32766 parameters (PostgreSQL's is 65535).
const maxStatementParams = 30000

// LockMember reads a membership for update. PostgreSQL needs the row lock
// so two changes of one member's ledger (a redemption and another, both
// checking the balance) cannot interleave; SQLite transactions here begin
// IMMEDIATE and already hold the one write lock, and SQLite has no FOR
// UPDATE.
func (t *Tx) LockMember(ctx context.Context, programID, customerID string) (domain.Member, error) {
	t.touch(programID, customerID)
	q := `SELECT ` + memberColumns + ` FROM members WHERE program_id = ? AND customer_id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	return scanMember(customerID, t.tx.QueryRow(ctx, q, programID, customerID))
}

// LockMemberSummary is LockMember and Summary in one round trip. On
// SQLite, where the transaction holds the database, it is MemberSummary.
func (t *Tx) LockMemberSummary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (domain.Member, domain.Summary, error) {
	t.touch(programID, customerID)
	if t.tx.Dialect() != sqldb.Postgres {
		return t.MemberSummary(ctx, programID, customerID, now, windowStart)
	}
	return t.memberSummary(ctx, lockMemberSummaryQuery, programID, customerID, now, windowStart)
}

// lockMemberSummaryQuery sums in a lateral subquery: FOR UPDATE may not
// lock rows that an aggregate at its own level reads.
const lockMemberSummaryQuery = `SELECT m.program_id, m.customer_id, m.member_number, m.status, m.tier_code, m.tier_since,
		m.grace_until, m.merged_into, m.expired_through, m.join_time, m.update_time, s.*
		FROM members m, LATERAL (SELECT ` + summaryColumns + ` FROM ledger_entries l
			WHERE l.program_id = m.program_id AND l.customer_id = m.customer_id) s
		WHERE m.program_id = ? AND m.customer_id = ?
		FOR UPDATE OF m`

// LockMemberSummaries implements domain.MemberTx. On PostgreSQL one
// statement looks each customer up on its own, in the order given: the
// member row through the primary key, locked, then the sums of its
// entries. A lateral subquery that locks is never flattened into a join,
// so the plan is this loop whatever the statistics say (given the list as
// col = ANY($1), a planner without statistics read all of the program's
// members). On SQLite, where the transaction holds the database, it reads
// one member after the other.
func (t *Tx) LockMemberSummaries(ctx context.Context, programID string, customerIDs []string, now, windowStart time.Time) (map[string]domain.LockedMember, error) {
	t.touch(programID, customerIDs...)
	out := make(map[string]domain.LockedMember, len(customerIDs))
	if t.tx.Dialect() != sqldb.Postgres {
		for _, id := range customerIDs {
			m, sum, err := t.MemberSummary(ctx, programID, id, now, windowStart)
			var nf *domain.AccountNotFoundError
			switch {
			case errors.As(err, &nf):
				continue
			case err != nil:
				return nil, err
			}
			out[id] = domain.LockedMember{Member: m, Summary: sum}
		}
		return out, nil
	}
	rows, err := t.tx.Query(ctx, lockMemberSummariesQuery, customerIDs, programID,
		sqldb.Micros(now), sqldb.Micros(windowStart), sqldb.Micros(windowStart))
	if err != nil {
		return nil, fmt.Errorf("lock members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, sum, err := scanMemberSummary("", rows)
		if err != nil {
			return nil, err
		}
		out[m.CustomerID] = domain.LockedMember{Member: m, Summary: sum}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock members: %w", err)
	}
	return out, nil
}

const lockMemberSummariesQuery = `SELECT mm.*, s.* FROM unnest(?::text[]) WITH ORDINALITY AS k(customer_id, n)
		CROSS JOIN LATERAL (SELECT ` + memberColumns + ` FROM members m
			WHERE m.program_id = ? AND m.customer_id = k.customer_id FOR UPDATE) mm
		CROSS JOIN LATERAL (SELECT ` + summaryColumns + ` FROM ledger_entries l
			WHERE l.program_id = mm.program_id AND l.customer_id = mm.customer_id) s
		ORDER BY k.n`

// SaveMember updates a membership.
func (t *Tx) SaveMember(ctx context.Context, m domain.Member) error {
	t.touch(m.ProgramID, m.CustomerID)
	res, err := t.tx.Exec(ctx, `UPDATE members SET status = ?, tier_code = ?, tier_since = ?, grace_until = ?, merged_into = ?,
		expired_through = ?, update_time = ? WHERE program_id = ? AND customer_id = ?`,
		string(m.Status), m.TierCode, sqldb.Micros(m.TierSince), microsOrZero(m.GraceUntil), nullable(m.MergedInto),
		microsOrZero(m.ExpiredThrough), sqldb.Micros(m.UpdateTime), m.ProgramID, m.CustomerID)
	return expectOne(res, err, "save member "+m.CustomerID)
}

// RepointMerged re-points the memberships merged into from at to.
func (t *Tx) RepointMerged(ctx context.Context, programID, from, to string) error {
	// The members re-pointed are not known here; their cached accounts name
	// from, which still leads to to.
	t.touch(programID, from, to)
	if _, err := t.tx.Exec(ctx, `UPDATE members SET merged_into = ? WHERE program_id = ? AND merged_into = ?`, to, programID, from); err != nil {
		return fmt.Errorf("re-point merged members: %w", err)
	}
	return nil
}

// MoveLedger re-keys from's entries to to; origin_customer_id keeps whom
// each was booked for.
func (t *Tx) MoveLedger(ctx context.Context, programID, from, to string) (int, int64, error) {
	t.touch(programID, from, to)
	var (
		n      int
		points int64
	)
	err := t.tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(points), 0) FROM ledger_entries WHERE program_id = ? AND customer_id = ?`,
		programID, from).Scan(&n, &points)
	if err != nil {
		return 0, 0, fmt.Errorf("move ledger: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE ledger_entries SET customer_id = ? WHERE program_id = ? AND customer_id = ?`, to, programID, from); err != nil {
		return 0, 0, fmt.Errorf("move ledger: %w", err)
	}
	return n, points, nil
}

// AddEntry appends e unless its cause is booked.
func (t *Tx) AddEntry(ctx context.Context, e domain.LedgerEntry) (bool, error) {
	t.touch(e.ProgramID, e.CustomerID)
	res, err := t.tx.Exec(ctx, `INSERT INTO ledger_entries (`+entryColumns+`) VALUES (`+entryMarks+`)
		ON CONFLICT (program_id, cause) DO NOTHING`, entryArgs(e)...)
	return changedOne(res, err, "add ledger entry")
}

// AddEntries appends es in multi-row statements, each unless its cause is
// booked already.
func (t *Tx) AddEntries(ctx context.Context, es []domain.LedgerEntry) error {
	rows := make([][]any, len(es))
	for i, e := range es {
		t.touch(e.ProgramID, e.CustomerID)
		rows[i] = entryArgs(e)
	}
	for _, part := range statementRows(rows) {
		values, args := sqldb.ValuesList(part)
		if _, err := t.tx.Exec(ctx, `INSERT INTO ledger_entries (`+entryColumns+`) VALUES `+values+`
			ON CONFLICT (program_id, cause) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("add %d ledger entries: %w", len(part), err)
		}
	}
	return nil
}

// Summaries is Summary for several members of a program, in one query per
// OneOf list; members without entries get a zero Summary.
func (t *Tx) Summaries(ctx context.Context, programID string, customerIDs []string, now, windowStart time.Time) (map[string]domain.Summary, error) {
	out := make(map[string]domain.Summary, len(customerIDs))
	for _, id := range customerIDs {
		out[id] = domain.Summary{}
	}
	for _, in := range t.tx.Dialect().OneOf("l.customer_id", customerIDs) {
		args := append([]any{sqldb.Micros(now), sqldb.Micros(windowStart), sqldb.Micros(windowStart), programID}, in.Args...)
		rows, err := t.tx.Query(ctx, `SELECT l.customer_id, `+summaryColumns+` FROM ledger_entries l
			WHERE l.program_id = ? AND `+in.SQL+` GROUP BY l.customer_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("sum ledgers: %w", err)
		}
		for rows.Next() {
			var (
				id string
				s  domain.Summary
			)
			if err := rows.Scan(&id, &s.Total, &s.Pending, &s.Lifetime, &s.WindowPoints, &s.WindowSpend); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sum ledgers: %w", err)
			}
			out[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sum ledgers: %w", err)
		}
	}
	return out, nil
}

const entryMarks = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

func entryArgs(e domain.LedgerEntry) []any {
	origin := e.OriginCustomerID
	if origin == "" {
		origin = e.CustomerID
	}
	return []any{e.ID, e.ProgramID, e.CustomerID, origin, string(e.Kind), e.Source, e.Points, e.LifetimePoints, e.SpendMinor,
		e.Cause, e.OrderID, e.InteractionID, strings.Join(e.RuleIDs, ","), e.Actor, e.Reason, e.CounterpartID, e.Day,
		sqldb.Micros(e.OccurTime), sqldb.Micros(e.CreateTime), sqldb.Micros(e.AvailableTime), microsOrZero(e.ExpireTime)}
}

// changedOne reports whether a statement changed one row, such as an
// INSERT ... ON CONFLICT DO NOTHING that added its row.
func changedOne(res sql.Result, err error, what string) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}

// BookPurchase stores what a purchase earned and its entry. On PostgreSQL
// both go in one statement, the entry only when the earning is new: this
// runs for every purchase, and a round trip less is felt at a thousand a
// second.
func (t *Tx) BookPurchase(ctx context.Context, earning domain.PurchaseEarning, entry *domain.LedgerEntry) (bool, error) {
	doc, err := json.Marshal(earning)
	if err != nil {
		return false, fmt.Errorf("book purchase: %w", err)
	}
	insertEarning := `INSERT INTO purchase_earnings (program_id, interaction_id, customer_id, earning) VALUES (?, ?, ?, ?)
		ON CONFLICT (program_id, interaction_id) DO NOTHING`
	args := []any{earning.ProgramID, earning.InteractionID, earning.CustomerID, string(doc)}
	if entry != nil {
		t.touch(entry.ProgramID, entry.CustomerID)
	}
	if entry == nil || t.tx.Dialect() != sqldb.Postgres {
		res, err := t.tx.Exec(ctx, insertEarning, args...)
		first, err := changedOne(res, err, "book purchase")
		if err != nil || !first || entry == nil {
			return first, err
		}
		return t.AddEntry(ctx, *entry)
	}
	res, err := t.tx.Exec(ctx, `WITH earned AS (`+insertEarning+` RETURNING 1)
		INSERT INTO ledger_entries (`+entryColumns+`) SELECT `+entryMarks+` WHERE EXISTS (SELECT 1 FROM earned)
		ON CONFLICT (program_id, cause) DO NOTHING`, append(args, entryArgs(*entry)...)...)
	return changedOne(res, err, "book purchase")
}

// BookPurchases implements domain.LedgerTx in multi-row statements.
func (t *Tx) BookPurchases(ctx context.Context, earnings []domain.PurchaseEarning, entries []domain.LedgerEntry) (int, error) {
	rows := make([][]any, len(earnings))
	for i, e := range earnings {
		doc, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("book purchases: %w", err)
		}
		rows[i] = []any{e.ProgramID, e.InteractionID, e.CustomerID, string(doc)}
	}
	stored := 0
	for _, part := range statementRows(rows) {
		values, args := sqldb.ValuesList(part)
		res, err := t.tx.Exec(ctx, `INSERT INTO purchase_earnings (program_id, interaction_id, customer_id, earning) VALUES `+values+`
			ON CONFLICT (program_id, interaction_id) DO NOTHING`, args...)
		if err != nil {
			return 0, fmt.Errorf("book %d purchases: %w", len(part), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("book %d purchases: %w", len(part), err)
		}
		stored += int(n)
	}
	return stored, t.AddEntries(ctx, entries)
}

// SavePurchaseEarning updates what returns took back of a purchase.
func (t *Tx) SavePurchaseEarning(ctx context.Context, e domain.PurchaseEarning) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("save purchase earning: %w", err)
	}
	res, err := t.tx.Exec(ctx, `UPDATE purchase_earnings SET earning = ? WHERE program_id = ? AND interaction_id = ?`,
		string(doc), e.ProgramID, e.InteractionID)
	return expectOne(res, err, "save purchase earning "+e.InteractionID)
}

// ParkReturn implements domain.LedgerTx.
func (t *Tx) ParkReturn(ctx context.Context, programID string, r domain.Return, at time.Time) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("park return: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO parked_returns (program_id, purchase_interaction_id, interaction_id, customer_id, doc, park_time)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		programID, r.PurchaseInteractionID, r.InteractionID, r.CustomerID, string(doc), sqldb.Micros(at))
	if err != nil {
		return fmt.Errorf("park return %s: %w", r.InteractionID, err)
	}
	return nil
}

// TakeParkedReturns implements domain.LedgerTx: one statement, as it runs
// for every purchase booked.
func (t *Tx) TakeParkedReturns(ctx context.Context, programID, purchaseInteractionID string) ([]domain.Return, error) {
	rows, err := t.tx.Query(ctx, `DELETE FROM parked_returns WHERE program_id = ? AND purchase_interaction_id = ?
		RETURNING park_time, interaction_id, doc`, programID, purchaseInteractionID)
	if err != nil {
		return nil, fmt.Errorf("take parked returns: %w", err)
	}
	defer rows.Close()
	type parked struct {
		at  int64
		id  string
		ret domain.Return
	}
	var ps []parked
	for rows.Next() {
		var (
			p   parked
			doc string
		)
		if err := rows.Scan(&p.at, &p.id, &doc); err != nil {
			return nil, fmt.Errorf("take parked returns: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &p.ret); err != nil {
			return nil, fmt.Errorf("decode parked return %s: %w", p.id, err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take parked returns: %w", err)
	}
	slices.SortFunc(ps, func(a, b parked) int { return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.id, b.id)) })
	out := make([]domain.Return, len(ps))
	for i, p := range ps {
		out[i] = p.ret
	}
	return out, nil
}

// HasParkedReturns implements domain.LedgerTx.
func (t *Tx) HasParkedReturns(ctx context.Context, programID string, purchaseInteractionIDs []string) (bool, error) {
	for _, in := range t.tx.Dialect().OneOf("purchase_interaction_id", purchaseInteractionIDs) {
		var one int
		err := t.tx.QueryRow(ctx, `SELECT 1 FROM parked_returns WHERE program_id = ? AND `+in.SQL+` LIMIT 1`,
			append([]any{programID}, in.Args...)...).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("look for parked returns: %w", err)
		}
	}
	return false, nil
}

// InsertReward stores a new reward.
func (t *Tx) InsertReward(ctx context.Context, r domain.Reward, requestID string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO rewards (`+rewardColumns+`, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProgramID, r.Name, r.PointsCost, r.Stock, boolInt(r.UnlimitedStock), r.MinTierCode, boolInt(r.MemberDayOnly),
		microsOrZero(r.Start), microsOrZero(r.End), sqldb.Micros(r.CreateTime), sqldb.Micros(r.UpdateTime), nullable(requestID))
	if err != nil {
		return fmt.Errorf("insert reward: %w", err)
	}
	return nil
}

// SaveReward updates a reward.
func (t *Tx) SaveReward(ctx context.Context, r domain.Reward) error {
	res, err := t.tx.Exec(ctx, `UPDATE rewards SET name = ?, points_cost = ?, stock = ?, unlimited_stock = ?, min_tier_code = ?,
		member_day_only = ?, start_time = ?, end_time = ?, update_time = ? WHERE id = ?`,
		r.Name, r.PointsCost, r.Stock, boolInt(r.UnlimitedStock), r.MinTierCode, boolInt(r.MemberDayOnly),
		microsOrZero(r.Start), microsOrZero(r.End), sqldb.Micros(r.UpdateTime), r.ID)
	return expectOne(res, err, "save reward "+r.ID)
}

// TakeStock decrements the stock in one conditional statement, which the
// database makes atomic: concurrent redemptions can never take the last
// unit twice.
func (t *Tx) TakeStock(ctx context.Context, rewardID string) (bool, error) {
	res, err := t.tx.Exec(ctx, `UPDATE rewards SET stock = stock - 1 WHERE id = ? AND (unlimited_stock = 1 OR stock > 0)`, rewardID)
	return changedOne(res, err, "take stock")
}

// ReturnStock increments the stock.
func (t *Tx) ReturnStock(ctx context.Context, rewardID string) error {
	res, err := t.tx.Exec(ctx, `UPDATE rewards SET stock = stock + 1 WHERE id = ?`, rewardID)
	return expectOne(res, err, "return stock of "+rewardID)
}

// InsertRedemption stores a redemption.
func (t *Tx) InsertRedemption(ctx context.Context, r domain.Redemption) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO redemptions (id, program_id, customer_id, reward_id, points, state, request_id, create_time, cancel_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProgramID, r.CustomerID, r.RewardID, r.Points, string(r.State), nullable(r.RequestID),
		sqldb.Micros(r.CreateTime), microsOrZero(r.CancelTime))
	if err != nil {
		return fmt.Errorf("insert redemption: %w", err)
	}
	return nil
}

// SaveRedemption updates a redemption's state.
func (t *Tx) SaveRedemption(ctx context.Context, r domain.Redemption) error {
	res, err := t.tx.Exec(ctx, `UPDATE redemptions SET state = ?, cancel_time = ?, customer_id = ? WHERE id = ?`,
		string(r.State), microsOrZero(r.CancelTime), r.CustomerID, r.ID)
	return expectOne(res, err, "save redemption "+r.ID)
}

// RecordNotice records an expiring notice once.
func (t *Tx) RecordNotice(ctx context.Context, programID, customerID string, expireTime time.Time) (bool, error) {
	res, err := t.tx.Exec(ctx, `INSERT INTO expiry_notices (program_id, customer_id, expire_time) VALUES (?, ?, ?)
		ON CONFLICT (program_id, customer_id, expire_time) DO NOTHING`, programID, customerID, sqldb.Micros(expireTime))
	return changedOne(res, err, "record notice")
}

// RecordErasure stores the erasure unless it is already recorded.
func (t *Tx) RecordErasure(ctx context.Context, e domain.Erasure, recordTime time.Time) error {
	return mergesql.RecordErasure(ctx, t.tx, e, recordTime)
}

// Publish encodes evs for the outbox, written when the transaction ends.
func (t *Tx) Publish(ctx context.Context, evs ...domain.Event) error {
	if err := t.events.Add(ctx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

func expectOne(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return nil
}
