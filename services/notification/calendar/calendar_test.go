package calendar_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/calendar"
)

// springFestivals are the first days of the lunar year 2000..2040, as the
// Purple Mountain Observatory and the Hong Kong Observatory publish them.
var springFestivals = []string{
	"2000-02-05", "2001-01-24", "2002-02-12", "2003-02-01", "2004-01-22", "2005-02-09", "2006-01-29", "2007-02-18",
	"2008-02-07", "2009-01-26", "2010-02-14", "2011-02-03", "2012-01-23", "2013-02-10", "2014-01-31", "2015-02-19",
	"2016-02-08", "2017-01-28", "2018-02-16", "2019-02-05", "2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22",
	"2024-02-10", "2025-01-29", "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23",
	"2032-02-11", "2033-01-31", "2034-02-19", "2035-02-08", "2036-01-28", "2037-02-15", "2038-02-04", "2039-01-24",
	"2040-02-12",
}

// TestLunarHolidaysOfAnyYear: the moving holidays are computed, not looked
// up, and land on the published dates of many years (2033, whose leap
// month upsets simple tables, among them).
func TestLunarHolidaysOfAnyYear(t *testing.T) {
	t.Parallel()
	cal, err := calendar.Load("")
	if err != nil {
		t.Fatal(err)
	}
	on := func(id string, year int) string {
		for _, h := range cal.HolidaysIn(year) {
			if h.ID == id {
				if h.Names["zh-CN"] == "" || h.Names["en"] == "" {
					t.Errorf("%s %d lacks a name: %v", id, year, h.Names)
				}
				return h.Date.Format(time.DateOnly)
			}
		}
		return ""
	}
	for i, want := range springFestivals {
		if got := on("spring_festival", 2000+i); got != want {
			t.Errorf("Spring Festival %d = %s, want %s", 2000+i, got, want)
		}
	}
	for _, tc := range []struct {
		id   string
		want string
	}{
		{"lantern_festival", "2024-02-24"}, {"lantern_festival", "2025-02-12"}, {"lantern_festival", "2026-03-03"},
		{"lantern_festival", "2027-02-20"},
		{"qingming", "2020-04-04"}, {"qingming", "2022-04-05"}, {"qingming", "2024-04-04"}, {"qingming", "2025-04-04"},
		{"qingming", "2026-04-05"}, {"qingming", "2027-04-05"},
		{"dragon_boat", "2020-06-25"}, {"dragon_boat", "2021-06-14"}, {"dragon_boat", "2022-06-03"},
		{"dragon_boat", "2023-06-22"}, {"dragon_boat", "2024-06-10"}, {"dragon_boat", "2025-05-31"},
		{"dragon_boat", "2026-06-19"}, {"dragon_boat", "2027-06-09"},
		{"mid_autumn", "2020-10-01"}, {"mid_autumn", "2021-09-21"}, {"mid_autumn", "2022-09-10"},
		{"mid_autumn", "2023-09-29"}, {"mid_autumn", "2024-09-17"}, {"mid_autumn", "2025-10-06"},
		{"mid_autumn", "2026-09-25"}, {"mid_autumn", "2027-09-15"},
		{"double_ninth", "2023-10-23"}, {"double_ninth", "2024-10-11"}, {"double_ninth", "2025-10-29"},
		{"new_year", "2061-01-01"}, {"labour_day", "2061-05-01"}, {"national_day", "2061-10-01"},
	} {
		year := tc.want[:4]
		y, _ := time.Parse("2006", year)
		if got := on(tc.id, y.Year()); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.id, year, got, tc.want)
		}
	}
	// In date order, every year, including those where Mid-Autumn follows
	// National Day.
	for _, y := range []int{1900, 2025, 2100, 2200} {
		hs := cal.HolidaysIn(y)
		if len(hs) != 9 {
			t.Errorf("%d has %d holidays, want 9", y, len(hs))
		}
		for i := 1; i < len(hs); i++ {
			if hs[i].Date.Before(hs[i-1].Date) || hs[i].Date.Year() != y {
				t.Errorf("%d: %s on %s out of order or year", y, hs[i].ID, hs[i].Date.Format(time.DateOnly))
			}
		}
	}
	if hs := cal.HolidaysIn(calendar.MaxYear + 1); hs != nil {
		t.Errorf("a year past the range has holidays: %v", hs)
	}
}

func TestDirectoryReplacesYears(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("2025.json", `{"year": 2025, "holidays": [{"id": "company_day", "date": "2025-06-01", "names": {"en": "Company day"}}]}`)
	write("notes.txt", "not a calendar")
	cal, err := calendar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if hs := cal.HolidaysIn(2025); len(hs) != 1 || hs[0].ID != "company_day" {
		t.Errorf("2025 = %v, want the directory's (replacing the computed)", hs)
	}
	if hs := cal.HolidaysIn(2026); len(hs) != 9 {
		t.Errorf("2026 = %v, want the computed year", hs)
	}

	for name, body := range map[string]string{
		"date in another year": `{"year": 2041, "holidays": [{"id": "x", "date": "2042-01-01"}]}`,
		"no id":                `{"year": 2041, "holidays": [{"date": "2041-01-01"}]}`,
		"not json":             `{`,
		"bad date":             `{"year": 2041, "holidays": [{"id": "x", "date": "2041-13-01"}]}`,
		"member days":          `{"year": 2041, "member_days": [{"program_id": "*", "dates": ["2041-01-18"]}]}`,
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, "2041.json"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := calendar.Load(bad); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
