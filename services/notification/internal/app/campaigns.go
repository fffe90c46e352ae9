package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Campaigns creates, reads, pauses, resumes and cancels campaigns; a
// CampaignRunner sends them.
type Campaigns struct{ *core }

// CreateCampaign validates and stores a campaign; the runner starts it at
// its schedule time. The same request id returns the campaign created
// the first time.
func (s *Campaigns) CreateCampaign(ctx context.Context, c domain.Campaign) (domain.Campaign, error) {
	templates, err := s.templates(ctx)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	if err := c.Validate(templates).Err(); err != nil {
		return domain.Campaign{}, err
	}
	if c.ID, err = newID(); err != nil {
		return domain.Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	now := s.now().UTC()
	c.CreateTime = now
	c.State = c.Start(now)
	c.Processed, c.EndTime, c.Error = 0, time.Time{}, ""
	if c.State == domain.CampaignRunning {
		c.StartTime = now
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		if c.RequestID != "" {
			existing, found, err := tx.CampaignByRequestID(ctx, c.RequestID)
			if err != nil {
				return err
			}
			if found {
				c = existing
				return nil
			}
		}
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		if s.opts.CampaignWaker != nil {
			tx.AfterCommit(s.opts.CampaignWaker.Wake)
		}
		return nil
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return s.store.Campaign(ctx, c.ID)
}

// GetCampaign returns a campaign with its counts.
func (s *Campaigns) GetCampaign(ctx context.Context, id string) (domain.Campaign, error) {
	var v validation.Violations
	checkUUID(&v, "id", id)
	if err := v.Err(); err != nil {
		return domain.Campaign{}, err
	}
	return s.store.Campaign(ctx, id)
}

// CampaignPage is one page of campaigns.
type CampaignPage struct {
	Campaigns     []domain.Campaign
	NextPageToken string
}

// ListCampaigns returns campaigns newest first.
func (s *Campaigns) ListCampaigns(ctx context.Context, pageSize int, pageToken string) (CampaignPage, error) {
	var v validation.Violations
	pageSize, after := pageArgs(&v, pageSize, pageToken)
	if err := v.Err(); err != nil {
		return CampaignPage{}, err
	}
	cs, err := s.store.ListCampaigns(ctx, after, pageSize+1)
	if err != nil {
		return CampaignPage{}, fmt.Errorf("list campaigns: %w", err)
	}
	page := CampaignPage{Campaigns: cs}
	if len(cs) > pageSize {
		page.Campaigns = cs[:pageSize]
		last := page.Campaigns[pageSize-1]
		page.NextPageToken = encodePageToken(domain.Cursor{CreateTime: last.CreateTime, ID: last.ID})
	}
	return page, nil
}

// PauseCampaign stops a campaign from creating messages; messages already
// queued still go out.
func (s *Campaigns) PauseCampaign(ctx context.Context, id string) (domain.Campaign, error) {
	return s.changeCampaign(ctx, id, func(tx domain.Tx, c *domain.Campaign) error { return c.Pause() })
}

// ResumeCampaign continues a paused campaign after the members it
// processed. Its rate window restarts so the pause does not become a
// burst.
func (s *Campaigns) ResumeCampaign(ctx context.Context, id string) (domain.Campaign, error) {
	return s.changeCampaign(ctx, id, func(tx domain.Tx, c *domain.Campaign) error {
		now := s.now().UTC()
		if err := c.Resume(now); err != nil {
			return err
		}
		c.Error = ""
		if c.State == domain.CampaignRunning {
			c.StartTime = rateWindowStart(*c, now)
		}
		if s.opts.CampaignWaker != nil {
			tx.AfterCommit(s.opts.CampaignWaker.Wake)
		}
		return nil
	})
}

// rateWindowStart is the start time at which c's budget at now is one
// second's worth: what it processed is counted as sent at its rate.
func rateWindowStart(c domain.Campaign, now time.Time) time.Time {
	if c.RatePerSecond <= 0 {
		return now
	}
	return now.Add(-time.Duration(float64(c.Processed) / float64(c.RatePerSecond) * float64(time.Second)))
}

// CancelCampaign ends a campaign; its messages not yet sent are
// suppressed, each announced with MessageFailed.
func (s *Campaigns) CancelCampaign(ctx context.Context, id string) (domain.Campaign, error) {
	return s.changeCampaign(ctx, id, func(tx domain.Tx, c *domain.Campaign) error {
		if err := c.Cancel(s.now()); err != nil {
			return err
		}
		msgs, err := tx.SuppressCampaignQueued(ctx, c.ID, domain.ReasonCampaignCancelled)
		if err != nil {
			return err
		}
		evs := make([]domain.Event, len(msgs))
		for i, m := range msgs {
			evs[i] = m.FailedEvent()
		}
		return tx.Publish(ctx, evs...)
	})
}

func (s *Campaigns) changeCampaign(ctx context.Context, id string, change func(tx domain.Tx, c *domain.Campaign) error) (domain.Campaign, error) {
	var v validation.Violations
	checkUUID(&v, "id", id)
	if err := v.Err(); err != nil {
		return domain.Campaign{}, err
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		c, err := tx.LockCampaign(ctx, id)
		if err != nil {
			return err
		}
		if err := change(tx, &c); err != nil {
			return err
		}
		return tx.UpdateCampaign(ctx, c, time.Time{})
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("change campaign: %w", err)
	}
	return s.store.Campaign(ctx, id)
}

// errCampaignStopped ends a campaign's member stream when it was paused or
// cancelled.
var errCampaignStopped = errors.New("campaign stopped")

// errRebudget makes the runner reckon a page's budget again.
var errRebudget = errors.New("campaign rate window moved")

// CampaignRunner creates the messages of running campaigns: it streams a
// campaign's segment and, page by page, queues a message per member (or
// records why none goes out), within the campaign's rate. Progress is
// committed with each page, so a runner that stops (pause, crash, another
// replica taking over) resumes after the last page it committed.
type CampaignRunner struct {
	svc      *Campaigns
	source   domain.MemberSource
	logger   *slog.Logger
	interval time.Duration
	wake     chan struct{}
}

// campaignLease is how long a runner holds a campaign between pages.
const campaignLease = time.Minute

// NewCampaignRunner returns a runner reading segments from source.
func NewCampaignRunner(svc *Service, source domain.MemberSource, logger *slog.Logger, interval time.Duration) *CampaignRunner {
	if interval <= 0 {
		interval = time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &CampaignRunner{svc: svc.Campaigns, source: source, logger: logger, interval: interval, wake: make(chan struct{}, 1)}
}

// Wake makes Run look for campaigns now.
func (r *CampaignRunner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// maxRunning is how many campaigns one runner works on at once, so a
// throttled campaign does not hold up the others.
const maxRunning = 4

// Run runs due campaigns until ctx is done, each in its own goroutine.
func (r *CampaignRunner) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	slots := make(chan struct{}, maxRunning)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
	claim:
		for ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
			default:
				break claim // all slots busy; look again on the next tick
			}
			c, ok, err := r.svc.store.ClaimCampaign(ctx, r.svc.now(), campaignLease)
			if err != nil || !ok {
				<-slots
				if err != nil && ctx.Err() == nil {
					r.logger.WarnContext(ctx, "claim campaign failed", slog.Any("error", err))
				}
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				if err := r.runCampaign(ctx, c); err != nil && ctx.Err() == nil {
					r.logger.WarnContext(ctx, "campaign run failed", slog.String("campaign_id", c.ID), slog.Any("error", err))
				}
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-ticker.C:
		}
	}
}

func (r *CampaignRunner) runCampaign(ctx context.Context, c domain.Campaign) error {
	s := r.svc
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	if c.State == domain.CampaignScheduled {
		c.State = domain.CampaignRunning
		c.StartTime = s.now().UTC()
	}
	templates, err := s.templates(ctx)
	if err != nil {
		return r.release(ctx, c.ID, err)
	}
	skip := c.Processed
	streamErr := r.source.StreamMembers(ctx, c.SegmentID, func(ids []string) error {
		if skip >= int64(len(ids)) {
			skip -= int64(len(ids))
			return nil
		}
		ids = ids[skip:]
		skip = 0
		for len(ids) > 0 {
			budget := c.Budget(s.now())
			if budget == 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-ticker.C:
				}
				// Extend the claim and see whether it was paused meanwhile.
				if err := r.commitPage(ctx, &c, nil, templates); err != nil && !errors.Is(err, errRebudget) {
					return err
				}
				continue
			}
			n := len(ids)
			if budget > 0 && int64(n) > budget {
				n = int(budget)
			}
			if err := r.commitPage(ctx, &c, ids[:n], templates); errors.Is(err, errRebudget) {
				continue
			} else if err != nil {
				return err
			}
			ids = ids[n:]
		}
		return nil
	})
	switch {
	case errors.Is(streamErr, errCampaignStopped):
		return r.release(ctx, c.ID, nil)
	case ctx.Err() != nil:
		return nil // the claim runs out; another runner, or this one after restart, resumes
	case streamErr != nil:
		return r.finish(ctx, c.ID, "read segment: "+streamErr.Error())
	default:
		return r.finish(ctx, c.ID, "")
	}
}

