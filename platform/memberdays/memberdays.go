// Package memberdays says which calendar days a loyalty program's member
// day (会员日) rule falls on. The loyalty service owns the rules and applies
// them to earning; the notification service learns them from loyalty's
// events and greets members on the same days. Both ask this package, so
// the two can never disagree on what a rule means.
package memberdays

import "time"

// Rule is one recurring member day: a weekday (1 Monday .. 7 Sunday) or a
// day of the month (1..31; a month without that day has none), exactly one
// of them set.
type Rule struct {
	Weekday  int
	MonthDay int
}

// FallsOn reports whether the rule's day is the calendar date of d (its
// year, month and day as d's location reads them).
func (r Rule) FallsOn(d time.Time) bool {
	wd := int(d.Weekday())
	if wd == 0 {
		wd = 7
	}
	return (r.Weekday != 0 && r.Weekday == wd) || (r.MonthDay != 0 && r.MonthDay == d.Day())
}
