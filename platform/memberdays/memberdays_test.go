package memberdays_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/memberdays"
)

func TestFallsOn(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		rule memberdays.Rule
		date string
		want bool
	}{
		{memberdays.Rule{Weekday: 3}, "2026-06-17", true}, // a Wednesday
		{memberdays.Rule{Weekday: 3}, "2026-06-18", false},
		{memberdays.Rule{Weekday: 7}, "2026-06-21", true}, // Sunday is 7, not 0
		{memberdays.Rule{MonthDay: 18}, "2026-06-18", true},
		{memberdays.Rule{MonthDay: 18}, "2026-06-19", false},
		{memberdays.Rule{MonthDay: 31}, "2026-06-30", false}, // June has no 31st
		{memberdays.Rule{}, "2026-06-18", false},
	} {
		if got := tc.rule.FallsOn(day(tc.date)); got != tc.want {
			t.Errorf("%+v on %s = %v, want %v", tc.rule, tc.date, got, tc.want)
		}
	}
}
