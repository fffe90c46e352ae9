package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

const recipientColumns = `customer_id, name, email, phone, locale, time_zone, birth_month, birth_day`

// Recipient returns the customer's read model.
func (s *Store) Recipient(ctx context.Context, customerID string) (domain.Recipient, bool, error) {
	rows, err := s.db.Query(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE customer_id = ?`, customerID)
	if err != nil {
		return domain.Recipient{}, false, fmt.Errorf("find recipient: %w", err)
	}
	rs, err := scanRecipients(rows)
	if err != nil || len(rs) == 0 {
		return domain.Recipient{}, false, err
	}
	return rs[0], true, nil
}

// Recipients returns the known customers among ids.
func (s *Store) Recipients(ctx context.Context, customerIDs []string) (map[string]domain.Recipient, error) {
	out := make(map[string]domain.Recipient, len(customerIDs))
	for chunk := range slices.Chunk(customerIDs, 5000) {
		rows, err := s.db.Query(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE customer_id IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("load recipients: %w", err)
		}
		rs, err := scanRecipients(rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out[r.CustomerID] = r
		}
	}
	return out, nil
}

// RecipientsByBirthday returns customers born on one of dates.
func (s *Store) RecipientsByBirthday(ctx context.Context, dates []domain.MonthDay, after string, limit int) ([]domain.Recipient, error) {
	if len(dates) == 0 {
		return nil, nil
	}
	var ors []string
	var args []any
	for _, d := range dates {
		ors = append(ors, `(birth_month = ? AND birth_day = ?)`)
		args = append(args, d.Month, d.Day)
	}
	args = append(args, after, limit)
	rows, err := s.db.Query(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE (`+strings.Join(ors, " OR ")+`)
		AND customer_id > ? ORDER BY customer_id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find birthdays: %w", err)
	}
	return scanRecipients(rows)
}

// RecipientsPage returns customers by id.
func (s *Store) RecipientsPage(ctx context.Context, after string, limit int) ([]domain.Recipient, error) {
	rows, err := s.db.Query(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE customer_id > ? ORDER BY customer_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("page recipients: %w", err)
	}
	return scanRecipients(rows)
}

// ProgramMembers returns a program's known members by id.
// Program "*" stands for every program.
func (s *Store) ProgramMembers(ctx context.Context, programID, after string, limit int) ([]domain.Recipient, error) {
	rows, err := s.db.Query(ctx, `SELECT `+recipientColumns+` FROM recipients r WHERE customer_id > ? AND EXISTS (
		SELECT 1 FROM program_members m WHERE m.customer_id = r.customer_id AND (m.program_id = ? OR ? = '*'))
		ORDER BY customer_id LIMIT ?`, after, programID, programID, limit)
	if err != nil {
		return nil, fmt.Errorf("page program members: %w", err)
	}
	return scanRecipients(rows)
}

func scanRecipients(rows *sql.Rows) ([]domain.Recipient, error) {
	defer rows.Close()
	var out []domain.Recipient
	for rows.Next() {
		var r domain.Recipient
		if err := rows.Scan(&r.CustomerID, &r.Name, &r.Email, &r.Phone, &r.Locale, &r.TimeZone, &r.BirthMonth, &r.BirthDay); err != nil {
			return nil, fmt.Errorf("scan recipient: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan recipients: %w", err)
	}
	return out, nil
}

// SaveRecipients upserts the customers' read models, the last of each
// customer, in customer order.
func (t *Tx) SaveRecipients(ctx context.Context, rs []domain.Recipient) error {
	last := map[string]domain.Recipient{}
	for _, r := range rs {
		last[r.CustomerID] = r
	}
	rows := make([][]any, 0, len(last))
	for _, id := range slices.Sorted(maps.Keys(last)) {
		r := last[id]
		rows = append(rows, []any{r.CustomerID, r.Name, r.Email, r.Phone, r.Locale, r.TimeZone, r.BirthMonth, r.BirthDay})
	}
	err := upsertRows(ctx, t.tx, `INSERT INTO recipients (`+recipientColumns+`) VALUES `, rows,
		` ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone,
		locale = excluded.locale, time_zone = excluded.time_zone, birth_month = excluded.birth_month, birth_day = excluded.birth_day`)
	if err != nil {
		return fmt.Errorf("save recipients: %w", err)
	}
	return nil
}

// DeleteRecipient removes the customer's read model and memberships.
func (t *Tx) DeleteRecipient(ctx context.Context, customerID string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM recipients WHERE customer_id = ?`, customerID); err != nil {
		return fmt.Errorf("delete recipient: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM program_members WHERE customer_id = ?`, customerID); err != nil {
		return fmt.Errorf("delete memberships: %w", err)
	}
	return nil
}

// SaveMember upserts a program membership.
func (t *Tx) SaveMember(ctx context.Context, customerID, programID, tierCode, tierName string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO program_members (program_id, customer_id, tier_code, tier_name) VALUES (?, ?, ?, ?)
		ON CONFLICT (program_id, customer_id) DO UPDATE SET tier_code = excluded.tier_code, tier_name = excluded.tier_name`,
		programID, customerID, tierCode, tierName)
	if err != nil {
		return fmt.Errorf("save member: %w", err)
	}
	return nil
}

// SaveTemplate upserts a template.
func (t *Tx) SaveTemplate(ctx context.Context, tpl domain.Template) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO templates (kind, channel, locale, subject, body, html_body, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, channel, locale) DO UPDATE SET subject = excluded.subject, body = excluded.body, html_body = excluded.html_body,
		update_time = excluded.update_time`,
		tpl.Kind, string(tpl.Channel), tpl.Locale, tpl.Subject, tpl.Body, tpl.HTMLBody, tpl.UpdateTime.UnixMicro())
	if err != nil {
		return fmt.Errorf("save template: %w", err)
	}
	return nil
}

