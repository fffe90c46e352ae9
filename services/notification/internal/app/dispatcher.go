package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Dispatcher defaults.
const (
	// DefaultDispatchInterval is how often the dispatcher looks for queued
	// messages nobody woke it for (left behind by a crash, or queued by
	// another replica).
	DefaultDispatchInterval = 5 * time.Second
	// claimLease is how long a claimed message is reserved for one
	// dispatcher; longer than sendTimeout so a live dispatcher never loses
	// a message it is still sending.
	claimLease  = 2 * time.Minute
	sendTimeout = 30 * time.Second
	claimBatch  = 50
)

// Dispatcher hands QUEUED messages to the Sender and records the outcome:
// SENT with a MessageSent event, or FAILED with a MessageFailed event, each
// in one transaction. A message whose channel the customer's consent
// refuses by then (see domain.Refusal) is not sent and fails with the
// refusal as its reason. Delivery is at least once: a crash between the send
// and the commit sends the message again after its claim runs out.
type Dispatcher struct {
	store    domain.Store
	sender   domain.Sender
	logger   *slog.Logger
	interval time.Duration
	wake     chan struct{}
	now      func() time.Time
}

// NewDispatcher returns a Dispatcher polling every interval (zero means
// DefaultDispatchInterval). Run must be started for messages to go out.
func NewDispatcher(store domain.Store, sender domain.Sender, logger *slog.Logger, interval time.Duration) *Dispatcher {
	if interval <= 0 {
		interval = DefaultDispatchInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Dispatcher{
		store:    store,
		sender:   sender,
		logger:   logger,
		interval: interval,
		wake:     make(chan struct{}, 1),
		now:      time.Now,
	}
}

// Wake makes Run look for queued messages now. It never blocks; one
// pending wake-up covers any number of messages.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends queued messages until ctx is done, then returns nil. A failing
// round (database down) is logged and retried on the next wake-up or tick.
func (d *Dispatcher) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.interval)
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
			if n < claimBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-ticker.C:
		}
	}
}

// DispatchOnce claims one batch of queued messages and sends them,
// returning how many it claimed.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	msgs, err := d.store.ClaimQueued(ctx, d.now(), claimLease, claimBatch)
	if err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	for _, m := range msgs {
		if err := d.dispatch(ctx, m); err != nil {
			return len(msgs), err
		}
	}
	return len(msgs), nil
}

func (d *Dispatcher) dispatch(ctx context.Context, m domain.Message) error {
	// Consent is checked now, not when the message was queued: an opt-out
	// given while it waited must hold.
	status, err := d.store.ConsentStatus(ctx, m.CustomerID, m.Channel)
	if err != nil {
		return fmt.Errorf("check consent of message %s: %w", m.ID, err)
	}
	reason := domain.Refusal(domain.PurposeOf(m.Template), m.Channel, status)
	if reason == "" {
		sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		sendErr := d.sender.Send(sendCtx, m.Delivery())
		cancel()
		if sendErr != nil && ctx.Err() != nil {
			// Shutting down: the send was cut off, not refused. The claim
			// runs out and the message is sent after restart.
			return ctx.Err()
		}
		if sendErr != nil {
			reason = sendErr.Error()
		}
	}

	err = d.store.InTx(ctx, func(tx domain.Tx) error {
		if reason != "" {
			ok, err := tx.MarkFailed(ctx, m.ID, reason)
			if err != nil || !ok {
				return err
			}
			return tx.Publish(ctx, domain.MessageFailed{MessageID: m.ID, CustomerID: m.CustomerID, Channel: m.Channel, Reason: reason})
		}
		ok, err := tx.MarkSent(ctx, m.ID, d.now())
		if err != nil || !ok {
			return err
		}
		return tx.Publish(ctx, domain.MessageSent{MessageID: m.ID, CustomerID: m.CustomerID, Channel: m.Channel, Template: m.Template})
	})
	if err != nil {
		return fmt.Errorf("record outcome of message %s: %w", m.ID, err)
	}
	// Ids, channel and template only: the reason may quote an address.
	if reason != "" {
		d.logger.WarnContext(ctx, "message failed",
			slog.String("message_id", m.ID), slog.String("channel", string(m.Channel)), slog.String("template", m.Template))
	}
	return nil
}
