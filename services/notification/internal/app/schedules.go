package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// scanPage is how many customers a scan handles per transaction.
const scanPage = 500

// ScheduleRun is what one run of the scans did.
type ScheduleRun struct {
	// Created counts the greetings queued (or kept as refused by consent).
	Created int64
	// Skipped counts the dated greetings kept SUPPRESSED because their day
	// ends, in the customer's zone, before they could go out.
	Skipped int64
}

// Schedules scans for the dated greetings due: birthdays, holidays and
// member days.
type Schedules struct{ *core }

// RunSchedules scans for birthdays, holidays and member days due now in
// each customer's time zone and queues their greetings for the morning
// hour. Every greeting has an idempotency key (the customer and the
// year, or the holiday's date), so scans that run again, or at once on
// two replicas, create each greeting once. A greeting says "today": one
// that could only go out after its day ends (the rest of the day is quiet
// hours) is skipped, kept as SUPPRESSED and counted in Skipped. Member
// days are those of the loyalty programs as loyalty announced them.
func (s *Schedules) RunSchedules(ctx context.Context) (ScheduleRun, error) {
	now := s.now()
	var run ScheduleRun
	templates, err := s.templates(ctx)
	if err != nil {
		return run, fmt.Errorf("run schedules: %w", err)
	}
	if err := s.scanBirthdays(ctx, now, templates, &run); err != nil {
		return run, fmt.Errorf("run schedules: birthdays: %w", err)
	}
	dates := domain.LocalDatesAt(now)
	for _, h := range domain.HolidaysOn(s.opts.Calendar, dates) {
		err := s.scan(ctx, now, templates, &run, func(after string) ([]domain.Recipient, error) {
			return s.store.RecipientsPage(ctx, after, scanPage)
		}, func(r domain.Recipient) (domain.Draft, bool) {
			sendAt, due := domain.GreetingDue(h.Date, r.Location(), now, s.opts.MorningHour)
			kind, _ := domain.LookupKind(domain.KindHoliday)
			return domain.Draft{Kind: kind, Recipient: r, NotBefore: sendAt, IdempotencyKey: domain.HolidayKey(h, r.CustomerID),
				Vars: domain.Vars{"holiday_name": h.Name(r.Locale)}}, due
		})
		if err != nil {
			return run, fmt.Errorf("run schedules: holiday %s: %w", h.ID, err)
		}
	}
	programs, err := s.store.Programs(ctx)
	if err != nil {
		return run, fmt.Errorf("run schedules: %w", err)
	}
	for _, p := range programs {
		for _, md := range p.MemberDaysOn(dates) {
			err := s.scan(ctx, now, templates, &run, func(after string) ([]domain.Recipient, error) {
				return s.store.ProgramMembers(ctx, md.ProgramID, after, scanPage)
			}, func(r domain.Recipient) (domain.Draft, bool) {
				sendAt, due := domain.GreetingDue(md.Date, r.Location(), now, s.opts.MorningHour)
				kind, _ := domain.LookupKind(domain.KindMemberDay)
				return domain.Draft{Kind: kind, Recipient: r, NotBefore: sendAt, IdempotencyKey: domain.MemberDayKey(md, r.CustomerID),
					Vars: domain.Vars{"member_day_name": md.Name(r.Locale), "program_id": md.ProgramID}}, due
			})
			if err != nil {
				return run, fmt.Errorf("run schedules: member day of %s: %w", md.ProgramID, err)
			}
		}
	}
	return run, nil
}

func (s *Schedules) scanBirthdays(ctx context.Context, now time.Time, templates *domain.TemplateSet, run *ScheduleRun) error {
	var dates []domain.MonthDay
	for _, d := range domain.LocalDatesAt(now) {
		dates = append(dates, domain.BirthdayDates(d)...)
	}
	kind, _ := domain.LookupKind(domain.KindBirthday)
	return s.scan(ctx, now, templates, run, func(after string) ([]domain.Recipient, error) {
		return s.store.RecipientsByBirthday(ctx, dates, after, scanPage)
	}, func(r domain.Recipient) (domain.Draft, bool) {
		sendAt, year, due := domain.BirthdayDue(r, now, s.opts.MorningHour)
		return domain.Draft{Kind: kind, Recipient: r, NotBefore: sendAt, IdempotencyKey: domain.BirthdayKey(r.CustomerID, year)}, due
	})
}

// scan pages through customers and queues the greeting build says is due
// for each.
func (s *Schedules) scan(ctx context.Context, now time.Time, templates *domain.TemplateSet, run *ScheduleRun,
	page func(after string) ([]domain.Recipient, error), build func(domain.Recipient) (domain.Draft, bool)) error {
	after := ""
	for {
		rs, err := page(after)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return nil
		}
		after = rs[len(rs)-1].CustomerID
		var due []domain.Draft
		var keys []string
		for _, r := range rs {
			if d, ok := build(r); ok {
				if d.Kind.Dated && domain.MissesDay(d.NotBefore, now, r.Location(), s.opts.QuietHours) {
					d.Skip = domain.ReasonMissedDay
				}
				due = append(due, d)
				keys = append(keys, d.IdempotencyKey)
			}
		}
		// Scans repeat all day: greetings already created are skipped with
		// one read, and the unique key still settles a race with a replica.
		existing, err := s.store.ExistingKeys(ctx, keys)
		if err != nil {
			return err
		}
		var drafts []domain.Draft
		var ids []string
		for _, d := range due {
			if !existing[d.IdempotencyKey] {
				drafts = append(drafts, d)
				ids = append(ids, d.Recipient.CustomerID)
			}
		}
		if len(drafts) == 0 {
			continue
		}
		consents, err := s.store.ConsentsOf(ctx, ids)
		if err != nil {
			return err
		}
		var n ScheduleRun
		err = s.store.InTx(ctx, func(tx domain.Tx) error {
			n = ScheduleRun{}
			for _, d := range drafts {
				if d.ID, err = newID(); err != nil {
					return err
				}
				d.UnsubscribeURL = s.unsubscribeURL
				msg := domain.NewMessage(d, templates, consents[d.Recipient.CustomerID], now)
				ok, err := tx.CreateMessage(ctx, msg)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				countOnCommit(ctx, tx, s.opts.Metrics, msg)
				if msg.Status == domain.StatusSuppressed && msg.StatusReason == domain.ReasonMissedDay {
					n.Skipped++
				} else {
					n.Created++
				}
				if msg.Status != domain.StatusQueued {
					if err := tx.Publish(ctx, msg.FailedEvent()); err != nil {
						return err
					}
				}
			}
			s.wake(tx)
			return nil
		})
		if err != nil {
			return err
		}
		run.Created += n.Created
		run.Skipped += n.Skipped
	}
}

// Scheduler is the scheduled scan (the service runs it once per interval
// across its replicas).
type Scheduler struct {
	svc    *Schedules
	logger *slog.Logger
}

// NewScheduler returns a Scheduler.
func NewScheduler(svc *Service, logger *slog.Logger) *Scheduler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Scheduler{svc: svc.Schedules, logger: logger}
}

// Scan runs RunSchedules once, logging what it queued.
func (sc *Scheduler) Scan(ctx context.Context) error {
	run, err := sc.svc.RunSchedules(ctx)
	if err != nil {
		return err
	}
	if run.Created > 0 || run.Skipped > 0 {
		sc.logger.InfoContext(ctx, "scheduled greetings queued",
			slog.Int64("messages", run.Created), slog.Int64("skipped_missed_day", run.Skipped))
	}
	return nil
}
