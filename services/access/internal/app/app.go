// Package app holds the access service's use cases: making, listing and
// revoking API keys, and trading a key for a bearer token.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/services/access/internal/domain"
)

// Service runs the use cases on a store.
type Service struct {
	store    domain.Store
	tokens   auth.Config
	tokenTTL time.Duration
	now      func() time.Time
}

// New returns a Service keeping keys in store and signing tokens with tokens,
// each valid for tokenTTL (less when its key expires sooner).
func New(store domain.Store, tokens auth.Config, tokenTTL time.Duration) *Service {
	return &Service{store: store, tokens: tokens, tokenTTL: tokenTTL, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// knownRoles are the roles a key may carry: every role but Service, which
// is guanxi's own processes'.
func knownRoles() []string {
	var out []string
	for _, r := range auth.Roles {
		if r != auth.Service {
			out = append(out, string(r))
		}
	}
	return out
}

// CreateAPIKey makes a key for spec, created by creator, and returns it with
// the whole key, shown this once.
func (a *Service) CreateAPIKey(ctx context.Context, spec domain.Spec, creator string) (domain.APIKey, string, error) {
	k, key, err := domain.NewAPIKey(spec, knownRoles(), creator, a.now())
	if err != nil {
		return domain.APIKey{}, "", err
	}
	if err := a.store.Insert(ctx, k); err != nil {
		return domain.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, key, nil
}

// ListAPIKeys returns a page of keys, newest first.
func (a *Service) ListAPIKeys(ctx context.Context, showRevoked bool, limit, offset int) ([]domain.APIKey, error) {
	keys, err := a.store.Keys(ctx, showRevoked, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey ends the key with id.
func (a *Service) RevokeAPIKey(ctx context.Context, id string) (domain.APIKey, error) {
	k, err := a.store.Key(ctx, id)
	if err != nil {
		return domain.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	if k, err = k.Revoke(a.now()); err != nil {
		return domain.APIKey{}, err
	}
	if err := a.store.Update(ctx, k); err != nil {
		return domain.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return k, nil
}

// ExchangeAPIKey returns a bearer token of key's identity and when it ends,
// or domain.ErrInvalidKey.
func (a *Service) ExchangeAPIKey(ctx context.Context, key string) (string, time.Time, error) {
	id, secret, err := domain.ParseKey(key)
	if err != nil {
		return "", time.Time{}, err
	}
	k, err := a.store.Key(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return "", time.Time{}, domain.ErrInvalidKey
	case err != nil:
		return "", time.Time{}, fmt.Errorf("exchange api key: %w", err)
	}
	now := a.now()
	if err := k.Check(secret, now); err != nil {
		return "", time.Time{}, err
	}
	ttl := a.tokenTTL
	if !k.ExpireTime.IsZero() && k.ExpireTime.Sub(now) < ttl {
		ttl = k.ExpireTime.Sub(now)
	}
	caller := auth.Identity{Subject: k.Subject, Teams: k.Teams, Permissions: k.Permissions}
	for _, r := range k.Roles {
		caller.Roles = append(caller.Roles, auth.Role(r))
	}
	token, err := auth.Issue(a.tokens, caller, ttl)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("exchange api key: %w", err)
	}
	return token, now.Add(ttl), nil
}
