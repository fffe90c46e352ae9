package app

import (
	"context"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// ListAuditEntries returns a page of audit entries, newest first, and the
// offset of the next page (0 on the last). Entries about a customer include
// those about the customers merged into it.
func (a *Service) ListAuditEntries(ctx context.Context, q domain.AuditQuery) ([]domain.AuditEntry, int, error) {
	size, err := pageSize(q.Limit, domain.DefaultPageSize, domain.MaxPageSize)
	if err != nil {
		return nil, 0, err
	}
	if len(q.CustomerIDs) == 1 {
		if c, err := resolve(ctx, a.store, q.CustomerIDs[0]); err == nil {
			q.CustomerIDs = append([]string{c.ID}, c.MergedIDs...)
		}
	}
	q.Limit = size + 1
	rows, err := a.store.AuditEntries(ctx, q)
	if err != nil {
		return nil, 0, wrap("list audit entries", err)
	}
	if len(rows) > size {
		return rows[:size], q.Offset + size, nil
	}
	return rows, 0, nil
}
