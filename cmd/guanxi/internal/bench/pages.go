package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// The paging figure: page 10,000 of 100 customers (of 1,000,000)
// answers within twice the time of page 1.
const (
	pagesPageSize    = 100
	pagesDeepPage    = 10_000
	pagesRatioTarget = 2.0
	// pagesReads is how many times page 1 and the deep page are each read,
	// in turns, for their latency.
	pagesReads = 50
	// rawOffsetReads bounds the raw OFFSET reads: at a million rows each
	// reads them all.
	rawOffsetReads = 5
)

// pagesResult is the ListCustomers part of `guanxi bench customers`: after
// the import, the deep page is reached by walking every page before it
// with the page tokens the service hands out (as a client does: a token is
// the service's own, bound to its request), then page 1 and the deep page
// are read in turns. Beside them, the same deep page straight from
// PostgreSQL: by keyset, the baseline, and by OFFSET, the plan the service
// used before it paged by keyset.
type pagesResult struct {
	ran       bool
	err       error
	deepPage  int             // the page read as the deep one: 10,000, or the last page of a smaller import
	walk      []time.Duration // every page of the walk to it
	walkTotal time.Duration
	first     []time.Duration
	deep      []time.Duration
	// beforeDeep is the page before the deep one: at 1,000,000 customers
	// page 10,000 is the last, which needs no count of the customers
	// (total_size), while every other page counts up to 10,000 of them.
	beforeDeep []time.Duration
	rawKeyset  []time.Duration
	rawOffset  []time.Duration
}

// listPages measures paging through the service at client and the same
// reads on its database at dbURL; rows is how many customers it holds.
func (b *customersBench) listPages(ctx context.Context, client customerv1.CustomerServiceClient, dbURL string, rows int64) pagesResult {
	r := pagesResult{ran: true, deepPage: min(pagesDeepPage, int((rows+pagesPageSize-1)/pagesPageSize))}
	if r.deepPage < 2 {
		r.err = fmt.Errorf("%d customers make no second page of %d", rows, pagesPageSize)
		return r
	}
	b.logf("walking %d pages of %d customers with their page tokens", r.deepPage-1, pagesPageSize)
	req := func(token string) *customerv1.ListCustomersRequest {
		return &customerv1.ListCustomersRequest{PageSize: pagesPageSize, PageToken: token}
	}
	token, beforeToken := "", ""
	var last *customerv1.Customer // the last customer before the deep page
	walkStart := time.Now()
	for page := 1; page < r.deepPage; page++ {
		start := time.Now()
		resp, err := client.ListCustomers(ctx, req(token))
		if err != nil {
			r.err = fmt.Errorf("page %d: %w", page, err)
			return r
		}
		r.walk = append(r.walk, time.Since(start))
		if len(resp.GetCustomers()) != pagesPageSize || resp.GetNextPageToken() == "" {
			r.err = fmt.Errorf("page %d has %d customers and next token %q", page, len(resp.GetCustomers()), resp.GetNextPageToken())
			return r
		}
		beforeToken, token, last = token, resp.GetNextPageToken(), resp.GetCustomers()[pagesPageSize-1]
		if page%1000 == 0 {
			b.logf("  page %d", page)
		}
	}
	r.walkTotal = time.Since(walkStart)

	b.logf("reading pages 1, %d and %d in turns, %d times each", r.deepPage-1, r.deepPage, pagesReads)
	var deepFirstID string
	for range pagesReads {
		for i, tok := range []string{"", beforeToken, token} {
			if i == 1 && r.deepPage == 2 {
				continue // the page before is page 1
			}
			start := time.Now()
			resp, err := client.ListCustomers(ctx, req(tok))
			elapsed := time.Since(start)
			if err != nil {
				r.err = err
				return r
			}
			switch i {
			case 0:
				r.first = append(r.first, elapsed)
				continue
			case 1:
				r.beforeDeep = append(r.beforeDeep, elapsed)
				continue
			}
			r.deep = append(r.deep, elapsed)
			if len(resp.GetCustomers()) == 0 {
				r.err = fmt.Errorf("page %d is empty", r.deepPage)
				return r
			}
			deepFirstID = resp.GetCustomers()[0].GetId()
		}
	}
	r.err = r.raw(ctx, dbURL, last, deepFirstID)
	return r
}

