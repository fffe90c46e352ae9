// Package caps counts messages against the frequency caps: in Redis when
// it is configured (shared by every replica, one round trip per batch), in
// the service's database otherwise.
package caps

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// keyTTL outlives the local day of every time zone the key's day may be.
const keyTTL = 50 * time.Hour

// Redis is a domain.Capper on Redis.
type Redis struct {
	client *redis.Client
	prefix string
}

var _ domain.Capper = (*Redis)(nil)

// NewRedis returns a Redis capper keeping its counters under prefix.
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// reserveScript counts each key still under the limit, atomically for
// the whole batch, so two replicas never both take a customer's last slot.
var reserveScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local out = {}
for i, k in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', k) or '0')
  if n < limit then
    redis.call('INCR', k)
    redis.call('EXPIRE', k, ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`)

// Reserve counts one message per key below limit.
func (r *Redis) Reserve(ctx context.Context, keys []domain.CapKey, limit int) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = r.prefix + "cap:" + k.CustomerID + ":" + string(k.Channel) + ":" + k.Day
	}
	res, err := reserveScript.Run(ctx, r.client, ks, limit, int(keyTTL.Seconds())).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("reserve frequency caps: %w", err)
	}
	out := make([]bool, len(keys))
	for i := range out {
		out[i] = i < len(res) && res[i] == 1
	}
	return out, nil
}

// SQL is a domain.Capper on the service's database.
type SQL struct {
	db *sqldb.DB
}

var _ domain.Capper = (*SQL)(nil)

// NewSQL returns a database capper (the frequency_counts table of the
// service's migrations).
func NewSQL(db *sqldb.DB) *SQL { return &SQL{db: db} }

// Reserve counts one message per key below limit: a conditional upsert
// per key, all in one transaction.
func (s *SQL) Reserve(ctx context.Context, keys []domain.CapKey, limit int) ([]bool, error) {
	out := make([]bool, len(keys))
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for i, k := range keys {
			res, err := tx.Exec(ctx, `INSERT INTO frequency_counts (customer_id, channel, day, count) VALUES (?, ?, ?, 1)
				ON CONFLICT (customer_id, channel, day) DO UPDATE SET count = frequency_counts.count + 1
				WHERE frequency_counts.count < ?`, k.CustomerID, string(k.Channel), k.Day, limit)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out[i] = n == 1 && limit > 0
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reserve frequency caps: %w", err)
	}
	return out, nil
}
