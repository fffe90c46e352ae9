package app

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// TransferOwnership moves every customer of t.FromOwner matching t.Filter to
// t.ToOwner in one transaction, recording each change in the customer's
// history and publishing one OwnershipChanged per customer. It returns how
// many customers moved.
func (a *Service) TransferOwnership(ctx context.Context, t domain.Transfer) (int, error) {
	t, err := t.Normalize()
	if err != nil {
		return 0, err
	}
	if err := callerOf(ctx).Scope.CheckPlace("to_team_id", t.ToTeam); err != nil {
		return 0, err
	}
	var n int
	err = a.inTx(ctx, func(tx domain.Tx) error {
		owned, err := tx.OwnedBy(ctx, t.FromOwner, t.Filter)
		if err != nil {
			return err
		}
		now, caller := a.clock(), callerOf(ctx)
		var changes []domain.OwnershipChange
		var evs []domain.Event
		for _, o := range owned {
			if !caller.Scope.Owns(t.FromOwner, o.TeamID) {
				continue // a manager moves only their teams' customers
			}
			if c, ok := t.Change(o.ID, t.FromOwner, o.TeamID, caller.Name(), now); ok {
				changes = append(changes, c)
				evs = append(evs, domain.OwnershipChanged{Change: c})
			}
		}
		n = len(changes)
		if n == 0 {
			return nil
		}
		if err := tx.TransferOwnership(ctx, changes, now); err != nil {
			return err
		}
		// One entry for the transfer and one per customer, so each
		// customer's audit trail shows the move.
		detail := fmt.Sprintf("from=%s to=%s team=%s filter=%q count=%d", t.FromOwner, t.ToOwner, t.ToTeam, redactFilter(t.Filter), n)
		entries := []domain.AuditEntry{a.auditEntry(ctx, "TransferOwnership", "", t.Reason, detail)}
		for _, c := range changes {
			entries = append(entries, a.auditEntry(ctx, "TransferOwnership", c.CustomerID, t.Reason,
				fmt.Sprintf("owner %s -> %s, team %s -> %s", c.FromOwner, c.ToOwner, c.FromTeam, c.ToTeam)))
		}
		if err := tx.Audit(ctx, entries...); err != nil {
			return err
		}
		return tx.Publish(ctx, evs...)
	})
	return n, wrap("transfer ownership", err)
}

// OwnershipChanges returns a page of a customer's ownership history, newest
// first, and the offset of the next page (0 on the last).
func (a *Service) OwnershipChanges(ctx context.Context, customerID string, size, offset int) ([]domain.OwnershipChange, int, error) {
	size, err := pageSize(size, domain.DefaultPageSize, domain.MaxPageSize)
	if err != nil {
		return nil, 0, err
	}
	c, err := resolve(ctx, a.store, customerID)
	if err != nil {
		return nil, 0, wrap("ownership changes", err)
	}
	rows, err := a.store.OwnershipChanges(ctx, c.ID, size+1, offset)
	if err != nil {
		return nil, 0, wrap("ownership changes", err)
	}
	if len(rows) > size {
		return rows[:size], offset + size, nil
	}
	return rows, 0, nil
}
