package channels

import (
	"context"
	"fmt"
	"sync"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Router is the one Sender the dispatcher talks to: it hands each delivery
// to the channel configured for its channel, and to the fallback (the dev
// sink) when none is.
type Router struct {
	byChannel   map[domain.Channel]domain.Sender
	fallback    domain.Sender
	concurrency int
}

var (
	_ domain.Sender      = (*Router)(nil)
	_ domain.BatchSender = (*Router)(nil)
)

// NewRouter returns a Router; fallback may be nil (unrouted channels
// fail permanently).
func NewRouter(byChannel map[domain.Channel]domain.Sender, fallback domain.Sender, concurrency int) *Router {
	if concurrency <= 0 {
		concurrency = 16
	}
	return &Router{byChannel: byChannel, fallback: fallback, concurrency: concurrency}
}

func (r *Router) senderFor(ch domain.Channel) domain.Sender {
	if s, ok := r.byChannel[ch]; ok && s != nil {
		return s
	}
	return r.fallback
}

// Send delivers d on its channel.
func (r *Router) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	s := r.senderFor(d.Channel)
	if s == nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("no channel configured for %s", d.Channel))
	}
	return s.Send(ctx, d)
}

// SendBatch delivers ds: batches to channels that take them, the rest a
// few at a time.
func (r *Router) SendBatch(ctx context.Context, ds []domain.Delivery) ([]domain.Receipt, []error) {
	receipts := make([]domain.Receipt, len(ds))
	errs := make([]error, len(ds))
	groups := map[domain.Sender][]int{}
	var order []domain.Sender
	for i, d := range ds {
		s := r.senderFor(d.Channel)
		if s == nil {
			errs[i] = domain.Permanent(fmt.Errorf("no channel configured for %s", d.Channel))
			continue
		}
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], i)
	}
	sem := make(chan struct{}, r.concurrency)
	var wg sync.WaitGroup
	for _, s := range order {
		idx := groups[s]
		if bs, ok := s.(domain.BatchSender); ok {
			batch := make([]domain.Delivery, len(idx))
			for j, i := range idx {
				batch[j] = ds[i]
			}
			rs, es := bs.SendBatch(ctx, batch)
			for j, i := range idx {
				receipts[i], errs[i] = rs[j], es[j]
			}
			continue
		}
		for _, i := range idx {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				receipts[i], errs[i] = s.Send(ctx, ds[i])
			}()
		}
	}
	wg.Wait()
	return receipts, errs
}
