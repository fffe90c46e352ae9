package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// jobBatch is how many members a job reads per query.
const jobBatch = 500

// Jobs runs the scheduled work over every member: expiry, notices of
// points about to expire, and tier reviews.
type Jobs struct{ *core }

// JobResult counts what one run of the scheduled jobs did.
type JobResult struct {
	ExpiredMembers int
	ExpiredPoints  int64
	Notices        int
	TierChanges    int
}

// RunJobs runs the expiry, the expiring notices and the tier review once,
// as of at. Every replica may run them at the same time: each member is
// handled under its lock, expiry entries are idempotent by their cause
// (member and expiry time) and notices by (member, expiry time), and a
// review that finds nothing to change changes nothing.
func (s *Jobs) RunJobs(ctx context.Context, at time.Time) (JobResult, error) {
	var res JobResult
	programs, err := s.store.Programs(ctx)
	if err != nil {
		return res, fmt.Errorf("run jobs: %w", err)
	}
	for _, p := range programs {
		if err := s.expire(ctx, p, at, &res); err != nil {
			return res, fmt.Errorf("run jobs: expire program %s: %w", p.ID, err)
		}
		if err := s.notify(ctx, p, at, &res); err != nil {
			return res, fmt.Errorf("run jobs: notify program %s: %w", p.ID, err)
		}
		if err := s.review(ctx, p, at, &res); err != nil {
			return res, fmt.Errorf("run jobs: review program %s: %w", p.ID, err)
		}
	}
	return res, nil
}

// RunScheduled is the scheduled run of the jobs (the service runs it once
// per interval across its replicas): RunJobs as of now, logging what it did.
func (s *Jobs) RunScheduled(ctx context.Context, logger *slog.Logger) error {
	res, err := s.RunJobs(ctx, s.now())
	if err != nil {
		return err
	}
	if res != (JobResult{}) {
		logger.InfoContext(ctx, "loyalty jobs ran", slog.Int("expired_members", res.ExpiredMembers),
			slog.Int64("expired_points", res.ExpiredPoints), slog.Int("notices", res.Notices), slog.Int("tier_changes", res.TierChanges))
	}
	return nil
}

// forEach calls fn for every customer id a paged query returns.
func forEach(ctx context.Context, page func(after string) ([]string, error), fn func(id string) error) error {
	after := ""
	for {
		ids, err := page(after)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(ids) < jobBatch {
			return nil
		}
		after = ids[len(ids)-1]
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// expire books, for every member with credits due by at, the expiry the
// ledger implies (see ExpiryState.Plan) and moves the member's
// ExpiredThrough to at.
func (s *Jobs) expire(ctx context.Context, p domain.Program, at time.Time, res *JobResult) error {
	if p.ExpiryKind == domain.ExpiryNever {
		return nil
	}
	return forEach(ctx, func(after string) ([]string, error) {
		return s.store.ExpiryCandidates(ctx, p.ID, at, after, jobBatch)
	}, func(id string) error {
		return s.store.InTx(ctx, func(tx domain.Tx) error {
			m, err := tx.LockMember(ctx, p.ID, id)
			if err != nil {
				return err
			}
			if m.Status != domain.MemberActive || !m.ExpiredThrough.Before(at) {
				return nil
			}
			st, err := tx.ExpiryState(ctx, p.ID, m.CustomerID)
			if err != nil {
				return err
			}
			plan := st.Plan(m.ExpiredThrough, at)
			for _, e := range s.ledger(p).Expire(m.CustomerID, plan) {
				added, err := tx.AddEntry(ctx, e)
				if err != nil {
					return err
				}
				if added {
					res.ExpiredPoints -= e.Points
				}
			}
			if len(plan) > 0 {
				res.ExpiredMembers++
			}
			m.ExpiredThrough = at
			return tx.SaveMember(ctx, m)
		})
	})
}

// notify publishes loyalty.points.expiring once per member and expiry time
// due within the program's notice lead time, for the points that will
// expire then unless spent first.
func (s *Jobs) notify(ctx context.Context, p domain.Program, at time.Time, res *JobResult) error {
	if p.ExpiryKind == domain.ExpiryNever || p.ExpiryNoticeDays <= 0 {
		return nil
	}
	through := at.AddDate(0, 0, p.ExpiryNoticeDays)
	return forEach(ctx, func(after string) ([]string, error) {
		return s.store.NoticeCandidates(ctx, p.ID, at, through, after, jobBatch)
	}, func(id string) error {
		return s.store.InTx(ctx, func(tx domain.Tx) error {
			m, err := tx.LockMember(ctx, p.ID, id)
			if err != nil {
				return err
			}
			st, err := tx.ExpiryState(ctx, p.ID, m.CustomerID)
			if err != nil {
				return err
			}
			due := map[time.Time]int64{}
			for _, x := range st.Plan(m.ExpiredThrough, through) {
				due[x.ExpireTime] = x.Points
			}
			var balance int64 = -1
			for _, b := range st.Buckets {
				if !b.ExpireTime.After(at) || b.ExpireTime.After(through) {
					continue
				}
				// Recorded even when nothing is left to expire, so the
				// bucket is not looked at again.
				first, err := tx.RecordNotice(ctx, p.ID, m.CustomerID, b.ExpireTime)
				if err != nil {
					return err
				}
				if !first || due[b.ExpireTime] == 0 || m.Status != domain.MemberActive {
					continue
				}
				if balance < 0 {
					sum, err := tx.Summary(ctx, p.ID, m.CustomerID, at, p.TierWindowStart(at))
					if err != nil {
						return err
					}
					balance = sum.Spendable()
				}
				if err := tx.Publish(ctx, domain.PointsExpiring{ProgramID: p.ID, CustomerID: m.CustomerID,
					Points: due[b.ExpireTime], ExpireTime: b.ExpireTime, PointsBalance: balance}); err != nil {
					return err
				}
				res.Notices++
			}
			return nil
		})
	})
}

// review is the periodic tier review of every active member (see
// Member.Review): downgrades happen here, after the grace, never on a
// return or an expiry.
func (s *Jobs) review(ctx context.Context, p domain.Program, at time.Time, res *JobResult) error {
	if len(p.Tiers) < 2 {
		return nil
	}
	return forEach(ctx, func(after string) ([]string, error) {
		return s.store.ActiveMembers(ctx, p.ID, after, jobBatch)
	}, func(id string) error {
		return s.store.InTx(ctx, func(tx domain.Tx) error {
			m, err := tx.LockMember(ctx, p.ID, id)
			if err != nil || m.Status != domain.MemberActive {
				return err
			}
			sum, err := tx.Summary(ctx, p.ID, m.CustomerID, at, p.TierWindowStart(at))
			if err != nil {
				return err
			}
			before := m
			change := m.Review(p, p.QualifiedTier(sum.WindowPoints, sum.WindowSpend), at)
			if m == before {
				return nil
			}
			if err := tx.SaveMember(ctx, m); err != nil {
				return err
			}
			if !change.Changed() {
				return nil
			}
			res.TierChanges++
			return tx.Publish(ctx, domain.TierChanged{ProgramID: p.ID, CustomerID: m.CustomerID, Old: p.Tier(change.From), New: p.Tier(change.To)})
		})
	})
}
