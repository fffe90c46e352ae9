package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/guanxi-crm/guanxi/platform/memberdays"
	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// memberDayRow is how a member-day rule is kept in loyalty_programs.
type memberDayRow struct {
	ID       string `json:"id"`
	Weekday  int    `json:"weekday,omitempty"`
	MonthDay int    `json:"month_day,omitempty"`
}

// Programs returns the loyalty programs the service knows of.
func (s *Store) Programs(ctx context.Context) ([]domain.LoyaltyProgram, error) {
	out, err := sqldb.QueryAll(ctx, s.db, func(sc sqldb.Scanner) (domain.LoyaltyProgram, error) {
		var (
			p    domain.LoyaltyProgram
			days string
			at   int64
		)
		if err := sc.Scan(&p.ID, &p.Name, &p.TimeZone, &days, &at); err != nil {
			return p, err
		}
		p.UpdateTime = sqldb.FromMicros(at)
		var rows []memberDayRow
		if err := json.Unmarshal([]byte(days), &rows); err != nil {
			return p, fmt.Errorf("program %s: member days: %w", p.ID, err)
		}
		for _, r := range rows {
			p.MemberDays = append(p.MemberDays, domain.ProgramMemberDay{ID: r.ID, Rule: memberdays.Rule{Weekday: r.Weekday, MonthDay: r.MonthDay}})
		}
		return p, nil
	}, `SELECT program_id, name, time_zone, member_days, update_time FROM loyalty_programs ORDER BY program_id`)
	if err != nil {
		return nil, fmt.Errorf("load programs: %w", err)
	}
	return out, nil
}

// SaveProgram stores p unless the stored program changed later; it reports
// whether it stored it.
func (t *Tx) SaveProgram(ctx context.Context, p domain.LoyaltyProgram) (bool, error) {
	rows := make([]memberDayRow, 0, len(p.MemberDays))
	for _, d := range p.MemberDays {
		rows = append(rows, memberDayRow{ID: d.ID, Weekday: d.Rule.Weekday, MonthDay: d.Rule.MonthDay})
	}
	days, err := json.Marshal(rows)
	if err != nil {
		return false, fmt.Errorf("save program: %w", err)
	}
	res, err := t.tx.Exec(ctx, `INSERT INTO loyalty_programs (program_id, name, time_zone, member_days, update_time) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
		member_days = excluded.member_days, update_time = excluded.update_time
		WHERE loyalty_programs.update_time <= excluded.update_time`,
		p.ID, p.Name, p.TimeZone, string(days), sqldb.Micros(p.UpdateTime))
	if err != nil {
		return false, fmt.Errorf("save program: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save program: %w", err)
	}
	return n > 0, nil
}

// AddMember records a program membership unless one is recorded (a tier
// change may have been recorded first).
func (t *Tx) AddMember(ctx context.Context, customerID, programID, tierCode, tierName string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO program_members (program_id, customer_id, tier_code, tier_name) VALUES (?, ?, ?, ?)
		ON CONFLICT (program_id, customer_id) DO NOTHING`, programID, customerID, tierCode, tierName)
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

// AddMembers implements domain.RecipientTx in multi-row statements.
func (t *Tx) AddMembers(ctx context.Context, ms []domain.ProgramMember) error {
	seen := make(map[[2]string]bool, len(ms))
	var rows [][]any
	for _, m := range ms {
		if key := [2]string{m.ProgramID, m.CustomerID}; !seen[key] {
			seen[key] = true
			rows = append(rows, []any{m.ProgramID, m.CustomerID, m.TierCode, m.TierName})
		}
	}
	for chunk := range slices.Chunk(rows, maxRowParams/4) {
		values, args := sqldb.ValuesList(chunk)
		if _, err := t.tx.Exec(ctx, `INSERT INTO program_members (program_id, customer_id, tier_code, tier_name) VALUES `+values+`
			ON CONFLICT (program_id, customer_id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("add %d members: %w", len(chunk), err)
		}
	}
	return nil
}
