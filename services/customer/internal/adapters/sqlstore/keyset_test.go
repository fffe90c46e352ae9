package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// testListKeyset pages customers with many ties in every sort field by
// every order ListCustomers offers, with pages of several sizes, and
// checks the pages join up to the one-page listing: no customer skipped
// or repeated where a page boundary falls among equal keys. It also
// checks the one-page listing is in the order asked for.
func testListKeyset(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	base := clock.Add(48 * time.Hour)
	names := []string{"王", "Alpha", "王", "beta", "Alpha", "Ω"}
	kinds := []domain.Kind{domain.KindDistributor, domain.KindEndCustomer, domain.KindPartner}
	stages := []domain.Stage{domain.StageActive, domain.StageLapsed}
	owners := []string{"am-li", "am-wang", "am-zhao", "am-li"}
	const n = 23
	for i := range n {
		// Every third customer shares its creation time with the one
		// before; update times tie in fours.
		c := newCustomer(t, names[i%len(names)], base.Add(time.Duration(i-i%3/2)*time.Second))
		c.Kind, c.Stage, c.OwnerID = kinds[i%len(kinds)], stages[i%len(stages)], owners[i%len(owners)]
		c.Tags = []string{"keyset"}
		c.UpdateTime = base.Add(time.Duration(i/4) * time.Minute)
		if err := create(t, s, c, ""); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	const filter = `tags:"keyset"`
	orders := []string{"", "display_name", "display_name desc", "create_time", "create_time desc",
		"update_time", "update_time desc", "kind", "kind desc", "lifecycle_stage", "lifecycle_stage desc",
		"owner_id", "owner_id desc", "kind, display_name desc", "owner_id desc, update_time, lifecycle_stage desc"}
	for _, orderBy := range orders {
		whole, next, err := s.ListCustomers(ctx, domain.ListQuery{Filter: filter, OrderBy: orderBy, Limit: 1000})
		if err != nil || next != "" || len(whole) != n {
			t.Fatalf("order_by %q in one page: %d customers, next %q, %v", orderBy, len(whole), next, err)
		}
		checkOrder(t, orderBy, whole)
		want := customerIDs(whole)
		for _, size := range []int{1, 2, 5, n} {
			var got []string
			after, pages := "", 0
			for {
				page, next, err := s.ListCustomers(ctx, domain.ListQuery{Filter: filter, OrderBy: orderBy, Limit: size, After: after})
				if err != nil {
					t.Fatalf("order_by %q, page %d of %d: %v", orderBy, pages+1, size, err)
				}
				pages++
				got = append(got, customerIDs(page)...)
				if next == "" {
					break
				}
				if pages > n {
					t.Fatalf("order_by %q by %d: paging does not end", orderBy, size)
				}
				after = next
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order_by %q, pages of %d (-one page +paged):\n%s", orderBy, size, diff)
			}
			// The last page is full when n is a multiple of the size: no
			// empty page after it.
			if wantPages := (n + size - 1) / size; pages != wantPages {
				t.Errorf("order_by %q, pages of %d: %d pages, want %d", orderBy, size, pages, wantPages)
			}
		}
	}

	// A cursor is a position in one order: garbage, and a display_name
	// cursor given to a create_time order, are refused on page_token.
	_, byName, err := s.ListCustomers(ctx, domain.ListQuery{Filter: filter, OrderBy: "display_name", Limit: 2})
	if err != nil || byName == "" {
		t.Fatalf("first page by name: next %q, %v", byName, err)
	}
	for _, bad := range []domain.ListQuery{
		{Filter: filter, Limit: 2, After: "garbage"},
		{Filter: filter, Limit: 2, After: byName},
		{Filter: filter, OrderBy: "display_name, kind", Limit: 2, After: byName},
	} {
		_, _, err := s.ListCustomers(ctx, bad)
		var ve *validation.Error
		if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != "page_token" {
			t.Errorf("ListCustomers(order %q, after %q) = %v, want a violation on page_token", bad.OrderBy, bad.After, err)
		}
	}
}

// checkOrder checks cs are sorted by orderBy's fields, compared as the
// databases compare them (byte order holds for the names used here).
func checkOrder(t *testing.T, orderBy string, cs []domain.Customer) {
	t.Helper()
	if orderBy == "" {
		orderBy = "create_time"
	}
	key := map[string]func(domain.Customer) string{
		"display_name":    func(c domain.Customer) string { return c.DisplayName },
		"create_time":     func(c domain.Customer) string { return fmt.Sprintf("%020d", c.CreateTime.UnixMicro()) },
		"update_time":     func(c domain.Customer) string { return fmt.Sprintf("%020d", c.UpdateTime.UnixMicro()) },
		"kind":            func(c domain.Customer) string { return c.Kind.String() },
		"lifecycle_stage": func(c domain.Customer) string { return c.Stage.String() },
		"owner_id":        func(c domain.Customer) string { return c.OwnerID },
	}
	sorted := slices.IsSortedFunc(cs, func(a, b domain.Customer) int {
		for part := range strings.SplitSeq(orderBy, ",") {
			f := strings.Fields(part)
			c := strings.Compare(key[f[0]](a), key[f[0]](b))
			if len(f) == 2 {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if !sorted {
		t.Errorf("order_by %q: not sorted", orderBy)
	}
}

func customerIDs(cs []domain.Customer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// testListDeep pages through 1,000 customers created at one instant, so
// every page boundary falls among equal creation times, in pages of 7:
// page 143 holds the last customer, and every customer comes exactly once.
func testListDeep(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	created := clock.Add(72 * time.Hour)
	const n = 1000
	batch := make([]domain.Customer, n)
	want := make([]string, n)
	for i := range batch {
		c := newCustomer(t, fmt.Sprintf("Deep %d", i), created)
		c.Tags = []string{"deep"}
		batch[i], want[i] = c, c.ID
	}
	if err := s.InTx(ctx, func(tx domain.Tx) error { return tx.CreateCustomers(ctx, batch, "") }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want) // equal times: by id
	for _, orderBy := range []string{"", "create_time desc"} {
		var got []string
		after, pages := "", 0
		for {
			page, next, err := s.ListCustomers(ctx, domain.ListQuery{Filter: `tags:"deep"`, OrderBy: orderBy, Limit: 7, After: after})
			if err != nil {
				t.Fatalf("order_by %q, page %d: %v", orderBy, pages+1, err)
			}
			pages++
			got = append(got, customerIDs(page)...)
			if next == "" || pages > n {
				break
			}
			after = next
		}
		if orderBy != "" {
			slices.Reverse(got)
		}
		if pages != (n+6)/7 || !slices.Equal(got, want) {
			t.Errorf("order_by %q: %d pages, %d customers (%d distinct); want %d pages of all %d once",
				orderBy, pages, len(got), len(slices.Compact(slices.Sorted(slices.Values(got)))), (n+6)/7, n)
		}
	}
}
