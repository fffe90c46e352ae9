package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/memberdays"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

func TestMissesDay(t *testing.T) {
	t.Parallel()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	quiet := domain.QuietHours{Start: 21 * 60, End: 8 * 60}
	at := func(h, m int) time.Time { return time.Date(2026, 2, 17, h, m, 0, 0, sh) }
	for _, tc := range []struct {
		name           string
		notBefore, now time.Time
		q              domain.QuietHours
		want           bool
	}{
		{"morning scan, goes at nine", at(9, 0), at(0, 30), quiet, false},
		{"evening scan before quiet hours", at(9, 0), at(20, 0), quiet, false},
		{"scan in the evening's quiet hours", at(9, 0), at(22, 0), quiet, true},
		{"quiet from eight until midnight", at(9, 0), at(0, 10), domain.QuietHours{Start: 8 * 60, End: 0}, true},
		{"quiet until 23:59 leaves a minute", at(9, 0), at(0, 10), domain.QuietHours{Start: 0, End: 23*60 + 59}, false},
		{"no quiet hours", at(9, 0), at(23, 59), domain.QuietHours{}, false},
	} {
		if got := domain.MissesDay(tc.notBefore, tc.now, sh, tc.q); got != tc.want {
			t.Errorf("%s: MissesDay = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDatedMessageDayEnds(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 2, 17, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai, 20:00 the 16th in New York
	for _, tc := range []struct {
		template, zone string
		want           time.Time
		dated          bool
	}{
		{domain.KindHoliday, "Asia/Shanghai", time.Date(2026, 2, 17, 16, 0, 0, 0, time.UTC), true},
		{domain.KindBirthday, "America/New_York", time.Date(2026, 2, 17, 5, 0, 0, 0, time.UTC), true},
		{domain.KindMemberDay, "", time.Date(2026, 2, 17, 16, 0, 0, 0, time.UTC), true},
		{domain.KindWelcome, "Asia/Shanghai", time.Time{}, false},
	} {
		m := domain.Message{CustomerID: "c", Template: tc.template, TimeZone: tc.zone, CreateTime: created}
		end, dated := m.DayEnds()
		if dated != tc.dated || !end.Equal(tc.want) {
			t.Errorf("%s in %q: DayEnds = %v, %v; want %v, %v", tc.template, tc.zone, end, dated, tc.want, tc.dated)
		}
	}
}

func TestProgramMemberDaysOn(t *testing.T) {
	t.Parallel()
	p := domain.LoyaltyProgram{ID: "p", Name: "Gold", MemberDays: []domain.ProgramMemberDay{
		{ID: "wed", Rule: memberdays.Rule{Weekday: 3}}, {ID: "18th", Rule: memberdays.Rule{MonthDay: 18}},
	}}
	day := func(d int) time.Time { return time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC) }
	got := p.MemberDaysOn([]time.Time{day(16), day(18), day(19)}) // Mon; Wed the 18th (two rules, one day); Thu
	if len(got) != 1 || !got[0].Date.Equal(day(18)) || got[0].Name("en") != "Gold" {
		t.Errorf("member days = %+v, want the 18th once", got)
	}
	if n := (domain.MemberDay{}).Name("en"); n != "member day" {
		t.Errorf("a nameless program's member day is called %q", n)
	}
	if err := (domain.LoyaltyProgram{ID: "p", MemberDays: []domain.ProgramMemberDay{{Rule: memberdays.Rule{Weekday: 1, MonthDay: 2}}}}).Validate().Err(); err == nil {
		t.Error("a rule with both a weekday and a month day is valid")
	}
}
