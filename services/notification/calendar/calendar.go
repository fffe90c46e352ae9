// Package calendar reads the notification service's holiday and
// member-day calendar: one JSON file per year (2025.json, ...), since
// Spring Festival, Mid-Autumn and the like move with the lunar calendar.
// The years in this directory are embedded in the binary; a directory of
// files (GUANXI_NOTIFICATION_CALENDAR_DIR) may add years or replace them.
//
// Member days belong to loyalty programs, which publish no API for them
// yet, so they are part of this calendar: program_id names the program,
// "*" every program's members.
package calendar

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// File is one year of the calendar.
type File struct {
	Year     int `json:"year"`
	Holidays []struct {
		ID    string            `json:"id"`
		Date  string            `json:"date"`
		Names map[string]string `json:"names"`
	} `json:"holidays"`
	MemberDays []struct {
		ProgramID string            `json:"program_id"`
		Dates     []string          `json:"dates"`
		Names     map[string]string `json:"names"`
	} `json:"member_days"`
}

//go:embed *.json
var embedded embed.FS

// Load reads the embedded years, then every *.json file of dir (when not
// empty); a file for a year replaces that year's embedded one.
func Load(dir string) (*domain.Calendar, error) {
	years := map[int]File{}
	if err := readDir(embedded, ".", years); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := readDir(os.DirFS(dir), ".", years); err != nil {
			return nil, err
		}
	}
	var keys []int
	for y := range years {
		keys = append(keys, y)
	}
	sort.Ints(keys)
	cal := &domain.Calendar{}
	for _, y := range keys {
		if err := add(cal, years[y]); err != nil {
			return nil, err
		}
	}
	return cal, nil
}

func readDir(fsys fs.FS, dir string, years map[int]File) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("read calendar dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		raw, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("read calendar %s: %w", e.Name(), err)
		}
		var f File
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("calendar %s: %w", e.Name(), err)
		}
		if f.Year < 2000 || f.Year > 2200 {
			return fmt.Errorf("calendar %s: year %d out of range", e.Name(), f.Year)
		}
		years[f.Year] = f
	}
	return nil
}

func add(cal *domain.Calendar, f File) error {
	parse := func(what, s string) (time.Time, error) {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("calendar %d: %s: %w", f.Year, what, err)
		}
		if d.Year() != f.Year {
			return time.Time{}, fmt.Errorf("calendar %d: %s: %s is not in %d", f.Year, what, s, f.Year)
		}
		return d, nil
	}
	for _, h := range f.Holidays {
		if h.ID == "" {
			return fmt.Errorf("calendar %d: a holiday has no id", f.Year)
		}
		d, err := parse(h.ID, h.Date)
		if err != nil {
			return err
		}
		cal.Holidays = append(cal.Holidays, domain.Holiday{ID: h.ID, Date: d, Names: h.Names})
	}
	for _, m := range f.MemberDays {
		if m.ProgramID == "" {
			return fmt.Errorf("calendar %d: a member day has no program_id", f.Year)
		}
		for _, s := range m.Dates {
			d, err := parse("member day of "+m.ProgramID, s)
			if err != nil {
				return err
			}
			cal.MemberDays = append(cal.MemberDays, domain.MemberDay{ProgramID: m.ProgramID, Date: d, Names: m.Names})
		}
	}
	return nil
}
