package sqlstore

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Relationships implements domain.Store.
func (s *Store) Relationships(ctx context.Context, customerID string) ([]domain.Relationship, error) {
	out, err := sqldb.QueryAll(ctx, s.db, scanRelationship, `SELECT id, from_customer_id, to_customer_id, type, role, create_time
		FROM relationships WHERE from_customer_id = ? OR to_customer_id = ? ORDER BY create_time, id`, customerID, customerID)
	if err != nil {
		return nil, fmt.Errorf("list relationships: %w", err)
	}
	return out, nil
}

func scanRelationship(s sqldb.Scanner) (domain.Relationship, error) {
	var (
		r       domain.Relationship
		typ     string
		created int64
	)
	if err := s.Scan(&r.ID, &r.FromID, &r.ToID, &typ, &r.Role, &created); err != nil {
		return r, err
	}
	var ok bool
	if r.Type, ok = domain.ParseRelationshipType(typ); !ok {
		return r, fmt.Errorf("relationship %s has unknown type %q", r.ID, typ)
	}
	r.CreateTime = sqldb.FromMicros(created)
	return r, nil
}

func (t *storeTx) CreateRelationship(ctx context.Context, r domain.Relationship) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO relationships (id, from_customer_id, to_customer_id, type, role, create_time)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.FromID, r.ToID, r.Type.String(), r.Role, sqldb.Micros(r.CreateTime))
	if sqldb.IsUniqueViolation(err) {
		return &domain.ConflictError{Reason: fmt.Sprintf("%s already %s %s", r.FromID, r.Type, r.ToID)}
	}
	if err != nil {
		return fmt.Errorf("create relationship: %w", err)
	}
	return nil
}

func (t *storeTx) DeleteRelationship(ctx context.Context, id string) error {
	res, err := t.tx.Exec(ctx, `DELETE FROM relationships WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete relationship: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("delete relationship: %w", err)
		}
		return &domain.NotFoundError{What: "relationship", ID: id}
	}
	return nil
}

func (t *storeTx) DeleteRelationshipsOf(ctx context.Context, customerID string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM relationships WHERE from_customer_id = ? OR to_customer_id = ?`,
		customerID, customerID); err != nil {
		return fmt.Errorf("delete relationships: %w", err)
	}
	return nil
}

// Repoint implements domain.Tx. Relationships the survivor already has, or
// that would link it to itself, are dropped rather than duplicated.
func (t *storeTx) Repoint(ctx context.Context, mergedID, survivorID string) error {
	stmts := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM relationships WHERE (from_customer_id = ? AND to_customer_id = ?) OR (from_customer_id = ? AND to_customer_id = ?)`,
			[]any{mergedID, survivorID, survivorID, mergedID}},
		{`DELETE FROM relationships WHERE from_customer_id = ? AND EXISTS (SELECT 1 FROM relationships s
			WHERE s.from_customer_id = ? AND s.to_customer_id = relationships.to_customer_id AND s.type = relationships.type)`,
			[]any{mergedID, survivorID}},
		{`DELETE FROM relationships WHERE to_customer_id = ? AND EXISTS (SELECT 1 FROM relationships s
			WHERE s.to_customer_id = ? AND s.from_customer_id = relationships.from_customer_id AND s.type = relationships.type)`,
			[]any{mergedID, survivorID}},
		{`UPDATE relationships SET from_customer_id = ? WHERE from_customer_id = ?`, []any{survivorID, mergedID}},
		{`UPDATE relationships SET to_customer_id = ? WHERE to_customer_id = ?`, []any{survivorID, mergedID}},
		{`UPDATE ownership_changes SET customer_id = ? WHERE customer_id = ?`, []any{survivorID, mergedID}},
		{`UPDATE customers SET merged_into = ? WHERE merged_into = ?`, []any{survivorID, mergedID}},
	}
	for _, s := range stmts {
		if _, err := t.tx.Exec(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("repoint %s to %s: %w", mergedID, survivorID, err)
		}
	}
	return nil
}
