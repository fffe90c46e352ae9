package events

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// pruneChunk is how many inbox entries one statement of PruneInbox deletes:
// small enough that a pruning after a busy day holds no lock long, nor
// writes one huge WAL record.
const pruneChunk = 10000

// PruneInbox deletes the inbox entries of events handled before before,
// in chunks, and returns how many it deleted. An entry only has to outlive
// the ways its event can come back (see servicehost.Consumers): past that
// horizon it is dead weight on every MarkHandled.
func PruneInbox(ctx context.Context, db *sqldb.DB, before time.Time) (int64, error) {
	row := "rowid"
	if db.Dialect == sqldb.Postgres {
		row = "ctid"
	}
	q := `DELETE FROM inbox WHERE ` + row + ` IN (SELECT ` + row + ` FROM inbox WHERE handled_at < ? LIMIT ` +
		strconv.Itoa(pruneChunk) + `)`
	var total int64
	for {
		res, err := db.Exec(ctx, q, sqldb.Micros(before))
		if err != nil {
			return total, fmt.Errorf("prune inbox: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune inbox: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
