// Package sqlstore is the loyalty service's one database/sql store, used on
// SQLite and PostgreSQL alike through platform/sqldb.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/readcache"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// querier is what *sqldb.DB and *sqldb.Tx share, so reads run the same
// outside and inside a transaction.
type querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements domain.Reader over a querier.
type reader struct {
	q querier
}

// Store implements domain.Store.
type Store struct {
	reader
	db       *sqldb.DB
	txs      platformevents.Transactor[domain.Event]
	accounts *readcache.Cache[MemberSummary]
}

// MemberSummary is a member with the sums of its ledger, what the account
// cache holds.
type MemberSummary struct {
	Member  domain.Member
	Summary domain.Summary
}

// AccountKey is the cache key of a member's account.
func AccountKey(programID, customerID string) string { return programID + ":" + customerID }

// New returns a store over a migrated db whose transactions write the
// events they publish, given their wire form by encoder, into outbox.
// accounts, when not nil, caches MemberSummary outside transactions; the
// store drops the members a transaction locked or wrote from it once the
// transaction commits.
func New(db *sqldb.DB, outbox platformevents.Enqueuer, encoder platformevents.Encoder[domain.Event], accounts *readcache.Cache[MemberSummary]) *Store {
	return &Store{reader: reader{q: db}, db: db, txs: platformevents.NewTransactor(db, outbox, encoder), accounts: accounts}
}

// InTx runs fn in one database transaction. The events fn publishes go to
// the outbox together when fn is done, in one write.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.txs.InTx(ctx, func(tx *sqldb.Tx, pending *platformevents.Pending[domain.Event]) error {
		t := &Tx{reader: reader{q: tx}, tx: tx, events: pending}
		if err := fn(t); err != nil {
			return err
		}
		if s.accounts != nil && len(t.touched) > 0 {
			keys := slices.Collect(maps.Keys(t.touched))
			// After the commit (of the consumer's whole batch, when in
			// one): a read between the change and here is older than the
			// change, and the cache's tombstones keep it from being kept.
			tx.AfterCommit(func() { s.accounts.Invalidate(context.WithoutCancel(ctx), keys...) })
		}
		return nil
	})
}

// MemberSummary implements domain.Reader, through the account cache: a
// value at most the cache's TTL old, the read path of every
// GetLoyaltyAccount. Inside a transaction (Tx) it always reads the
// database.
func (s *Store) MemberSummary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (domain.Member, domain.Summary, error) {
	if s.accounts == nil {
		return s.reader.MemberSummary(ctx, programID, customerID, now, windowStart)
	}
	v, err := s.accounts.Get(ctx, AccountKey(programID, customerID), func(ctx context.Context) (MemberSummary, error) {
		m, sum, err := s.reader.MemberSummary(ctx, programID, customerID, now, windowStart)
		return MemberSummary{Member: m, Summary: sum}, err
	})
	return v.Member, v.Summary, err
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return fmt.Errorf("load %s: %w", what, err)
}

// --- programs

const programColumns = `id, rules, create_time, update_time`

func scanProgram(sc interface{ Scan(...any) error }) (domain.Program, error) {
	var (
		p        domain.Program
		rules    string
		cre, upd int64
	)
	if err := sc.Scan(&p.ID, &rules, &cre, &upd); err != nil {
		return domain.Program{}, err
	}
	if err := json.Unmarshal([]byte(rules), &p); err != nil {
		return domain.Program{}, fmt.Errorf("decode rules of program %s: %w", p.ID, err)
	}
	p.CreateTime, p.UpdateTime = sqldb.FromMicros(cre), sqldb.FromMicros(upd)
	return p, nil
}

// Program implements domain.Reader.
func (r reader) Program(ctx context.Context, id string) (domain.Program, error) {
	p, err := scanProgram(r.q.QueryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE id = ?`, id))
	if err != nil {
		return domain.Program{}, notFound(err, "program "+id)
	}
	return p, nil
}

// ProgramByRequest implements domain.Reader.
func (r reader) ProgramByRequest(ctx context.Context, requestID string) (domain.Program, error) {
	p, err := scanProgram(r.q.QueryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE request_id = ?`, requestID))
	if err != nil {
		return domain.Program{}, notFound(err, "program of request "+requestID)
	}
	return p, nil
}

