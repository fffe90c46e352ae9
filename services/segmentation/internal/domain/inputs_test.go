package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// TestDaysInAZone: a day is the zone's calendar day, daylight saving
// included; nil is UTC.
func TestDaysInAZone(t *testing.T) {
	t.Parallel()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	march10 := domain.Day(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), nil)
	for _, tt := range []struct {
		at   time.Time
		zone *time.Location
		want int64
	}{
		{time.Date(2026, 3, 10, 23, 30, 0, 0, shanghai), shanghai, march10},  // 15:30 UTC
		{time.Date(2026, 3, 10, 0, 30, 0, 0, shanghai), shanghai, march10},   // 16:30 UTC the day before
		{time.Date(2026, 3, 10, 0, 30, 0, 0, shanghai), nil, march10 - 1},    // in UTC
		{time.Date(2026, 3, 29, 23, 30, 0, 0, berlin), berlin, march10 + 19}, // the night clocks go forward
		{time.Date(2026, 3, 30, 0, 30, 0, 0, berlin), berlin, march10 + 20},  // 22:30 UTC the day before
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), nil, -1},
	} {
		if got := domain.Day(tt.at, tt.zone); got != tt.want {
			t.Errorf("Day(%v in %v) = %d, want %d", tt.at, tt.zone, got, tt.want)
		}
	}
	if m := domain.MonthIndex(time.Date(2026, 4, 1, 7, 0, 0, 0, shanghai), shanghai); m != 2026*12+3 {
		t.Errorf("1 April 07:00 in Shanghai is month %d", m)
	}
}

// TestHistoryGuardsItsInputs: the models get an observation that never
// ends before the last purchase, and a mean spend over the days paid in
// the reporting currency only, never over days whose spend was left out.
func TestHistoryGuardsItsInputs(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 0, 14)
	for _, tt := range []struct {
		name        string
		f           domain.Facts
		until       time.Time
		x, spends   int
		tx, t, mean float64
	}{
		{"all in the currency", domain.Facts{PurchaseDays: 3, SpendDays: 3, RepeatSpend: 6000, First: first, Last: last},
			last.AddDate(0, 0, 7), 2, 2, 2, 3, 30},
		{"a day in another currency", domain.Facts{PurchaseDays: 3, SpendDays: 2, RepeatSpend: 6000, First: first, Last: last},
			last.AddDate(0, 0, 7), 2, 1, 2, 3, 60},
		{"no day in the currency", domain.Facts{PurchaseDays: 3, First: first, Last: last},
			last.AddDate(0, 0, 7), 2, 0, 2, 3, 0},
		{"observed before the last purchase", domain.Facts{PurchaseDays: 2, SpendDays: 2, RepeatSpend: 100, First: first, Last: last},
			last.AddDate(0, 0, -7), 1, 1, 2, 2, 1},
	} {
		h := tt.f.History(tt.until, 100)
		if h.X != tt.x || h.Spends != tt.spends || h.TX != tt.tx || h.T != tt.t || h.MeanValue != tt.mean || !h.Valid() {
			t.Errorf("%s: %+v", tt.name, h)
		}
	}
}
