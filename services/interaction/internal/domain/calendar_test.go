package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

func weekdays(start, end string) []domain.BusinessHours {
	var h []domain.BusinessHours
	for d := 1; d <= 5; d++ {
		h = append(h, domain.BusinessHours{Weekday: d, Start: start, End: end})
	}
	return h
}

func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBusinessCalendar(t *testing.T) {
	t.Parallel()
	cal := domain.BusinessCalendar{ID: "cn", Hours: append(weekdays("09:00", "12:00"),
		append(weekdays("13:00", "18:00"), domain.BusinessHours{Weekday: 6, Start: "10:00", End: "12:00"})...),
		Holidays: []string{"2025-10-01"}}
	cal.Normalize()
	if v := cal.Validate(); len(v) > 0 {
		t.Fatal(v)
	}
	tests := []struct {
		name, from string
		d          time.Duration
		want       string
	}{
		{"inside a period", "2025-03-03 09:30", time.Hour, "2025-03-03 10:30"},
		{"across lunch", "2025-03-03 11:30", time.Hour, "2025-03-03 13:30"},
		{"before opening", "2025-03-03 07:00", 2 * time.Hour, "2025-03-03 11:00"},
		{"friday evening to saturday morning", "2025-03-07 17:55", 2 * time.Hour, "2025-03-08 11:55"},
		{"saturday to monday", "2025-03-08 11:30", time.Hour, "2025-03-10 09:30"},
		{"over a holiday", "2025-09-30 17:00", 2 * time.Hour, "2025-10-02 10:00"},
		{"exactly at closing", "2025-03-03 17:00", time.Hour, "2025-03-03 18:00"},
		{"zero", "2025-03-09 03:00", 0, "2025-03-09 03:00"},
	}
	for _, tt := range tests {
		got := cal.AddBusiness(shanghai(t, tt.from), tt.d)
		if want := shanghai(t, tt.want); !got.Equal(want) {
			t.Errorf("%s: AddBusiness(%s, %v) = %v, want %v", tt.name, tt.from, tt.d, got.In(want.Location()), want)
		}
		if tt.d > 0 {
			if back := cal.BusinessBetween(shanghai(t, tt.from), got); back != tt.d {
				t.Errorf("%s: BusinessBetween = %v, want %v", tt.name, back, tt.d)
			}
		}
	}
	if got := cal.BusinessBetween(shanghai(t, "2025-03-07 17:00"), shanghai(t, "2025-03-10 10:00")); got != 4*time.Hour {
		t.Errorf("Friday 17:00 to Monday 10:00 = %v, want 4h (1 Friday, 2 Saturday, 1 Monday)", got)
	}
	empty := domain.BusinessCalendar{ID: "x", TimeZone: "UTC", Hours: []domain.BusinessHours{{Weekday: 1, Start: "09:00", End: "10:00"}}}
	empty.Validate()
	if got := empty.AddBusiness(shanghai(t, "2025-03-03 09:00"), 10*365*24*time.Hour); !got.IsZero() {
		t.Errorf("a target beyond five years of calendar = %v, want zero", got)
	}
}

func TestBusinessCalendarValidate(t *testing.T) {
	t.Parallel()
	bad := domain.BusinessCalendar{ID: "Bad ID", TimeZone: "Mars/Olympus",
		Hours: []domain.BusinessHours{{Weekday: 8, Start: "9:00", End: "08:00"}}, Holidays: []string{"2025-13-01"}}
	got := fields(bad.Validate())
	want := []string{"id", "time_zone", "hours[0].weekday", "hours[0].start_time", "hours[0].end_time", "holidays[0]"}
	if len(got) != len(want) {
		t.Fatalf("violations = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("violation %d = %s, want %s", i, got[i], want[i])
		}
	}
}