// SavedTemplates returns every saved template.
func (s *Store) SavedTemplates(ctx context.Context) ([]domain.Template, error) {
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.Template, error) {
		var (
			t  domain.Template
			ch string
			at int64
		)
		err := s.Scan(&t.Kind, &ch, &t.Locale, &t.Subject, &t.Body, &t.HTMLBody, &at)
		t.Channel, t.UpdateTime = domain.Channel(ch), sqldb.FromMicros(at)
		return t, err
	}, `SELECT kind, channel, locale, subject, body, html_body, update_time FROM templates ORDER BY kind, channel, locale`)
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	return out, nil
}

// PendingConsentSyncs returns opt-outs to pass on, oldest first.
func (s *Store) PendingConsentSyncs(ctx context.Context, limit int) ([]domain.ConsentSync, error) {
	out, err := sqldb.QueryAll(ctx, s.db, func(s sqldb.Scanner) (domain.ConsentSync, error) {
		var (
			c          domain.ConsentSync
			ch, status string
			at         int64
		)
		err := s.Scan(&c.ID, &c.CustomerID, &ch, &status, &c.Source, &at)
		c.Channel, c.Status, c.CreateTime = domain.Channel(ch), domain.ConsentStatus(status), sqldb.FromMicros(at)
		return c, err
	}, `SELECT id, customer_id, channel, status, source, create_time FROM consent_syncs ORDER BY create_time, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("load consent syncs: %w", err)
	}
	return out, nil
}

// AddConsentSync records an opt-out to pass on.
func (t *Tx) AddConsentSync(ctx context.Context, c domain.ConsentSync) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO consent_syncs (id, customer_id, channel, status, source, create_time) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.CustomerID, string(c.Channel), string(c.Status), c.Source, c.CreateTime.UnixMicro())
	if err != nil {
		return fmt.Errorf("add consent sync: %w", err)
	}
	return nil
}

// DoneConsentSync removes a passed-on opt-out.
func (t *Tx) DoneConsentSync(ctx context.Context, id string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM consent_syncs WHERE id = ?`, id); err != nil {
		return fmt.Errorf("done consent sync: %w", err)
	}
	return nil
}
