package domain

import (
	"fmt"
	"time"
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

// MemberDay is a loyalty program's member day.
type MemberDay struct {
	ProgramID string
	Date      time.Time // midnight UTC of the date
	Names     map[string]string
}

// Name returns the member day's name in the recipient's language.
func (m MemberDay) Name(locale string) string {
	return Holiday{ID: "member day", Names: m.Names}.Name(locale)
}

// MemberDayKey is the idempotency key of a member-day notice.
func MemberDayKey(m MemberDay, customerID string) string {
	return "member_day:" + m.ProgramID + ":" + m.Date.Format(time.DateOnly) + ":" + customerID
}

// Calendar holds the dates that move from year to year: holidays such as
// Spring Festival and Mid-Autumn, and member days.
type Calendar struct {
	Holidays   []Holiday
	MemberDays []MemberDay
}

// HolidaysOn returns the holidays on any of dates.
func (c *Calendar) HolidaysOn(dates []time.Time) []Holiday {
	var out []Holiday
	for _, h := range c.Holidays {
		for _, d := range dates {
			if h.Date.Equal(d) {
				out = append(out, h)
			}
		}
	}
	return out
}

// MemberDaysOn returns the member days on any of dates.
func (c *Calendar) MemberDaysOn(dates []time.Time) []MemberDay {
	var out []MemberDay
	for _, m := range c.MemberDays {
		for _, d := range dates {
			if m.Date.Equal(d) {
				out = append(out, m)
			}
		}
	}
	return out
}
