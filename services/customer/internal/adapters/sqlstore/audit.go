package sqlstore

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

var auditColumns = []string{"id", "time", "actor", "via", "action", "customer_id", "reason", "detail"}

// Audit implements domain.Store: the entries of reads, in one transaction
// (a batch larger than one statement is written whole or not at all, so a
// retry never writes an entry twice).
func (s *Store) Audit(ctx context.Context, entries ...domain.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return wrapAudit(s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return tx.InsertRows(ctx, "audit_entries", auditColumns, auditRows(entries...))
	}))
}

// Audit implements domain.Tx.
func (t *storeTx) Audit(ctx context.Context, entries ...domain.AuditEntry) error {
	return wrapAudit(t.tx.InsertRows(ctx, "audit_entries", auditColumns, auditRows(entries...)))
}

func auditRows(entries ...domain.AuditEntry) [][]any {
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{e.ID, sqldb.Micros(e.Time), e.Actor, e.Via, e.Action, e.CustomerID, e.Reason, e.Detail}
	}
	return rows
}

func wrapAudit(err error) error {
	if err != nil {
		return fmt.Errorf("write audit entries: %w", err)
	}
	return nil
}

// AuditEntries implements domain.Store.
func (s *Store) AuditEntries(ctx context.Context, q domain.AuditQuery) ([]domain.AuditEntry, error) {
	query := `SELECT id, time, actor, via, action, customer_id, reason, detail FROM audit_entries WHERE 1 = 1`
	var args []any
	if len(q.CustomerIDs) > 0 {
		query += ` AND customer_id IN (` + placeholders(len(q.CustomerIDs)) + `)`
		args = append(args, anys(q.CustomerIDs)...)
	}
	if q.Actor != "" {
		query += ` AND actor = ?`
		args = append(args, q.Actor)
	}
	if !q.Start.IsZero() {
		query += ` AND time >= ?`
		args = append(args, sqldb.Micros(q.Start))
	}
	if !q.End.IsZero() {
		query += ` AND time < ?`
		args = append(args, sqldb.Micros(q.End))
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, q.Limit, q.Offset)
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.AuditEntry, error) {
		var (
			e  domain.AuditEntry
			at int64
		)
		err := s.Scan(&e.ID, &at, &e.Actor, &e.Via, &e.Action, &e.CustomerID, &e.Reason, &e.Detail)
		e.Time = sqldb.FromMicros(at)
		return e, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}
