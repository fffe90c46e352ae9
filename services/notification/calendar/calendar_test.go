package calendar_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/calendar"
)

func TestEmbeddedYears(t *testing.T) {
	t.Parallel()
	cal, err := calendar.Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"2025-01-29": false, "2026-02-17": false, "2027-02-06": false, // Spring Festival
		"2025-10-06": false, "2026-09-25": false, "2027-09-15": false} // Mid-Autumn
	for _, h := range cal.Holidays {
		if _, ok := want[h.Date.Format(time.DateOnly)]; ok && (h.ID == "spring_festival" || h.ID == "mid_autumn") {
			want[h.Date.Format(time.DateOnly)] = true
		}
		if h.Names["zh-CN"] == "" || h.Names["en"] == "" {
			t.Errorf("holiday %s on %s lacks a name", h.ID, h.Date.Format(time.DateOnly))
		}
	}
	for d, found := range want {
		if !found {
			t.Errorf("no Spring Festival or Mid-Autumn on %s", d)
		}
	}
	if len(cal.MemberDays) != 36 {
		t.Errorf("%d member days, want the 18th of every month of three years", len(cal.MemberDays))
	}
}

func TestDirectoryAddsAndReplacesYears(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("2025.json", `{"year": 2025, "holidays": [{"id": "company_day", "date": "2025-06-01", "names": {"en": "Company day"}}]}`)
	write("2040.json", `{"year": 2040, "holidays": [{"id": "spring_festival", "date": "2040-02-12"}]}`)
	write("notes.txt", "not a calendar")
	cal, err := calendar.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range cal.Holidays {
		if h.Date.Year() == 2025 || h.Date.Year() == 2040 {
			ids = append(ids, h.ID)
		}
	}
	if len(ids) != 2 || ids[0] != "company_day" || ids[1] != "spring_festival" {
		t.Errorf("2025 and 2040 holidays = %v, want the directory's (2025 replaced)", ids)
	}

	for name, body := range map[string]string{
		"date in another year": `{"year": 2041, "holidays": [{"id": "x", "date": "2042-01-01"}]}`,
		"no id":                `{"year": 2041, "holidays": [{"date": "2041-01-01"}]}`,
		"not json":             `{`,
		"bad date":             `{"year": 2041, "holidays": [{"id": "x", "date": "2041-13-01"}]}`,
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
