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
	client redis.UniversalClient
	prefix string
}

var _ domain.Capper = (*Redis)(nil)

// NewRedis returns a Redis capper keeping its counters under prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// reserveScript counts each key still under the limit, atomically for
// the keys of one call, so two replicas never both take a customer's last
// slot. It is called once per customer: every key of a call must hash to
// one slot of a Redis Cluster, which the customer's hash tag ensures.
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

// Key is the Redis key of a customer's count on a channel and day. The
// customer id is its hash tag ({id}), so on a Redis Cluster all of a
// customer's counters live in one slot and one script call can check and
// count them together.
func (r *Redis) Key(k domain.CapKey) string {
	return r.prefix + "cap:{" + k.CustomerID + "}:" + string(k.Channel) + ":" + k.Day
}

// Reserve counts one message per key below limit: one script call per
// customer (atomic for that customer's keys, in the batch's order), all in
// one pipeline, which a cluster client splits by node.
func (r *Redis) Reserve(ctx context.Context, keys []domain.CapKey, limit int) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	// The batch's keys by customer, in order of first appearance.
	var groups [][]int
	byCustomer := map[string]int{}
	for i, k := range keys {
		g, ok := byCustomer[k.CustomerID]
		if !ok {
			g = len(groups)
			byCustomer[k.CustomerID] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	redisKeys := func(group []int) []string {
		ks := make([]string, len(group))
		for j, i := range group {
			ks[j] = r.Key(keys[i])
		}
		return ks
	}
	ttl := int(keyTTL.Seconds())
	cmds := make([]*redis.Cmd, len(groups))
	run := func(which []int, eval bool) {
		// Each command's own error is read below.
		_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, g := range which {
				if eval {
					cmds[g] = reserveScript.Eval(ctx, p, redisKeys(groups[g]), limit, ttl)
				} else {
					cmds[g] = reserveScript.EvalSha(ctx, p, redisKeys(groups[g]), limit, ttl)
				}
			}
			return nil
		})
	}
	all := make([]int, len(groups))
	for g := range all {
		all[g] = g
	}
	run(all, false)
	// A node that never saw the script (or lost it in a restart) ran
	// nothing for those customers: send them the script whole.
	var unknown []int
	for g, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			unknown = append(unknown, g)
		}
	}
	if len(unknown) > 0 {
		run(unknown, true)
	}
	out := make([]bool, len(keys))
	var failed error
	for g, group := range groups {
		res, err := cmds[g].Int64Slice()
		if err != nil {
			failed = err
			continue
		}
		for j, i := range group {
			out[i] = j < len(res) && res[j] == 1
		}
	}
	if failed != nil {
		// The batch fails as a whole and is dispatched again: take back
		// what the customers whose calls went through were counted (a
		// cluster node down fails only its slots' calls).
		r.release(ctx, keys, out)
		return nil, fmt.Errorf("reserve frequency caps: %w", failed)
	}
	return out, nil
}

// release takes back the counts Reserve made for the keys counted, best
// effort: a count it cannot take back only holds a message back a day.
func (r *Redis) release(ctx context.Context, keys []domain.CapKey, counted []bool) {
	_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ok := range counted {
			if ok {
				p.Decr(ctx, r.Key(keys[i]))
			}
		}
		return nil
	})
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
