package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// UseTimeZone makes zone the calendar of the store's day and month
// buckets: purchases and returns recorded from now on are bucketed in it,
// and facts read carry it. When the stored buckets are in another zone
// (UTC for data recorded before the setting existed, or an earlier
// setting) they are recomputed first, in one transaction holding the zone
// row: replicas starting together re-bucket once, and a later one finds
// the work done. Purchases the previous release stored without a day
// during a rolling update get theirs too. Call it before the store is
// used.
func (s *Store) UseTimeZone(ctx context.Context, zone *time.Location) error {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		lock := ""
		if tx.Dialect() == sqldb.Postgres {
			lock = " FOR UPDATE"
		}
		var stored string
		if err := tx.QueryRow(ctx, `SELECT time_zone FROM bucket_zone WHERE id = 1`+lock).Scan(&stored); err != nil {
			return err
		}
		if stored == zone.String() {
			return rebucket(ctx, tx, zone, true)
		}
		if err := rebucket(ctx, tx, zone, false); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE bucket_zone SET time_zone = ? WHERE id = 1`, zone.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("use time zone %s: %w", zone, err)
	}
	s.zone = zone
	return nil
}

// rebucket recomputes in zone every purchase's day and every purchase and
// return line's month; with missing, only the days of purchases stored
// without one (a line's month bears no such mark: lines the previous
// release stored during a rolling update keep their UTC month). The new
// buckets are computed in Go (the zone's rules, daylight saving included)
// and written through a temporary table, one statement per table.
func rebucket(ctx context.Context, tx *sqldb.Tx, zone *time.Location, missing bool) error {
	query := `SELECT interaction_id, occur_time FROM purchases UNION ALL SELECT interaction_id, occur_time FROM returns`
	if missing {
		query = `SELECT interaction_id, occur_time FROM purchases WHERE local_day IS NULL`
	}
	type row struct {
		id string
		at int64
	}
	rows, err := sqldb.QueryAll(ctx, tx, func(sc sqldb.Scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.at)
	}, query)
	if err != nil || len(rows) == 0 {
		return err
	}
	const tmp = "rebucket"
	pg := tx.Dialect() == sqldb.Postgres
	create := `CREATE TEMP TABLE ` + tmp + ` (interaction_id TEXT PRIMARY KEY, local_day BIGINT NOT NULL, month INTEGER NOT NULL)`
	if pg {
		create += ` ON COMMIT DROP`
	} else if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS temp.`+tmp); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, create); err != nil {
		return err
	}
	const batch = 10000
	vals := make([][]any, 0, min(batch, len(rows)))
	for i, r := range rows {
		at := sqldb.FromMicros(r.at)
		vals = append(vals, []any{r.id, domain.Day(at, zone), domain.MonthIndex(at, zone)})
		if len(vals) == batch || i == len(rows)-1 {
			if err := tx.InsertRows(ctx, tmp, []string{"interaction_id", "local_day", "month"}, vals); err != nil {
				return err
			}
			vals = vals[:0]
		}
	}
	if pg {
		if _, err := tx.Exec(ctx, `ANALYZE `+tmp); err != nil {
			return err
		}
	}
	updates := []string{`UPDATE purchases SET local_day = (SELECT b.local_day FROM ` + tmp + ` b WHERE b.interaction_id = purchases.interaction_id)
		WHERE interaction_id IN (SELECT interaction_id FROM ` + tmp + `)`}
	if !missing {
		updates = append(updates, `UPDATE purchase_lines SET month = (SELECT b.month FROM `+tmp+` b WHERE b.interaction_id = purchase_lines.interaction_id)
			WHERE interaction_id IN (SELECT interaction_id FROM `+tmp+`)`)
	}
	for _, q := range updates {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("re-bucket: %w", err)
		}
	}
	if !pg {
		if _, err := tx.Exec(ctx, `DROP TABLE temp.`+tmp); err != nil {
			return err
		}
	}
	return nil
}
