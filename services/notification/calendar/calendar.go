// Package calendar gives the holidays customers are greeted on, for any
// year. The fixed ones (New Year, Labour Day, National Day) are dates; the
// lunar ones (Spring Festival, Lantern, Dragon Boat, Mid-Autumn, Double
// Ninth) and Qingming (a solar term) move, and are computed with
// github.com/6tail/lunar-go, which derives new moons and solar terms
// astronomically (the 寿星 algorithm, in China Standard Time as the
// Chinese calendar is defined) rather than reading a table of years.
//
// A directory of JSON files (GUANXI_NOTIFICATION_CALENDAR_DIR), one per
// year, may replace a year's holidays (a company's own days, or an
// official correction): a file for a year replaces the computed ones.
//
// Member days are not here: they belong to loyalty programs, and the
// service learns them from loyalty's events (see domain.LoyaltyProgram).
package calendar

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Years the calendar computes: lunar-go's astronomy holds well beyond
// them, and no customer is greeted outside them.
const (
	MinYear = 1900
	MaxYear = 2200
)

// File is one year of a calendar directory.
type File struct {
	Year     int `json:"year"`
	Holidays []struct {
		ID    string            `json:"id"`
		Date  string            `json:"date"`
		Names map[string]string `json:"names"`
	} `json:"holidays"`
	// MemberDays is refused: member days are the loyalty program's.
	MemberDays json.RawMessage `json:"member_days"`
}

// Calendar answers the holidays of a year, computing each year once.
type Calendar struct {
	overrides map[int][]domain.Holiday

	mu       sync.Mutex
	computed map[int][]domain.Holiday
}

// Load returns the calendar, with the years of every *.json file of dir
// (when not empty) replacing the computed ones.
func Load(dir string) (*Calendar, error) {
	c := &Calendar{overrides: map[int][]domain.Holiday{}, computed: map[int][]domain.Holiday{}}
	if dir == "" {
		return c, nil
	}
	if err := c.readDir(os.DirFS(dir)); err != nil {
		return nil, err
	}
	return c, nil
}

// HolidaysIn returns the holidays of year, in date order.
func (c *Calendar) HolidaysIn(year int) []domain.Holiday {
	if hs, ok := c.overrides[year]; ok {
		return hs
	}
	if year < MinYear || year > MaxYear {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hs, ok := c.computed[year]
	if !ok {
		hs = Compute(year)
		c.computed[year] = hs
	}
	return hs
}

// holiday is one holiday of the computed calendar.
type holiday struct {
	id     string
	zh, en string
	date   func(year int) time.Time
}

func fixed(month time.Month, day int) func(int) time.Time {
	return func(y int) time.Time { return time.Date(y, month, day, 0, 0, 0, 0, time.UTC) }
}

// lunarDate is the Gregorian date of a day of a lunar year's month (never
// the leap month of the same number: festivals keep the regular one).
func lunarDate(month, day int) func(int) time.Time {
	return func(y int) time.Time {
		s := lunar.NewLunarFromYmd(y, month, day).GetSolar()
		return time.Date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 0, 0, 0, 0, time.UTC)
	}
}

// qingming is the day of the solar term 清明 (the sun at 15° ecliptic
// longitude), around 5 April.
func qingming(y int) time.Time {
	s := lunar.NewLunarFromYmd(y, 3, 1).GetJieQiTable()["清明"]
	return time.Date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 0, 0, 0, 0, time.UTC)
}

// holidays of the computed calendar. The lunar ones of lunar year y all
// fall in Gregorian year y (Spring Festival is 21 January at the earliest,
// Double Ninth 8 November at the latest).
var holidays = []holiday{
	{id: "new_year", zh: "元旦", en: "New Year", date: fixed(time.January, 1)},
	{id: "spring_festival", zh: "春节", en: "Spring Festival", date: lunarDate(1, 1)},
	{id: "lantern_festival", zh: "元宵节", en: "Lantern Festival", date: lunarDate(1, 15)},
	{id: "qingming", zh: "清明节", en: "Qingming Festival", date: qingming},
	{id: "labour_day", zh: "劳动节", en: "Labour Day", date: fixed(time.May, 1)},
	{id: "dragon_boat", zh: "端午节", en: "Dragon Boat Festival", date: lunarDate(5, 5)},
	{id: "mid_autumn", zh: "中秋节", en: "Mid-Autumn Festival", date: lunarDate(8, 15)},
	{id: "national_day", zh: "国庆节", en: "National Day", date: fixed(time.October, 1)},
	{id: "double_ninth", zh: "重阳节", en: "Double Ninth Festival", date: lunarDate(9, 9)},
}

// Compute returns the holidays of year computed from the rules above, in
// date order.
func Compute(year int) []domain.Holiday {
	out := make([]domain.Holiday, 0, len(holidays))
	for _, h := range holidays {
		out = append(out, domain.Holiday{ID: h.id, Date: h.date(year), Names: map[string]string{"zh-CN": h.zh, "en": h.en}})
	}
	// Mid-Autumn falls on or after National Day in some years (2025).
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Date.Before(out[j-1].Date); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (c *Calendar) readDir(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("read calendar dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		raw, err := fs.ReadFile(fsys, path.Join(".", e.Name()))
		if err != nil {
			return fmt.Errorf("read calendar %s: %w", e.Name(), err)
		}
		var f File
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("calendar %s: %w", e.Name(), err)
		}
		if f.Year < MinYear || f.Year > MaxYear {
			return fmt.Errorf("calendar %s: year %d out of range", e.Name(), f.Year)
		}
		if len(f.MemberDays) > 0 && string(f.MemberDays) != "null" {
			return fmt.Errorf("calendar %s: member days are set on the loyalty program (its member_days), not in the calendar", e.Name())
		}
		hs, err := parse(f)
		if err != nil {
			return err
		}
		c.overrides[f.Year] = hs
	}
	return nil
}

func parse(f File) ([]domain.Holiday, error) {
	out := make([]domain.Holiday, 0, len(f.Holidays))
	for _, h := range f.Holidays {
		if h.ID == "" {
			return nil, fmt.Errorf("calendar %d: a holiday has no id", f.Year)
		}
		d, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			return nil, fmt.Errorf("calendar %d: %s: %w", f.Year, h.ID, err)
		}
		if d.Year() != f.Year {
			return nil, fmt.Errorf("calendar %d: %s: %s is not in %d", f.Year, h.ID, h.Date, f.Year)
		}
		out = append(out, domain.Holiday{ID: h.ID, Date: d, Names: h.Names})
	}
	return out, nil
}