// commitPage queues a message per member in ids (none: only checks the
// state and extends the claim) and commits the campaign's progress with
// them. It returns errCampaignStopped when the campaign is no longer
// running.
func (r *CampaignRunner) commitPage(ctx context.Context, c *domain.Campaign, ids []string, templates *domain.TemplateSet) error {
	s := r.svc
	now := s.now()
	var msgs []domain.Message
	if len(ids) > 0 {
		recipients, err := s.store.Recipients(ctx, ids)
		if err != nil {
			return err
		}
		consents, err := s.store.ConsentsOf(ctx, ids)
		if err != nil {
			return err
		}
		kind, _ := domain.LookupKind(c.Kind)
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			msgID, err := newID()
			if err != nil {
				return err
			}
			rcp, known := recipients[id]
			if !known {
				msgs = append(msgs, domain.Message{ID: msgID, CustomerID: id, CampaignID: c.ID, Template: c.Kind,
					Status: domain.StatusFailed, FailureReason: domain.ReasonUnknownCustomer, CreateTime: now.UTC(),
					NotBefore: now.UTC(), IdempotencyKey: domain.CampaignKey(c.ID, id)})
				continue
			}
			msgs = append(msgs, domain.NewMessage(domain.Draft{ID: msgID, Kind: kind, Recipient: rcp, CampaignID: c.ID,
				IdempotencyKey: domain.CampaignKey(c.ID, id), UnsubscribeURL: s.unsubscribeURL}, templates, consents[id], now))
		}
	}
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		cur, err := tx.LockCampaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.State != domain.CampaignRunning && cur.State != domain.CampaignScheduled {
			return errCampaignStopped
		}
		if !cur.StartTime.IsZero() && !cur.StartTime.Equal(c.StartTime) {
			// Paused and resumed since the budget was reckoned: its rate
			// window moved, so reckon again.
			c.StartTime = cur.StartTime
			return errRebudget
		}
		if err := tx.InsertMessages(ctx, msgs); err != nil {
			return err
		}
		countOnCommit(ctx, tx, s.opts.Metrics, msgs...)
		var evs []domain.Event
		for _, m := range msgs {
			if m.Status != domain.StatusQueued {
				evs = append(evs, m.FailedEvent())
			}
		}
		if err := tx.Publish(ctx, evs...); err != nil {
			return err
		}
		c.Processed += int64(len(ids))
		c.State = domain.CampaignRunning
		if err := tx.UpdateCampaign(ctx, *c, now.Add(campaignLease)); err != nil {
			return err
		}
		if len(msgs) > 0 {
			s.wake(tx)
		}
		return nil
	})
}

// finish marks a campaign that streamed every member COMPLETED, or one
// whose segment could not be read PAUSED with the error, unless it was
// paused or cancelled meanwhile.
func (r *CampaignRunner) finish(ctx context.Context, id, failure string) error {
	s := r.svc
	return s.store.InTx(ctx, func(tx domain.Tx) error {
		c, err := tx.LockCampaign(ctx, id)
		if err != nil {
			return err
		}
		if c.State == domain.CampaignRunning || c.State == domain.CampaignScheduled {
			if failure != "" {
				c.State, c.Error = domain.CampaignPaused, failure
			} else {
				c.State, c.EndTime = domain.CampaignCompleted, s.now().UTC()
			}
			if err := tx.UpdateCampaign(ctx, c, time.Time{}); err != nil {
				return err
			}
		}
		return tx.ReleaseCampaign(ctx, id)
	})
}

func (r *CampaignRunner) release(ctx context.Context, id string, cause error) error {
	err := r.svc.store.InTx(ctx, func(tx domain.Tx) error { return tx.ReleaseCampaign(ctx, id) })
	return errors.Join(cause, err)
}
