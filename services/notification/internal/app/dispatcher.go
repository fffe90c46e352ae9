package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Dispatcher defaults.
const (
	// DefaultDispatchInterval is how often the dispatcher looks for queued
	// messages nobody woke it for (left behind by a crash, queued by
	// another replica, or come due).
	DefaultDispatchInterval = 5 * time.Second
	// claimLease is how long a claimed message is reserved for one
	// dispatcher; longer than sendTimeout so a live dispatcher never loses
	// a message it is still sending.
	claimLease  = 2 * time.Minute
	sendTimeout = 30 * time.Second
)

// DispatcherOptions configure a Dispatcher; zero values are usable.
type DispatcherOptions struct {
	// Interval is the poll interval (DefaultDispatchInterval).
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics counts the messages sent, failed and suppressed; nil counts
	// nothing.
	Metrics domain.Metrics
	// Retry is the retry policy of transient failures (5 attempts, 30s
	// doubling up to 1h, when zero).
	Retry domain.RetryPolicy
	// QuietHours defer customer messages; zero means none.
	QuietHours domain.QuietHours
	// Capper and CapPerDay limit messages per customer, channel and local
	// day; no caps when either is zero.
	Capper    domain.Capper
	CapPerDay int
	// Batch is how many messages one round claims (1000).
	Batch int
	// Concurrency is how many sends of a channel without batches run at
	// once (16).
	Concurrency int
	// Workers is how many rounds run at once (4): while one waits for the
	// database or a provider, another claims and sends the next batch.
	Workers int
}

// Dispatcher hands due QUEUED messages to their channel and records the
// outcome of each. Before sending it applies the rules that protect the
// customer, as they stand at that moment: consent (an opt-out given while
// the message waited holds; the message is SUPPRESSED), quiet hours in
// the customer's zone (the message waits until they end), and the
// frequency cap (SUPPRESSED). A transient failure is retried with
// exponential backoff; a permanent one, or the last retry, fails the
// message onto the dead-letter list. Every attempt is recorded with the
// provider's answer. Delivery is at least once: a crash between the send
// and the commit sends the message again after its claim runs out.
type Dispatcher struct {
	store  domain.Store
	sender domain.Sender
	logger *slog.Logger
	opts   DispatcherOptions
	wake   chan struct{}
}

// NewDispatcher returns a Dispatcher. Run must be started for messages to
// go out.
func NewDispatcher(store domain.Store, sender domain.Sender, logger *slog.Logger, opts DispatcherOptions) *Dispatcher {
	if opts.Interval <= 0 {
		opts.Interval = DefaultDispatchInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retry.MaxAttempts <= 0 {
		opts.Retry = domain.RetryPolicy{MaxAttempts: 5, BaseDelay: 30 * time.Second, MaxDelay: time.Hour}
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Dispatcher{store: store, sender: sender, logger: logger, opts: opts, wake: make(chan struct{}, 1)}
}

// Wake makes Run look for queued messages now. It never blocks; one
// pending wake-up covers any number of messages.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due messages with Workers workers until ctx is done, then
// returns nil. A failing round (database down) is logged and retried on
// the next wake-up or tick.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context) {
	ticker := time.NewTicker(d.opts.Interval)
	defer ticker.Stop()
	for {
		for {
			n, err := d.DispatchOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.logger.WarnContext(ctx, "dispatch queued messages failed, retrying", slog.Any("error", err))
				}
				break
			}
			if n < d.opts.Batch {
				break
			}
			// A full batch: there may be more, so bring in another worker.
			d.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-ticker.C:
		}
	}
}

// outcome is what became of one claimed message in a round.
type outcome struct {
	msg      domain.Message
	receipt  domain.Receipt
	sendErr  error
	sent     bool
	suppress string    // the reason, when suppressed
	deferTo  time.Time // quiet hours end, when deferred
	deferWhy string
}

