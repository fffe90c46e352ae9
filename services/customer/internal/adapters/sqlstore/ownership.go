package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// OwnedBy implements domain.Tx.
func (t *storeTx) OwnedBy(ctx context.Context, owner, filter string) ([]domain.OwnedCustomer, error) {
	where, args, err := t.compileFilter(ctx, filter)
	if err != nil {
		return nil, err
	}
	query := `SELECT id, team_id FROM customers WHERE owner_id = ? AND state IN ('active', 'deleted')`
	args = append([]any{owner}, args...)
	if where != "" {
		query += ` AND (` + where + `)`
	}
	out, err := sqldb.QueryAll(ctx, t.tx, func(s sqldb.Scanner) (domain.OwnedCustomer, error) {
		var o domain.OwnedCustomer
		return o, s.Scan(&o.ID, &o.TeamID)
	}, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("customers of %s: %w", owner, err)
	}
	return out, nil
}

// TransferOwnership implements domain.Tx: one UPDATE per team and chunk of
// ids, so ten thousand customers move in a handful of statements.
func (t *storeTx) TransferOwnership(ctx context.Context, changes []domain.OwnershipChange, now time.Time) error {
	byTeam := map[string][]string{}
	for _, c := range changes {
		byTeam[c.ToTeam] = append(byTeam[c.ToTeam], c.CustomerID)
	}
	owner := changes[0].ToOwner
	for team, ids := range byTeam {
		for _, in := range t.tx.Dialect().OneOf("id", ids) {
			args := append([]any{owner, team, sqldb.Micros(now)}, in.Args...)
			if _, err := t.tx.Exec(ctx, `UPDATE customers SET owner_id = ?, team_id = ?, version = version + 1,
				update_time = ? WHERE `+in.SQL, args...); err != nil {
				return fmt.Errorf("transfer ownership: %w", err)
			}
		}
	}
	return t.RecordOwnershipChanges(ctx, changes)
}

// RecordOwnershipChanges implements domain.Tx.
func (t *storeTx) RecordOwnershipChanges(ctx context.Context, changes []domain.OwnershipChange) error {
	rows := make([][]any, len(changes))
	for i, c := range changes {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("record ownership change: %w", err)
		}
		rows[i] = []any{id.String(), c.CustomerID, c.FromOwner, c.FromTeam, c.ToOwner, c.ToTeam, c.Reason, c.Actor, sqldb.Micros(c.Time)}
	}
	if err := t.tx.InsertRows(ctx, "ownership_changes", []string{"id", "customer_id", "from_owner_id", "from_team_id",
		"to_owner_id", "to_team_id", "reason", "actor", "change_time"}, rows); err != nil {
		return fmt.Errorf("record ownership changes: %w", err)
	}
	return nil
}

// OwnershipChanges implements domain.Store.
func (s *Store) OwnershipChanges(ctx context.Context, customerID string, limit, offset int) ([]domain.OwnershipChange, error) {
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.OwnershipChange, error) {
		var (
			c  domain.OwnershipChange
			at int64
		)
		err := s.Scan(&c.CustomerID, &c.FromOwner, &c.FromTeam, &c.ToOwner, &c.ToTeam, &c.Reason, &c.Actor, &at)
		c.Time = sqldb.FromMicros(at)
		return c, err
	}, `SELECT customer_id, from_owner_id, from_team_id, to_owner_id, to_team_id, reason, actor, change_time
		FROM ownership_changes WHERE customer_id = ? ORDER BY change_time DESC, id DESC LIMIT ? OFFSET ?`, customerID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("ownership history: %w", err)
	}
	return out, nil
}
