package domain

import "context"

// Store keeps the keys.
type Store interface {
	Insert(ctx context.Context, k APIKey) error
	// Key returns the key with id, or ErrNotFound.
	Key(ctx context.Context, id string) (APIKey, error)
	// Keys returns keys newest first.
	Keys(ctx context.Context, showRevoked bool, limit, offset int) ([]APIKey, error)
	// Update writes k's revoke time.
	Update(ctx context.Context, k APIKey) error
}
