package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/memberdays"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

// MonthDay is a day of the year without the year.
type MonthDay struct{ Month, Day int }

// BirthdayDates returns the month-days whose birthdays fall on local date
// d: its own, and 29 February on 28 February of a year without one.
func BirthdayDates(d time.Time) []MonthDay {
	out := []MonthDay{{int(d.Month()), d.Day()}}
	if d.Month() == time.February && d.Day() == 28 && !isLeap(d.Year()) {
		out = append(out, MonthDay{2, 29})
	}
	return out
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// LocalDatesAt returns the dates it is somewhere on Earth at now: the
// birthdays and holidays a scan at now may find due.
func LocalDatesAt(now time.Time) []time.Time {
	u := now.UTC()
	var out []time.Time
	for _, off := range []int{-12, 0, 14} {
		d := u.Add(time.Duration(off) * time.Hour)
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		if len(out) == 0 || !out[len(out)-1].Equal(day) {
			out = append(out, day)
		}
	}
	return out
}

// GreetingDue reports whether a greeting on the local date date is due for
// a recipient in loc at now: it is that date there. sendAt is the
// configured morning hour on that date, local time; the message waits for
// it.
func GreetingDue(date time.Time, loc *time.Location, now time.Time, morningHour int) (sendAt time.Time, due bool) {
	local := now.In(loc)
	if local.Year() != date.Year() || local.Month() != date.Month() || local.Day() != date.Day() {
		return time.Time{}, false
	}
	return time.Date(local.Year(), local.Month(), local.Day(), morningHour, 0, 0, 0, loc), true
}

// ReasonMissedDay is the status reason of a dated greeting (birthday,
// holiday, member day) that could not go out on its day in the customer's
// time zone (what was left of the day lay in quiet hours, or retries ran
// past it): it says "today", so it is skipped rather than sent a day late.
const ReasonMissedDay = "dated greeting skipped: its day ended before it could go out"

// DayEnd returns the end of t's day in loc: the next local midnight.
func DayEnd(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}

// MissesDay reports whether a dated greeting queued at now for today in
// loc, to go from notBefore, cannot go out before today ends there: the
// first moment it may go (not before notBefore, nor in quiet hours) is
// past midnight.
func MissesDay(notBefore, now time.Time, loc *time.Location, q QuietHours) bool {
	first := notBefore
	if first.Before(now) {
		first = now
	}
	if until, quiet := q.Until(first, loc); quiet {
		first = until
	}
	return !first.Before(DayEnd(now, loc))
}

// DayEnds returns when the day of a dated greeting ends in the
// recipient's zone; it is not sent from then on. A greeting is created on
// its day there (see GreetingDue), so its day is its creation's. ok is
// false for a message of another kind.
func (m Message) DayEnds() (end time.Time, ok bool) {
	kind, _ := LookupKind(m.Template)
	if !kind.Dated || m.CustomerID == "" {
		return time.Time{}, false
	}
	return DayEnd(m.CreateTime, LoadLocation(m.TimeZone)), true
}

// BirthdayDue reports whether r's birthday is today in r's time zone, and
// when the greeting goes out; year is the local year, part of the
// greeting's idempotency key.
func BirthdayDue(r Recipient, now time.Time, morningHour int) (sendAt time.Time, year int, due bool) {
	if r.BirthMonth == 0 || r.BirthDay == 0 {
		return time.Time{}, 0, false
	}
	loc := r.Location()
	local := now.In(loc)
	for _, md := range BirthdayDates(local) {
		if md.Month == r.BirthMonth && md.Day == r.BirthDay {
			return time.Date(local.Year(), local.Month(), local.Day(), morningHour, 0, 0, 0, loc), local.Year(), true
		}
	}
	return time.Time{}, 0, false
}

// BirthdayKey is the idempotency key of r's birthday greeting in year.
func BirthdayKey(customerID string, year int) string {
	return fmt.Sprintf("birthday:%s:%d", customerID, year)
}

// Holiday is one date of the calendar on which customers are greeted.
type Holiday struct {
	ID   string
	Date time.Time // midnight UTC of the date
	// Names by template locale.
	Names map[string]string
}

// Name returns the holiday's name in the recipient's language.
func (h Holiday) Name(locale string) string {
	if n := h.Names[TemplateLocale(locale)]; n != "" {
		return n
	}
	for _, n := range h.Names {
		return n
	}
	return h.ID
}

// HolidayKey is the idempotency key of a holiday greeting.
func HolidayKey(h Holiday, customerID string) string {
	return "holiday:" + h.ID + ":" + h.Date.Format(time.DateOnly) + ":" + customerID
}

// MemberDay is a day a loyalty program's member-day rule falls on.
type MemberDay struct {
	ProgramID string
	// DayID is the rule's id within the program.
	DayID       string
	Date        time.Time // midnight UTC of the date
	ProgramName string
}

// Name returns what notices call the member day: the program's name, or
// "member day" in the recipient's language when the program has none.
func (m MemberDay) Name(locale string) string {
	if n := strings.TrimSpace(m.ProgramName); n != "" {
		return n
	}
	if LanguageFor(locale) == LanguageEnglish {
		return "member day"
	}
	return "会员日"
}

// MemberDayKey is the idempotency key of a member-day notice.
func MemberDayKey(m MemberDay, customerID string) string {
	return "member_day:" + m.ProgramID + ":" + m.Date.Format(time.DateOnly) + ":" + customerID
}

// ProgramMember is a customer's membership of a loyalty program, as the
// read model keeps it.
type ProgramMember struct {
	CustomerID, ProgramID, TierCode, TierName string
}

// LoyaltyProgram is what the service keeps of a loyalty program, from the
// loyalty service's ProgramChanged events: its name and member-day rules.
// Loyalty owns the rules and earns by them; notices follow the same rules,
// read through platform/memberdays, so points and notices agree.
type LoyaltyProgram struct {
	ID         string
	Name       string
	TimeZone   string
	MemberDays []ProgramMemberDay
	UpdateTime time.Time
}

// ProgramMemberDay is one member-day rule of a program.
type ProgramMemberDay struct {
	ID   string
	Rule memberdays.Rule
}

// Validate checks a program as an event carried it.
func (p LoyaltyProgram) Validate() validation.Violations {
	var v validation.Violations
	if strings.TrimSpace(p.ID) == "" {
		v.Add("program_id", "is required")
	}
	for i, d := range p.MemberDays {
		f := fmt.Sprintf("member_days[%d]", i)
		r := d.Rule
		if (r.Weekday == 0) == (r.MonthDay == 0) || r.Weekday < 0 || r.Weekday > 7 || r.MonthDay < 0 || r.MonthDay > 31 {
			v.Add(f, "needs exactly one of weekday (1..7) and month_day (1..31)")
		}
	}
	return v
}

// MemberDaysOn returns the program's member days among dates (each at
// most once, however many of its rules fall on it).
func (p LoyaltyProgram) MemberDaysOn(dates []time.Time) []MemberDay {
	var out []MemberDay
	for _, d := range dates {
		for _, md := range p.MemberDays {
			if md.Rule.FallsOn(d) {
				out = append(out, MemberDay{ProgramID: p.ID, DayID: md.ID, Date: d, ProgramName: p.Name})
				break
			}
		}
	}
	return out
}

// HolidayCalendar gives the holidays of a year (package calendar computes
// them, lunar ones included, for any year).
type HolidayCalendar interface {
	HolidaysIn(year int) []Holiday
}

// HolidaysOn returns the holidays of cal on any of dates.
func HolidaysOn(cal HolidayCalendar, dates []time.Time) []Holiday {
	var out []Holiday
	seen := map[int]bool{}
	for _, d := range dates {
		if seen[d.Year()] {
			continue
		}
		seen[d.Year()] = true
		for _, h := range cal.HolidaysIn(d.Year()) {
			for _, want := range dates {
				if h.Date.Equal(want) {
					out = append(out, h)
				}
			}
		}
	}
	return out
}
