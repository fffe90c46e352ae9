package hotpath_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guanxi-crm/guanxi/platform/readcache"

	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/hotpath"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// store is a domain.Store holding one customer, counting its reads.
type store struct {
	domain.Store
	c     domain.Customer
	reads int
}

func (s *store) Customer(context.Context, string) (domain.Customer, error) {
	s.reads++
	return s.c, nil
}

func (s *store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error { return fn(tx{}) }

type tx struct{ domain.Tx }

func (tx) Publish(context.Context, ...domain.Event) error { return nil }

func customer(t *testing.T) domain.Customer {
	t.Helper()
	now := time.Date(2025, 2, 3, 4, 5, 6, 7000, time.UTC)
	c, err := domain.NewCustomer("0190a1b2-0000-7000-8000-000000000001", domain.Profile{
		Type: domain.TypePerson, DisplayName: "王芳", Email: "wang@example.cn", OwnerID: "am-li",
		Birthday: &domain.Date{Year: 1990, Month: 5, Day: 4}, Tags: []string{"vip"},
	}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	c.Profile.Attributes = map[string]domain.AttributeValue{"spend": {Type: domain.AttributeType(2), Num: 1234.5}}
	c.Consents = []domain.Consent{{Channel: domain.ChannelSMS, Status: domain.ConsentOptedOut, Source: "call", UpdateTime: now}}
	c.MergedIDs = []string{"0190a1b2-0000-7000-8000-000000000002"}
	return c
}

// TestCachedUntilItsEventCommits: reads come from the cache until a
// transaction publishes an event naming the customer.
func TestCachedUntilItsEventCommits(t *testing.T) {
	ctx := context.Background()
	inner := &store{c: customer(t)}
	s := hotpath.New(inner, readcache.New(readcache.Options[domain.Customer]{TTL: time.Hour}))
	for range 3 {
		if _, err := s.Customer(ctx, inner.c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if inner.reads != 1 {
		t.Fatalf("3 reads reached the store %d times, want 1", inner.reads)
	}
	if err := s.InTx(ctx, func(tx domain.Tx) error { return errors.New("rolled back") }); err == nil {
		t.Fatal("the transaction's error was lost")
	}
	err := s.InTx(ctx, func(tx domain.Tx) error {
		return tx.Publish(ctx, domain.CustomerUpdated{Customer: inner.c, ChangedFields: []domain.Field{"display_name"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Customer(ctx, inner.c.ID); err != nil || inner.reads != 2 {
		t.Fatalf("after the change's commit, %d store reads (%v), want 2", inner.reads, err)
	}
}

// TestCustomerRoundTripsThroughRedisForm: what Redis holds decodes to the
// customer that was read.
func TestCustomerRoundTripsThroughRedisForm(t *testing.T) {
	c := customer(t)
	b, err := hotpath.EncodeCustomer(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := hotpath.DecodeCustomer(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, got); d != "" {
		t.Fatalf("decoded customer differs (-want +got):\n%s", d)
	}
}

// auditStore is a domain.Store keeping the audit entries it commits, or
// failing while broken.
type auditStore struct {
	domain.Store
	mu      sync.Mutex
	ids     map[string]bool
	commits int
	broken  bool
}

func (s *auditStore) Audit(_ context.Context, entries ...domain.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return errors.New("database down")
	}
	s.commits++
	for _, e := range entries {
		s.ids[e.ID] = true
	}
	return nil
}

// TestReadsAnswerAuditedOnly: a read's Audit returns once its entries are
// committed, concurrent reads share commits, and a read whose entries
// cannot be written fails rather than answer unaudited.
func TestReadsAnswerAuditedOnly(t *testing.T) {
	ctx := context.Background()
	inner := &auditStore{ids: map[string]bool{}}
	s := hotpath.New(inner, nil)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			id := fmt.Sprintf("entry-%d", i)
			if err := s.Audit(ctx, domain.AuditEntry{ID: id}); err != nil {
				t.Error(err)
				return
			}
			inner.mu.Lock()
			defer inner.mu.Unlock()
			if !inner.ids[id] {
				t.Errorf("%s: Audit returned before its entry was committed", id)
			}
		})
	}
	wg.Wait()
	if len(inner.ids) != 200 {
		t.Errorf("%d of 200 entries committed", len(inner.ids))
	}
	t.Logf("200 reads' entries in %d commits", inner.commits)
	inner.mu.Lock()
	inner.broken = true
	inner.mu.Unlock()
	if err := s.Audit(ctx, domain.AuditEntry{ID: "lost"}); err == nil {
		t.Error("Audit succeeded with the database down: the read would answer unaudited")
	}
}