// Programs implements domain.Reader.
func (r reader) Programs(ctx context.Context) ([]domain.Program, error) {
	rows, err := r.q.Query(ctx, `SELECT `+programColumns+` FROM programs ORDER BY create_time, id`)
	if err != nil {
		return nil, fmt.Errorf("load programs: %w", err)
	}
	defer rows.Close()
	var out []domain.Program
	for rows.Next() {
		p, err := scanProgram(rows)
		if err != nil {
			return nil, fmt.Errorf("load programs: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// --- members

const memberColumns = `program_id, customer_id, member_number, status, tier_code, tier_since, grace_until,
	merged_into, expired_through, join_time, update_time`

func scanMember(customerID string, row interface{ Scan(...any) error }) (domain.Member, error) {
	var r memberRow
	if err := scanOrNotFound(customerID, row, r.dest()...); err != nil {
		return domain.Member{}, err
	}
	return r.member(), nil
}

// memberRow is a member's columns (memberColumns) as scanned.
type memberRow struct {
	m                                      domain.Member
	status                                 string
	since, grace, expired, joined, updated int64
	mergedInto                             sql.NullString
}

func (r *memberRow) dest() []any {
	return []any{&r.m.ProgramID, &r.m.CustomerID, &r.m.Number, &r.status, &r.m.TierCode, &r.since, &r.grace,
		&r.mergedInto, &r.expired, &r.joined, &r.updated}
}

func (r *memberRow) member() domain.Member {
	m := r.m
	m.Status = domain.MemberStatus(r.status)
	m.TierSince, m.GraceUntil = sqldb.FromMicros(r.since), fromMicrosOrZero(r.grace)
	m.MergedInto = r.mergedInto.String
	m.ExpiredThrough = fromMicrosOrZero(r.expired)
	m.JoinTime, m.UpdateTime = sqldb.FromMicros(r.joined), sqldb.FromMicros(r.updated)
	return m
}

// scanOrNotFound scans row into dest; no row is the customer's
// AccountNotFoundError.
func scanOrNotFound(customerID string, row interface{ Scan(...any) error }, dest ...any) error {
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return &domain.AccountNotFoundError{CustomerID: customerID}
	}
	if err != nil {
		return fmt.Errorf("load member: %w", err)
	}
	return nil
}

// Member implements domain.Reader.
func (r reader) Member(ctx context.Context, programID, customerID string) (domain.Member, error) {
	return scanMember(customerID, r.q.QueryRow(ctx,
		`SELECT `+memberColumns+` FROM members WHERE program_id = ? AND customer_id = ?`, programID, customerID))
}

// summaryColumns add up a member's entries; their parameters are now and
// the window start, twice.
const summaryColumns = `COALESCE(SUM(l.points), 0),
		COALESCE(SUM(CASE WHEN l.points > 0 AND l.available_time > ? THEN l.points ELSE 0 END), 0),
		COALESCE(SUM(l.lifetime_points), 0),
		COALESCE(SUM(CASE WHEN l.occur_time >= ? AND l.source IN ('purchase', 'return', 'engagement') THEN l.lifetime_points ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN l.occur_time >= ? THEN l.spend_minor ELSE 0 END), 0)`

// Summary implements domain.Reader in one pass over the member's entries.
func (r reader) Summary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (domain.Summary, error) {
	var s domain.Summary
	err := r.q.QueryRow(ctx, `SELECT `+summaryColumns+` FROM ledger_entries l WHERE l.program_id = ? AND l.customer_id = ?`,
		sqldb.Micros(now), sqldb.Micros(windowStart), sqldb.Micros(windowStart), programID, customerID,
	).Scan(&s.Total, &s.Pending, &s.Lifetime, &s.WindowPoints, &s.WindowSpend)
	if err != nil {
		return domain.Summary{}, fmt.Errorf("sum ledger: %w", err)
	}
	return s, nil
}

// MemberSummary implements domain.Reader: the member's row and the sums of
// its entries in one query, the read path of every GetLoyaltyAccount.
func (r reader) MemberSummary(ctx context.Context, programID, customerID string, now, windowStart time.Time) (domain.Member, domain.Summary, error) {
	return r.memberSummary(ctx, memberSummaryQuery, programID, customerID, now, windowStart)
}

const memberSummaryQuery = `SELECT m.program_id, m.customer_id, m.member_number, m.status, m.tier_code, m.tier_since,
		m.grace_until, m.merged_into, m.expired_through, m.join_time, m.update_time, ` + summaryColumns + `
		FROM members m LEFT JOIN ledger_entries l ON l.program_id = m.program_id AND l.customer_id = m.customer_id
		WHERE m.program_id = ? AND m.customer_id = ?
		GROUP BY m.program_id, m.customer_id, m.member_number, m.status, m.tier_code, m.tier_since,
		m.grace_until, m.merged_into, m.expired_through, m.join_time, m.update_time`

// memberSummary runs query, which selects a member's columns and then its
// summary columns, with the arguments in that order.
func (r reader) memberSummary(ctx context.Context, query, programID, customerID string, now, windowStart time.Time) (domain.Member, domain.Summary, error) {
	return scanMemberSummary(customerID, r.q.QueryRow(ctx, query,
		sqldb.Micros(now), sqldb.Micros(windowStart), sqldb.Micros(windowStart), programID, customerID))
}

// scanMemberSummary scans a member's columns and then its summary columns.
func scanMemberSummary(customerID string, row interface{ Scan(...any) error }) (domain.Member, domain.Summary, error) {
	var (
		r memberRow
		s domain.Summary
	)
	if err := scanOrNotFound(customerID, row, append(r.dest(), &s.Total, &s.Pending, &s.Lifetime, &s.WindowPoints, &s.WindowSpend)...); err != nil {
		return domain.Member{}, domain.Summary{}, err
	}
	return r.member(), s, nil
}

// ExpiryState implements domain.Reader.
func (r reader) ExpiryState(ctx context.Context, programID, customerID string) (domain.ExpiryState, error) {
	var st domain.ExpiryState
	err := r.q.QueryRow(ctx, `SELECT
		COALESCE(SUM(CASE WHEN points < 0 AND kind <> 'expire' THEN -points ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN kind = 'expire' THEN -points ELSE 0 END), 0)
		FROM ledger_entries WHERE program_id = ? AND customer_id = ?`, programID, customerID,
	).Scan(&st.Debits, &st.Expired)
	if err != nil {
		return st, fmt.Errorf("sum debits: %w", err)
	}
	rows, err := r.q.Query(ctx, `SELECT expire_time, SUM(points) FROM ledger_entries
		WHERE program_id = ? AND customer_id = ? AND points > 0 AND expire_time > 0
		GROUP BY expire_time ORDER BY expire_time`, programID, customerID)
	if err != nil {
		return st, fmt.Errorf("load expiring credits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			at int64
			b  domain.ExpiryBucket
		)
		if err := rows.Scan(&at, &b.Credits); err != nil {
			return st, fmt.Errorf("load expiring credits: %w", err)
		}
		b.ExpireTime = sqldb.FromMicros(at)
		st.Buckets = append(st.Buckets, b)
	}
	return st, rows.Err()
}

// --- ledger

const entryColumns = `id, program_id, customer_id, origin_customer_id, kind, source, points, lifetime_points, spend_minor,
	cause, order_id, interaction_id, rule_ids, actor, reason, counterpart_id, day, occur_time, create_time,
	available_time, expire_time`

func scanEntry(sc interface{ Scan(...any) error }) (domain.LedgerEntry, error) {
	var (
		e                             domain.LedgerEntry
		kind, ruleIDs                 string
		occur, created, avail, expire int64
	)
	err := sc.Scan(&e.ID, &e.ProgramID, &e.CustomerID, &e.OriginCustomerID, &kind, &e.Source, &e.Points, &e.LifetimePoints,
		&e.SpendMinor, &e.Cause, &e.OrderID, &e.InteractionID, &ruleIDs, &e.Actor, &e.Reason, &e.CounterpartID, &e.Day,
		&occur, &created, &avail, &expire)
	if err != nil {
		return domain.LedgerEntry{}, err
	}
	e.Kind = domain.EntryKind(kind)
	if ruleIDs != "" {
		e.RuleIDs = strings.Split(ruleIDs, ",")
	}
	e.OccurTime, e.CreateTime, e.AvailableTime = sqldb.FromMicros(occur), sqldb.FromMicros(created), sqldb.FromMicros(avail)
	e.ExpireTime = fromMicrosOrZero(expire)
	return e, nil
}

// Ledger implements domain.Reader. Entry ids are UUIDv7, so id order is
// booking order.
func (r reader) Ledger(ctx context.Context, programID, customerID, beforeID string, limit int) ([]domain.LedgerEntry, error) {
	q := `SELECT ` + entryColumns + ` FROM ledger_entries WHERE program_id = ? AND customer_id = ?`
	args := []any{programID, customerID}
	if beforeID != "" {
		q += ` AND id < ?`
		args = append(args, beforeID)
	}
	rows, err := r.q.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	defer rows.Close()
	var out []domain.LedgerEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("load ledger: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Entry implements domain.Reader.
func (r reader) Entry(ctx context.Context, programID, cause string) (domain.LedgerEntry, error) {
	e, err := scanEntry(r.q.QueryRow(ctx, `SELECT `+entryColumns+` FROM ledger_entries WHERE program_id = ? AND cause = ?`,
		programID, cause))
	if err != nil {
		return domain.LedgerEntry{}, notFound(err, "ledger entry "+cause)
	}
	return e, nil
}

// EarnedOnDay implements domain.Reader.
func (r reader) EarnedOnDay(ctx context.Context, programID, customerID, day string) (int64, error) {
	var n int64
	err := r.q.QueryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM ledger_entries
		WHERE program_id = ? AND customer_id = ? AND day = ? AND source = ?`,
		programID, customerID, day, domain.SourcePurchase).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sum day's points: %w", err)
	}
	return n, nil
}

// PurchaseEarning implements domain.Reader.
func (r reader) PurchaseEarning(ctx context.Context, programID, interactionID string) (domain.PurchaseEarning, error) {
	var (
		e   domain.PurchaseEarning
		doc string
	)
	err := r.q.QueryRow(ctx, `SELECT customer_id, earning FROM purchase_earnings WHERE program_id = ? AND interaction_id = ?`,
		programID, interactionID).Scan(&e.CustomerID, &doc)
	if err != nil {
		return domain.PurchaseEarning{}, notFound(err, "earning of purchase "+interactionID)
	}
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		return domain.PurchaseEarning{}, fmt.Errorf("decode earning of purchase %s: %w", interactionID, err)
	}
	e.ProgramID, e.InteractionID = programID, interactionID
	return e, nil
}

// --- rewards and redemptions

const rewardColumns = `id, program_id, name, points_cost, stock, unlimited_stock, min_tier_code, member_day_only,
	start_time, end_time, create_time, update_time`

func scanReward(sc interface{ Scan(...any) error }) (domain.Reward, error) {
	var (
		rw                               domain.Reward
		unlimited, dayOnly               int64
		start, end, created, updatedTime int64
	)
	err := sc.Scan(&rw.ID, &rw.ProgramID, &rw.Name, &rw.PointsCost, &rw.Stock, &unlimited, &rw.MinTierCode, &dayOnly,
		&start, &end, &created, &updatedTime)
	if err != nil {
		return domain.Reward{}, err
	}
	rw.UnlimitedStock, rw.MemberDayOnly = unlimited != 0, dayOnly != 0
	rw.Start, rw.End = fromMicrosOrZero(start), fromMicrosOrZero(end)
	rw.CreateTime, rw.UpdateTime = sqldb.FromMicros(created), sqldb.FromMicros(updatedTime)
	return rw, nil
}

// Reward implements domain.Reader.
func (r reader) Reward(ctx context.Context, id string) (domain.Reward, error) {
	rw, err := scanReward(r.q.QueryRow(ctx, `SELECT `+rewardColumns+` FROM rewards WHERE id = ?`, id))
	if err != nil {
		return domain.Reward{}, notFound(err, "reward "+id)
	}
	return rw, nil
}

// RewardByRequest implements domain.Reader.
func (r reader) RewardByRequest(ctx context.Context, requestID string) (domain.Reward, error) {
	rw, err := scanReward(r.q.QueryRow(ctx, `SELECT `+rewardColumns+` FROM rewards WHERE request_id = ?`, requestID))
	if err != nil {
		return domain.Reward{}, notFound(err, "reward of request "+requestID)
	}
	return rw, nil
}

// Rewards implements domain.Reader.
func (r reader) Rewards(ctx context.Context, programID string) ([]domain.Reward, error) {
	rows, err := r.q.Query(ctx, `SELECT `+rewardColumns+` FROM rewards WHERE program_id = ? ORDER BY id`, programID)
	if err != nil {
		return nil, fmt.Errorf("load rewards: %w", err)
	}
	defer rows.Close()
	var out []domain.Reward
	for rows.Next() {
		rw, err := scanReward(rows)
		if err != nil {
			return nil, fmt.Errorf("load rewards: %w", err)
		}
		out = append(out, rw)
	}
	return out, rows.Err()
}

const redemptionColumns = `id, program_id, customer_id, reward_id, points, state, COALESCE(request_id, ''), create_time, cancel_time`

func scanRedemption(row *sql.Row) (domain.Redemption, error) {
	var (
		rd              domain.Redemption
		state           string
		created, cancel int64
	)
	if err := row.Scan(&rd.ID, &rd.ProgramID, &rd.CustomerID, &rd.RewardID, &rd.Points, &state, &rd.RequestID, &created, &cancel); err != nil {
		return domain.Redemption{}, err
	}
	rd.State = domain.RedemptionState(state)
	rd.CreateTime, rd.CancelTime = sqldb.FromMicros(created), fromMicrosOrZero(cancel)
	return rd, nil
}

// Redemption implements domain.Reader.
func (r reader) Redemption(ctx context.Context, id string) (domain.Redemption, error) {
	rd, err := scanRedemption(r.q.QueryRow(ctx, `SELECT `+redemptionColumns+` FROM redemptions WHERE id = ?`, id))
	if err != nil {
		return domain.Redemption{}, notFound(err, "redemption "+id)
	}
	return rd, nil
}

// RedemptionByRequest implements domain.Reader.
func (r reader) RedemptionByRequest(ctx context.Context, requestID string) (domain.Redemption, error) {
	rd, err := scanRedemption(r.q.QueryRow(ctx, `SELECT `+redemptionColumns+` FROM redemptions WHERE request_id = ?`, requestID))
	if err != nil {
		return domain.Redemption{}, notFound(err, "redemption of request "+requestID)
	}
	return rd, nil
}

// --- job scans

func (s *Store) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ExpiryCandidates implements domain.Store.
func (s *Store) ExpiryCandidates(ctx context.Context, programID string, through time.Time, afterID string, limit int) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT DISTINCT l.customer_id FROM ledger_entries l
		JOIN members m ON m.program_id = l.program_id AND m.customer_id = l.customer_id
		WHERE l.program_id = ? AND l.expire_time > 0 AND l.points > 0 AND l.expire_time <= ?
		AND l.expire_time > m.expired_through AND l.customer_id > ?
		ORDER BY l.customer_id LIMIT ?`, programID, sqldb.Micros(through), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find expiring members: %w", err)
	}
	return ids, nil
}

// NoticeCandidates implements domain.Store.
func (s *Store) NoticeCandidates(ctx context.Context, programID string, from, through time.Time, afterID string, limit int) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT DISTINCT l.customer_id FROM ledger_entries l
		WHERE l.program_id = ? AND l.expire_time > ? AND l.expire_time <= ? AND l.points > 0 AND l.customer_id > ?
		AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.program_id = l.program_id
			AND n.customer_id = l.customer_id AND n.expire_time = l.expire_time)
		ORDER BY l.customer_id LIMIT ?`, programID, sqldb.Micros(from), sqldb.Micros(through), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find members with expiring points: %w", err)
	}
	return ids, nil
}

// ActiveMembers implements domain.Store.
func (s *Store) ActiveMembers(ctx context.Context, programID, afterID string, limit int) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT customer_id FROM members WHERE program_id = ? AND status = ? AND customer_id > ?
		ORDER BY customer_id LIMIT ?`, programID, string(domain.MemberActive), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ids, nil
}

// LedgerTotals returns every account's ledger sum in a program, for
// reconciliation.
func (s *Store) LedgerTotals(ctx context.Context, programID string) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT customer_id, SUM(points) FROM ledger_entries WHERE program_id = ? GROUP BY customer_id`, programID)
	if err != nil {
		return nil, fmt.Errorf("sum ledgers: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			id string
			n  int64
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("sum ledgers: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// Erasure returns the recorded erasure of a customer, or ErrNotFound.
func (s *Store) Erasure(ctx context.Context, customerID string) (domain.Erasure, error) {
	var at int64
	err := s.db.QueryRow(ctx, `SELECT erase_time FROM customer_erasures WHERE customer_id = ?`, customerID).Scan(&at)
	if err != nil {
		return domain.Erasure{}, notFound(err, "erasure of "+customerID)
	}
	return domain.Erasure{CustomerID: customerID, EraseTime: sqldb.FromMicros(at)}, nil
}

func fromMicrosOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return sqldb.FromMicros(us)
}

func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return sqldb.Micros(t)
}

// nullable stores an empty string as NULL.
func nullable(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
