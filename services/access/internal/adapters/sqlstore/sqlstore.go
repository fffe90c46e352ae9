// Package sqlstore keeps API keys in SQLite or PostgreSQL.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/access/internal/domain"
)

// Store implements domain.Store.
type Store struct {
	db *sqldb.DB
}

// New returns a store on db, migrated.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

const columns = `id, name, subject, roles, teams, permissions, creator, secret_hash, create_time, expire_time, revoke_time`

// Insert implements domain.Store.
func (s *Store) Insert(ctx context.Context, k domain.APIKey) error {
	roles, teams, perms, err := lists(k)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO api_keys (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Subject, roles, teams, perms, k.Creator, k.SecretHash,
		micros(k.CreateTime), micros(k.ExpireTime), micros(k.RevokeTime))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// Key implements domain.Store.
func (s *Store) Key(ctx context.Context, id string) (domain.APIKey, error) {
	k, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.APIKey{}, domain.ErrNotFound
	}
	return k, err
}

// Keys implements domain.Store.
func (s *Store) Keys(ctx context.Context, showRevoked bool, limit, offset int) ([]domain.APIKey, error) {
	where := `WHERE revoke_time = 0`
	if showRevoked {
		where = ``
	}
	keys, err := sqldb.QueryAll(ctx, s.db, scan, `SELECT `+columns+` FROM api_keys `+where+` ORDER BY create_time DESC, id LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// Update implements domain.Store.
func (s *Store) Update(ctx context.Context, k domain.APIKey) error {
	res, err := s.db.Exec(ctx, `UPDATE api_keys SET revoke_time = ? WHERE id = ?`, micros(k.RevokeTime), k.ID)
	if err != nil {
		return fmt.Errorf("update api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	return nil
}

func lists(k domain.APIKey) (roles, teams, perms string, err error) {
	enc := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, e := json.Marshal(v)
		if e != nil {
			err = e
		}
		return string(b)
	}
	return enc(k.Roles), enc(k.Teams), enc(k.Permissions), err
}

func scan(row sqldb.Scanner) (domain.APIKey, error) {
	var (
		k                          domain.APIKey
		roles, teams, perms        string
		createUs, expireUs, revoke int64
	)
	if err := row.Scan(&k.ID, &k.Name, &k.Subject, &roles, &teams, &perms, &k.Creator, &k.SecretHash, &createUs, &expireUs, &revoke); err != nil {
		return domain.APIKey{}, err
	}
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{roles, &k.Roles}, {teams, &k.Teams}, {perms, &k.Permissions}} {
		if err := json.Unmarshal([]byte(l.raw), l.dst); err != nil {
			return domain.APIKey{}, fmt.Errorf("api key %s: %w", k.ID, err)
		}
	}
	k.CreateTime, k.ExpireTime, k.RevokeTime = fromMicros(createUs), fromMicros(expireUs), fromMicros(revoke)
	return k, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return sqldb.Micros(t)
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return sqldb.FromMicros(us)
}
