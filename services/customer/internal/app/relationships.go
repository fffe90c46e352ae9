package app

import (
	"context"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// CreateRelationship links two active customers.
func (a *Service) CreateRelationship(ctx context.Context, r domain.Relationship) (domain.Relationship, error) {
	var out domain.Relationship
	err := a.store.InTx(ctx, func(tx domain.Tx) error {
		from, err := resolve(ctx, tx, r.FromID)
		if err != nil {
			return err
		}
		to, err := resolve(ctx, tx, r.ToID)
		if err != nil {
			return err
		}
		if out, err = domain.NewRelationship(newID(), r, from, to, a.clock()); err != nil {
			return err
		}
		if err := tx.CreateRelationship(ctx, out); err != nil {
			return err
		}
		return tx.Audit(ctx, a.auditEntry(ctx, "CreateRelationship", from.ID, "", out.Type.String()+" "+to.ID))
	})
	return out, wrap("create relationship", err)
}

// ListRelationships returns a customer's relationships in both directions.
func (a *Service) ListRelationships(ctx context.Context, customerID string) ([]domain.Relationship, error) {
	c, err := resolve(ctx, a.store, customerID)
	if err != nil {
		return nil, wrap("list relationships", err)
	}
	rs, err := a.store.Relationships(ctx, c.ID)
	return rs, wrap("list relationships", err)
}

// DeleteRelationship removes a relationship.
func (a *Service) DeleteRelationship(ctx context.Context, id string) error {
	return wrap("delete relationship", a.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.DeleteRelationship(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a.auditEntry(ctx, "DeleteRelationship", "", "", "relationship "+id))
	}))
}
