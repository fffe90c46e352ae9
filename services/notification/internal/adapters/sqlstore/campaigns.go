package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

const campaignColumns = `id, name, segment_id, kind, schedule_time, rate_per_second, state, processed, request_id, create_time, start_time, end_time, error`

// Campaign returns a campaign with its counts.
func (s *Store) Campaign(ctx context.Context, id string) (domain.Campaign, error) {
	rows, err := s.db.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("get campaign: %w", err)
	}
	cs, err := scanCampaigns(rows)
	if err != nil {
		return domain.Campaign{}, err
	}
	if len(cs) == 0 {
		return domain.Campaign{}, fmt.Errorf("get campaign %s: %w", id, domain.ErrNotFound)
	}
	if err := s.addCounts(ctx, &cs[0]); err != nil {
		return domain.Campaign{}, err
	}
	return cs[0], nil
}

func (s *Store) addCounts(ctx context.Context, c *domain.Campaign) error {
	rows, err := s.db.Query(ctx, `SELECT status, COUNT(*) FROM messages WHERE campaign_id = ? GROUP BY status`, c.ID)
	if err != nil {
		return fmt.Errorf("count campaign messages: %w", err)
	}
	defer rows.Close()
	c.Counts = map[domain.Status]int64{}
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return fmt.Errorf("scan campaign count: %w", err)
		}
		c.Counts[domain.Status(status)] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count campaign messages: %w", err)
	}
	return nil
}

// ListCampaigns returns campaigns newest first, with counts.
func (s *Store) ListCampaigns(ctx context.Context, after *domain.Cursor, limit int) ([]domain.Campaign, error) {
	q := `SELECT ` + campaignColumns + ` FROM campaigns`
	var args []any
	if after != nil {
		at := sqldb.Micros(after.CreateTime)
		q += ` WHERE (create_time < ? OR (create_time = ? AND id < ?))`
		args = append(args, at, at, after.ID)
	}
	q += ` ORDER BY create_time DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	cs, err := scanCampaigns(rows)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if err := s.addCounts(ctx, &cs[i]); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// ClaimCampaign reserves one due campaign no other runner holds.
func (s *Store) ClaimCampaign(ctx context.Context, now time.Time, lease time.Duration) (domain.Campaign, bool, error) {
	at := sqldb.Micros(now)
	lock := ""
	if s.db.Dialect == sqldb.Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := s.db.Query(ctx, `UPDATE campaigns SET claimed_until = ? WHERE id IN (
		SELECT id FROM campaigns WHERE (state = 'RUNNING' OR (state = 'SCHEDULED' AND schedule_time <= ?)) AND claimed_until <= ?
		ORDER BY create_time, id LIMIT 1`+lock+`) RETURNING `+campaignColumns,
		sqldb.Micros(now.Add(lease)), at, at)
	if err != nil {
		return domain.Campaign{}, false, fmt.Errorf("claim campaign: %w", err)
	}
	cs, err := scanCampaigns(rows)
	if err != nil || len(cs) == 0 {
		return domain.Campaign{}, false, err
	}
	return cs[0], true, nil
}

func scanCampaigns(rows *sql.Rows) ([]domain.Campaign, error) {
	defer rows.Close()
	var out []domain.Campaign
	for rows.Next() {
		var (
			c                            domain.Campaign
			state                        string
			schedule, create, start, end int64
			requestID                    sql.NullString
		)
		if err := rows.Scan(&c.ID, &c.Name, &c.SegmentID, &c.Kind, &schedule, &c.RatePerSecond, &state, &c.Processed,
			&requestID, &create, &start, &end, &c.Error); err != nil {
			return nil, fmt.Errorf("scan campaign: %w", err)
		}
		c.State = domain.CampaignState(state)
		c.RequestID = requestID.String
		c.ScheduleTime, c.CreateTime = fromMicrosOrZero(schedule), sqldb.FromMicros(create)
		c.StartTime, c.EndTime = fromMicrosOrZero(start), fromMicrosOrZero(end)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan campaigns: %w", err)
	}
	return out, nil
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

// CreateCampaign stores a new campaign.
func (t *Tx) CreateCampaign(ctx context.Context, c domain.Campaign) error {
	var requestID any
	if c.RequestID != "" {
		requestID = c.RequestID
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.SegmentID, c.Kind, microsOrZero(c.ScheduleTime), c.RatePerSecond, string(c.State), c.Processed,
		requestID, sqldb.Micros(c.CreateTime), microsOrZero(c.StartTime), microsOrZero(c.EndTime), c.Error)
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	return nil
}

// CampaignByRequestID finds the campaign created with requestID.
func (t *Tx) CampaignByRequestID(ctx context.Context, requestID string) (domain.Campaign, bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE request_id = ?`, requestID)
	if err != nil {
		return domain.Campaign{}, false, fmt.Errorf("find campaign by request id: %w", err)
	}
	cs, err := scanCampaigns(rows)
	if err != nil || len(cs) == 0 {
		return domain.Campaign{}, false, err
	}
	return cs[0], true, nil
}

// LockCampaign returns a campaign for update.
func (t *Tx) LockCampaign(ctx context.Context, id string) (domain.Campaign, error) {
	q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE id = ?`
	if t.tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := t.tx.Query(ctx, q, id)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("lock campaign: %w", err)
	}
	cs, err := scanCampaigns(rows)
	if err != nil {
		return domain.Campaign{}, err
	}
	if len(cs) == 0 {
		return domain.Campaign{}, fmt.Errorf("lock campaign %s: %w", id, domain.ErrNotFound)
	}
	return cs[0], nil
}

// UpdateCampaign stores a campaign's state, progress and times.
func (t *Tx) UpdateCampaign(ctx context.Context, c domain.Campaign, claimUntil time.Time) error {
	q := `UPDATE campaigns SET state = ?, processed = ?, start_time = ?, end_time = ?, error = ?`
	args := []any{string(c.State), c.Processed, microsOrZero(c.StartTime), microsOrZero(c.EndTime), c.Error}
	if !claimUntil.IsZero() {
		q += `, claimed_until = ?`
		args = append(args, sqldb.Micros(claimUntil))
	}
	_, err := t.tx.Exec(ctx, q+` WHERE id = ?`, append(args, c.ID)...)
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	return nil
}

// ReleaseCampaign ends a runner's claim.
func (t *Tx) ReleaseCampaign(ctx context.Context, id string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE campaigns SET claimed_until = 0 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("release campaign: %w", err)
	}
	return nil
}

// SuppressCampaignQueued suppresses the campaign's queued messages.
func (t *Tx) SuppressCampaignQueued(ctx context.Context, campaignID, reason string) ([]domain.Message, error) {
	rows, err := t.tx.Query(ctx, `UPDATE messages SET status = 'SUPPRESSED', status_reason = ?, claimed_until = 0
		WHERE campaign_id = ? AND status = 'QUEUED' RETURNING `+messageColumns, reason, campaignID)
	if err != nil {
		return nil, fmt.Errorf("suppress campaign messages: %w", err)
	}
	return scanMessages(rows)
}