// raw reads the deep page straight from the database, by keyset after
// last and by OFFSET, and checks both start with the customer the service's
// deep page started with.
func (r *pagesResult) raw(ctx context.Context, dbURL string, last *customerv1.Customer, wantFirst string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// The service's query: every column of the row, active customers, by
	// creation time and id.
	const sel = `SELECT id, state, type, kind, lifecycle_stage, display_name, email, phone, locale, time_zone,
		owner_id, team_id, external_id, possible_duplicate, merged_into, name_key, search_text, doc, version,
		create_time, update_time, delete_time FROM customers WHERE state = 'active'`
	read := func(into *[]time.Duration, query string, args ...any) error {
		start := time.Now()
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		first, n := "", 0
		for rows.Next() {
			if n == 0 {
				first = string(rows.RawValues()[0])
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		*into = append(*into, time.Since(start))
		if n == 0 || first != wantFirst {
			return fmt.Errorf("raw page %d starts with %q (%d rows), the service's with %q", r.deepPage, first, n, wantFirst)
		}
		return nil
	}
	// Every column crosses the wire, as to the service; only the id is
	// decoded.
	after := last.GetCreateTime().AsTime().UnixMicro()
	for range pagesReads {
		if err := read(&r.rawKeyset, sel+` AND (create_time, id) > ($1, $2) ORDER BY create_time, id LIMIT $3`,
			after, last.GetId(), pagesPageSize+1); err != nil {
			return fmt.Errorf("raw keyset: %w", err)
		}
	}
	for range rawOffsetReads {
		if err := read(&r.rawOffset, sel+` ORDER BY create_time, id LIMIT $1 OFFSET $2`,
			pagesPageSize+1, (r.deepPage-1)*pagesPageSize); err != nil {
			return fmt.Errorf("raw offset: %w", err)
		}
	}
	return nil
}

// ratio is the deep page's p50 over page 1's.
func (r pagesResult) ratio() float64 {
	f := percentile(r.first, 0.5)
	if f <= 0 {
		return 0
	}
	return float64(percentile(r.deep, 0.5)) / float64(f)
}

func (r pagesResult) report(w io.Writer) {
	if !r.ran {
		fmt.Fprintf(w, "\nListCustomers paging: not run\n")
		return
	}
	fmt.Fprintf(w, "\nListCustomers, %d per page, default order (create_time, id), keyset page tokens:\n", pagesPageSize)
	if r.err != nil {
		fmt.Fprintf(w, "  FAILED: %v\n", r.err)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	lat := func(ds []time.Duration) string {
		return fmt.Sprintf("p50 %s  p99 %s  (%d reads)", ms(percentile(ds, 0.5)), ms(percentile(ds, 0.99)), len(ds))
	}
	if len(r.walk) > 0 {
		fmt.Fprintf(w, "  walk to page %-6d     %s; %.1f s in all, every page's token from the page before\n", r.deepPage, lat(r.walk), r.walkTotal.Seconds())
	}
	if len(r.first) > 0 {
		fmt.Fprintf(w, "  page 1                  %s\n", lat(r.first))
	}
	if len(r.beforeDeep) > 0 {
		ratio := float64(percentile(r.beforeDeep, 0.5)) / float64(max(percentile(r.first, 0.5), 1))
		fmt.Fprintf(w, "  page %-6d             %s; %.2f x page 1 (a page with a next one: counts total_size as page 1 does)\n",
			r.deepPage-1, lat(r.beforeDeep), ratio)
	}
	if len(r.deep) > 0 {
		fmt.Fprintf(w, "  page %-6d             %s; %.2f x page 1 (target within %.0fx: %s)\n",
			r.deepPage, lat(r.deep), r.ratio(), pagesRatioTarget, verdict(r.ratio() <= pagesRatioTarget))
	}
	if len(r.rawKeyset) > 0 {
		fmt.Fprintf(w, "  raw SQL, page %-6d    %s; by keyset, the service's query; service / raw %.1f\n",
			r.deepPage, lat(r.rawKeyset), float64(percentile(r.deep, 0.5))/float64(max(percentile(r.rawKeyset, 0.5), 1)))
	}
	if len(r.rawOffset) > 0 {
		fmt.Fprintf(w, "  raw SQL, page %-6d    %s; by OFFSET, as the service paged before\n", r.deepPage, lat(r.rawOffset))
	}
}
