package domain

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// DefaultTimeZone is the zone of a calendar that names none.
const DefaultTimeZone = "Asia/Shanghai"

// maxCalendarDays bounds how far the SLA arithmetic walks: a calendar with
// (almost) no working time must not make it loop for ever.
const maxCalendarDays = 5 * 366

var (
	calendarID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	clockTime  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// BusinessHours are the working hours of one weekday, in minutes after
// local midnight.
type BusinessHours struct {
	// Weekday is 1 (Monday) to 7 (Sunday), as ISO 8601 counts.
	Weekday int
	Start   string // "HH:MM"
	End     string // "HH:MM", after Start
}

// BusinessCalendar is when SLA clocks run: working hours per weekday in a
// time zone, minus whole-day holidays.
type BusinessCalendar struct {
	ID       string
	Name     string
	TimeZone string
	Hours    []BusinessHours
	// Holidays are local dates, "2006-01-02".
	Holidays []string

	loc      *time.Location
	holidays map[string]bool
}

// Normalize fills the default time zone.
func (c *BusinessCalendar) Normalize() {
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
}

// Validate checks a calendar and prepares it for the SLA arithmetic.
func (c *BusinessCalendar) Validate() validation.Violations {
	var v validation.Violations
	if !calendarID.MatchString(c.ID) {
		v.Add("id", "must be 1 to 63 lower-case letters, digits or hyphens")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		v.Add("time_zone", "is not an IANA time zone")
	}
	c.loc = loc
	if len(c.Hours) == 0 {
		v.Add("hours", "must have at least one working period")
	}
	for i, h := range c.Hours {
		f := fmt.Sprintf("hours[%d]", i)
		if h.Weekday < 1 || h.Weekday > 7 {
			v.Add(f+".weekday", "must be 1 (Monday) to 7 (Sunday)")
		}
		if !clockTime.MatchString(h.Start) {
			v.Add(f+".start_time", `must be "HH:MM"`)
		}
		if !clockTime.MatchString(h.End) {
			v.Add(f+".end_time", `must be "HH:MM"`)
		} else if h.End <= h.Start {
			v.Add(f+".end_time", "must be after start_time")
		}
	}
	c.holidays = map[string]bool{}
	for i, d := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			v.Add(fmt.Sprintf("holidays[%d]", i), `must be a date "YYYY-MM-DD"`)
		}
		c.holidays[d] = true
	}
	return v
}

// interval is one working period of a day.
type interval struct{ start, end time.Time }

// periods returns the working periods of the local day that t falls in,
// in order.
func (c *BusinessCalendar) periods(day time.Time) []interval {
	if c.holidays[day.Format(time.DateOnly)] {
		return nil
	}
	wd := int(day.Weekday())
	if wd == 0 {
		wd = 7
	}
	var out []interval
	for _, h := range c.Hours {
		if h.Weekday != wd {
			continue
		}
		out = append(out, interval{at(day, h.Start, c.loc), at(day, h.End, c.loc)})
	}
	slices.SortFunc(out, func(a, b interval) int { return a.start.Compare(b.start) })
	return out
}

func at(day time.Time, hhmm string, loc *time.Location) time.Time {
	var h, m int
	_, _ = fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
}

func nextDay(day time.Time, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
}

// AddBusiness returns the moment d of business time after from. A
// calendar without working time within five years gives the zero time.
func (c *BusinessCalendar) AddBusiness(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	t := from.In(c.loc)
	for range maxCalendarDays {
		for _, p := range c.periods(t) {
			if !t.Before(p.end) {
				continue
			}
			start := t
			if start.Before(p.start) {
				start = p.start
			}
			if avail := p.end.Sub(start); d <= avail {
				return start.Add(d).UTC()
			} else {
				d -= avail
			}
			t = p.end
		}
		t = nextDay(t, c.loc)
	}
	return time.Time{}
}

// BusinessBetween returns the business time between from and to (zero
// when to is not after from).
func (c *BusinessCalendar) BusinessBetween(from, to time.Time) time.Duration {
	var sum time.Duration
	t := from.In(c.loc)
	for range maxCalendarDays {
		if !t.Before(to) {
			break
		}
		for _, p := range c.periods(t) {
			s, e := p.start, p.end
			if s.Before(t) {
				s = t
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
		t = nextDay(t, c.loc)
	}
	return sum
}
