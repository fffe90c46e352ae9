package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// SourceUnsubscribeLink is the consent source of an opt-out given by
// following an unsubscribe link.
const SourceUnsubscribeLink = "unsubscribe-link"

// Unsubscribe records the opt-out an unsubscribe link carries: at once
// here, so no further message goes out on the channel, and, through a
// pending record passed on by the ConsentSyncer, in the customer service,
// which owns consents and tells every other service.
func (s *Customers) Unsubscribe(ctx context.Context, token string) (string, domain.Channel, error) {
	var v validation.Violations
	if token == "" {
		v.Add("token", "is required")
		return "", "", v.Err()
	}
	if s.opts.Signer == nil {
		v.Add("token", "unsubscribe links are not enabled")
		return "", "", v.Err()
	}
	customerID, ch, err := s.opts.Signer.Verify(token)
	if err != nil {
		v.Add("token", "is not a valid unsubscribe token")
		return "", "", v.Err()
	}
	id, err := newID()
	if err != nil {
		return "", "", fmt.Errorf("unsubscribe: %w", err)
	}
	now := s.now().UTC()
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		survivor, err := survivorVia(ctx, tx.MergedInto, customerID)
		if err != nil {
			return err
		}
		customerID = survivor
		if _, err := applyConsents(ctx, tx, survivor, []domain.Consent{{
			CustomerID: survivor, Channel: ch, Status: domain.ConsentOptedOut, Source: SourceUnsubscribeLink, UpdateTime: now,
		}}); err != nil {
			return err
		}
		if s.opts.ConsentSyncWaker != nil {
			tx.AfterCommit(s.opts.ConsentSyncWaker.Wake)
		}
		return tx.AddConsentSync(ctx, domain.ConsentSync{ID: id, CustomerID: survivor, Channel: ch,
			Status: domain.ConsentOptedOut, Source: SourceUnsubscribeLink, CreateTime: now})
	})
	if err != nil {
		return "", "", fmt.Errorf("unsubscribe: %w", err)
	}
	return customerID, ch, nil
}

// ConsentSyncer passes opt-outs recorded here on to the customer service,
// retrying until it accepts them.
type ConsentSyncer struct {
	store    domain.Store
	writer   domain.ConsentWriter
	logger   *slog.Logger
	interval time.Duration
	wake     chan struct{}
}

// NewConsentSyncer returns a ConsentSyncer.
func NewConsentSyncer(store domain.Store, writer domain.ConsentWriter, logger *slog.Logger, interval time.Duration) *ConsentSyncer {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &ConsentSyncer{store: store, writer: writer, logger: logger, interval: interval, wake: make(chan struct{}, 1)}
}

// Wake makes Run pass pending opt-outs on now.
func (c *ConsentSyncer) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run passes opt-outs on until ctx is done.
func (c *ConsentSyncer) Run(ctx context.Context) error {
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for {
		if err := c.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			c.logger.WarnContext(ctx, "passing opt-outs to the customer service failed, retrying", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-ticker.C:
		}
	}
}

// SyncOnce passes pending opt-outs on, oldest first, stopping at the first
// that fails.
func (c *ConsentSyncer) SyncOnce(ctx context.Context) error {
	pending, err := c.store.PendingConsentSyncs(ctx, 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pending {
		// A customer the customer service no longer has (erased) has
		// nobody left to record the opt-out for.
		if err := c.writer.SetConsent(ctx, p.CustomerID, p.Channel, p.Status, p.Source); err != nil && !errors.Is(err, domain.ErrNotFound) {
			errs = append(errs, fmt.Errorf("set consent of %s: %w", p.CustomerID, err))
			continue
		}
		if err := c.store.InTx(ctx, func(tx domain.Tx) error { return tx.DoneConsentSync(ctx, p.ID) }); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