// DispatchOnce claims one batch of due messages and handles them,
// returning how many it claimed.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	now := d.opts.Now()
	msgs, err := d.store.ClaimDue(ctx, now, claimLease, d.opts.Batch)
	if err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	var customers []string
	for _, m := range msgs {
		if m.CustomerID != "" && m.AgentID == "" {
			customers = append(customers, m.CustomerID)
		}
	}
	// Consent is checked now, not when the message was queued: an opt-out
	// given while it waited must hold.
	consents, err := d.store.ConsentsOf(ctx, customers)
	if err != nil {
		return len(msgs), fmt.Errorf("dispatch: %w", err)
	}
	outs := make([]outcome, len(msgs))
	var capIdx []int
	for i, m := range msgs {
		outs[i].msg = m
		if m.AgentID != "" {
			continue
		}
		kind, _ := domain.LookupKind(m.Template)
		if why := domain.Refusal(kind.Purpose, m.Channel, consents[m.CustomerID][m.Channel]); why != "" {
			outs[i].suppress = why
			continue
		}
		// A dated greeting says "today": past its day, or deferred past it
		// by quiet hours, it is skipped, never sent a day late.
		dayEnd, dated := m.DayEnds()
		if dated && !now.Before(dayEnd) {
			outs[i].suppress = domain.ReasonMissedDay
			continue
		}
		if until, quiet := d.opts.QuietHours.Until(now, domain.LoadLocation(m.TimeZone)); quiet {
			if dated && !until.Before(dayEnd) {
				outs[i].suppress = domain.ReasonMissedDay
				continue
			}
			outs[i].deferTo, outs[i].deferWhy = until, domain.QuietReason(d.opts.QuietHours, m.TimeZone)
			continue
		}
		if !kind.CapExempt && d.opts.Capper != nil && d.opts.CapPerDay > 0 {
			capIdx = append(capIdx, i)
		}
	}
	if len(capIdx) > 0 {
		keys := make([]domain.CapKey, len(capIdx))
		for j, i := range capIdx {
			keys[j] = domain.CapKeyFor(msgs[i], now)
		}
		allowed, err := d.opts.Capper.Reserve(ctx, keys, d.opts.CapPerDay)
		if err != nil {
			return len(msgs), fmt.Errorf("dispatch: frequency caps: %w", err)
		}
		for j, i := range capIdx {
			if !allowed[j] {
				outs[i].suppress = domain.CapReason(d.opts.CapPerDay, msgs[i].Channel)
			}
		}
	}
	var toSend []int
	for i := range outs {
		if outs[i].suppress == "" && outs[i].deferTo.IsZero() {
			toSend = append(toSend, i)
		}
	}
	d.send(ctx, outs, toSend)
	if ctx.Err() != nil {
		// Shutting down: sends were cut off, not refused. The claims run
		// out and the messages go after restart.
		return len(msgs), ctx.Err()
	}
	if err := d.record(ctx, outs, now); err != nil {
		return len(msgs), err
	}
	return len(msgs), nil
}

// send hands the messages at idx to the sender: in one batch when it
// takes batches, otherwise a few at a time.
func (d *Dispatcher) send(ctx context.Context, outs []outcome, idx []int) {
	if len(idx) == 0 {
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if bs, ok := d.sender.(domain.BatchSender); ok {
		ds := make([]domain.Delivery, len(idx))
		for j, i := range idx {
			ds[j] = outs[i].msg.Delivery()
		}
		receipts, errs := bs.SendBatch(sendCtx, ds)
		for j, i := range idx {
			outs[i].receipt, outs[i].sendErr = receipts[j], errs[j]
			outs[i].sent = errs[j] == nil
		}
		return
	}
	sem := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := &outs[i]
			o.receipt, o.sendErr = d.sender.Send(sendCtx, o.msg.Delivery())
			o.sent = o.sendErr == nil
		}()
	}
	wg.Wait()
}

