// Package hotpath is what the customer service's hot reads go through in
// front of its store: GetCustomer's customer from a read-through cache
// (platform/readcache, in process or in Redis), and the audit entry every
// read writes committed in one transaction with those of the reads beside
// it (a group commit). Every change the store commits drops the customers
// its events name from the cache; the other replicas drop them on the
// CUSTOMER events (see ChangedCustomers), and the TTL bounds what both miss.
package hotpath

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/guanxi-crm/guanxi/platform/groupcommit"
	"github.com/guanxi-crm/guanxi/platform/readcache"

	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Store is a domain.Store reading customers through a cache and writing
// the reads' audit entries in groups.
type Store struct {
	domain.Store
	customers *readcache.Cache[domain.Customer]
	audits    *groupcommit.Group[[]domain.AuditEntry]
}

// New returns store with customers (nil: none) in front of its reads of
// customers outside transactions, and the reads' audit entries written in
// groups.
func New(store domain.Store, customers *readcache.Cache[domain.Customer]) *Store {
	write := func(ctx context.Context, groups [][]domain.AuditEntry) error {
		return store.Audit(ctx, slices.Concat(groups...)...)
	}
	return &Store{Store: store, customers: customers, audits: groupcommit.New(write)}
}

// Customer implements domain.Reader through the cache: a customer at most
// the cache's TTL old. Reads inside a transaction (domain.Tx) always read
// the database.
func (s *Store) Customer(ctx context.Context, id string) (domain.Customer, error) {
	return s.customers.Get(ctx, id, func(ctx context.Context) (domain.Customer, error) {
		return s.Store.Customer(ctx, id)
	})
}

// Audit implements domain.Store: the entries are committed, durably,
// before the read answers, in one transaction with those of the reads
// running beside it (see groupcommit.Group): under load one commit and
// one WAL flush serve many reads, where each paying for its own held
// GetCustomer to a twentieth of a bare gRPC call; and no read answers
// unaudited, whatever crashes after.
func (s *Store) Audit(ctx context.Context, entries ...domain.AuditEntry) error {
	return s.audits.Do(ctx, entries)
}

// InTx implements domain.Store, dropping the customers the transaction's
// events name from the cache once it has committed.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	t := &tx{}
	err := s.Store.InTx(ctx, func(inner domain.Tx) error {
		t.Tx = inner
		return fn(t)
	})
	if err == nil && len(t.changed) > 0 {
		s.customers.Invalidate(context.WithoutCancel(ctx), t.changed...)
	}
	return err
}

// tx notes the customers whose events it publishes.
type tx struct {
	domain.Tx
	changed []string
}

func (t *tx) Publish(ctx context.Context, evs ...domain.Event) error {
	for _, ev := range evs {
		t.changed = append(t.changed, ev.CustomerID())
		if m, ok := ev.(domain.CustomerMerged); ok {
			t.changed = append(t.changed, m.MergedID)
		}
	}
	return t.Tx.Publish(ctx, evs...)
}

// EncodeCustomer and DecodeCustomer are a customer's form in Redis.
func EncodeCustomer(c domain.Customer) ([]byte, error) { return json.Marshal(c) }

// DecodeCustomer is the reverse of EncodeCustomer.
func DecodeCustomer(b []byte) (domain.Customer, error) {
	var c domain.Customer
	err := json.Unmarshal(b, &c)
	return c, err
}