// record commits the round's outcomes and their events in one transaction.
func (d *Dispatcher) record(ctx context.Context, outs []outcome, now time.Time) error {
	var failedLog []domain.Message
	err := d.store.InTx(ctx, func(tx domain.Tx) error {
		failedLog = failedLog[:0]
		var (
			attempts []domain.Attempt
			evs      []domain.Event
			sentIDs  []string
			byID     = make(map[string]*outcome, len(outs))
			suppress = map[string][]string{}
			reached  []domain.Message // for the metrics
		)
		for i := range outs {
			o := &outs[i]
			m := o.msg
			byID[m.ID] = o
			switch {
			case o.suppress != "":
				suppress[o.suppress] = append(suppress[o.suppress], m.ID)
			case !o.deferTo.IsZero():
				if _, err := tx.Reschedule(ctx, m.ID, o.deferTo, o.deferWhy, m.Attempts); err != nil {
					return err
				}
			case o.sent:
				sentIDs = append(sentIDs, m.ID)
			default:
				n := m.Attempts + 1
				response := o.sendErr.Error()
				permanent := domain.IsPermanent(o.sendErr)
				a := domain.Attempt{MessageID: m.ID, Number: n, Time: now.UTC(), Outcome: domain.OutcomeTransientError, ProviderResponse: response}
				var ok bool
				var err error
				if permanent || n >= d.opts.Retry.MaxAttempts {
					reason := response
					if permanent {
						a.Outcome = domain.OutcomePermanentError
					} else {
						reason = fmt.Sprintf("gave up after %d attempts: %s", n, response)
					}
					if ok, err = tx.MarkFailed(ctx, m.ID, reason, n, true); err == nil && ok {
						m.Status, m.FailureReason = domain.StatusFailed, reason
						evs = append(evs, m.FailedEvent())
						failedLog = append(failedLog, m)
						reached = append(reached, m)
					}
				} else {
					ok, err = tx.Reschedule(ctx, m.ID, now.Add(d.opts.Retry.Backoff(n)), domain.RetryReason(n, response), n)
				}
				if err != nil {
					return err
				}
				if ok {
					attempts = append(attempts, a)
				}
			}
		}
		if len(sentIDs) > 0 {
			moved, err := tx.MarkSent(ctx, sentIDs, now, 1)
			if err != nil {
				return err
			}
			for _, id := range moved {
				o := byID[id]
				attempts = append(attempts, domain.Attempt{MessageID: id, Number: o.msg.Attempts + 1, Time: now.UTC(),
					Outcome: domain.OutcomeAccepted, ProviderResponse: o.receipt.ProviderResponse})
				evs = append(evs, o.msg.SentEvent())
				sent := o.msg
				sent.Status = domain.StatusSent
				reached = append(reached, sent)
			}
		}
		for reason, ids := range suppress {
			moved, err := tx.MarkSuppressed(ctx, ids, reason)
			if err != nil {
				return err
			}
			for _, id := range moved {
				m := byID[id].msg
				m.Status, m.StatusReason = domain.StatusSuppressed, reason
				evs = append(evs, m.FailedEvent())
				reached = append(reached, m)
			}
		}
		countOnCommit(ctx, tx, d.opts.Metrics, reached...)
		if err := tx.AddAttempts(ctx, attempts); err != nil {
			return err
		}
		return tx.Publish(ctx, evs...)
	})
	if err != nil {
		return fmt.Errorf("record dispatch outcomes: %w", err)
	}
	if missed := len(suppressedFor(outs, domain.ReasonMissedDay)); missed > 0 {
		d.logger.InfoContext(ctx, "dated greetings skipped: their day ended before they could go out", slog.Int("messages", missed))
	}
	// Ids, channel and template only: the reason may quote an address.
	for _, m := range failedLog {
		d.logger.WarnContext(ctx, "message failed",
			slog.String("message_id", m.ID), slog.String("channel", string(m.Channel)), slog.String("template", m.Template))
	}
	return nil
}

// suppressedFor returns the ids of the round's messages suppressed for
// reason.
func suppressedFor(outs []outcome, reason string) []string {
	var ids []string
	for _, o := range outs {
		if o.suppress == reason {
			ids = append(ids, o.msg.ID)
		}
	}
	return ids
}
