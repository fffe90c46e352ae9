package app

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// Demand reads the monthly demand per product category and forecasts it.
type Demand struct{ *core }

// DemandSeries is a category's monthly demand from its first month with
// sales to the current month, months without sales as zeros.
type DemandSeries struct {
	Category string
	// FirstMonth is year*12 + month-1 of Quantity[0].
	FirstMonth int
	Quantity   []float64
	// Revenue in minor units of the reporting currency.
	Revenue []float64
	// IncompleteFrom is the first month (as FirstMonth) that is still
	// running, so its figures are partial: the current month (and any
	// later one a future-dated sale falls in). 0 when every month is
	// complete.
	IncompleteFrom int
}

// DemandForecast is a category's history and forecast: Quantity and
// Revenue carry the method, any fallback and the held-out errors.
type DemandForecast struct {
	History, Forecast DemandSeries
	Quantity, Revenue model.Forecast
}

// Limits of a forecast request.
const (
	DefaultForecastMonths = 6
	MaxForecastMonths     = 36
)

// ListDemandSeries returns the monthly demand of one category or all; the
// current month is marked incomplete (IncompleteFrom).
func (s *Demand) ListDemandSeries(ctx context.Context, category string) ([]DemandSeries, error) {
	if err := validateCategory(category, false); err != nil {
		return nil, fmt.Errorf("list demand series: %w", err)
	}
	rows, err := s.store.Demand(ctx, category, s.policy.Currency)
	if err != nil {
		return nil, fmt.Errorf("list demand series: %w", err)
	}
	current := monthIndex(s)
	var out []DemandSeries
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Category == rows[i].Category {
			j++
		}
		d := series(rows[i:j], current)
		d.IncompleteFrom = current
		out = append(out, d)
		i = j
	}
	return out, nil
}

// monthIndex is the current month in the company's time zone, the
// calendar the stored months are in.
func monthIndex(s *Demand) int {
	return domain.MonthIndex(s.now(), s.policy.Zone)
}

// series lays one category's rows (sorted by month) out month by month
// up to last (or the last row's month when later).
func series(rows []domain.DemandRow, last int) DemandSeries {
	first := rows[0].Month
	last = max(last, rows[len(rows)-1].Month)
	d := DemandSeries{Category: rows[0].Category, FirstMonth: first,
		Quantity: make([]float64, last-first+1), Revenue: make([]float64, last-first+1)}
	for _, r := range rows {
		d.Quantity[r.Month-first] += float64(r.Quantity)
		d.Revenue[r.Month-first] += float64(r.Revenue)
	}
	return d
}

func validateCategory(c string, required bool) error {
	switch {
	case required && strings.TrimSpace(c) == "":
		return fieldError("category", "is required")
	case !utf8.ValidString(c) || len(c) > 200:
		return fieldError("category", "must be valid UTF-8 of at most 200 bytes")
	}
	return nil
}

// ForecastDemand forecasts a category's quantity and revenue for the next
// months after the last complete month: the current month is still
// selling, so it is neither history nor error.
func (s *Demand) ForecastDemand(ctx context.Context, category string, horizon int32) (DemandForecast, error) {
	if err := validateCategory(category, true); err != nil {
		return DemandForecast{}, fmt.Errorf("forecast demand: %w", err)
	}
	switch {
	case horizon < 0 || horizon > MaxForecastMonths:
		return DemandForecast{}, fmt.Errorf("forecast demand: %w", fieldError("horizon_months", "must be 0 to 36"))
	case horizon == 0:
		horizon = DefaultForecastMonths
	}
	rows, err := s.store.Demand(ctx, category, s.policy.Currency)
	if err != nil {
		return DemandForecast{}, fmt.Errorf("forecast demand: %w", err)
	}
	lastComplete := monthIndex(s) - 1
	var complete []domain.DemandRow
	for _, r := range rows {
		if r.Month <= lastComplete {
			complete = append(complete, r)
		}
	}
	if len(complete) == 0 {
		return DemandForecast{}, fmt.Errorf("forecast demand: category %q has no complete month of sales: %w", category, domain.ErrNotFound)
	}
	hist := series(complete, lastComplete)
	q, err := model.ForecastSeries(hist.Quantity, int(horizon))
	if err != nil {
		return DemandForecast{}, fmt.Errorf("forecast demand: category %q has %d months of history, %d needed: %w", category, len(hist.Quantity), model.MinPeriods, domain.ErrFailedPrecondition)
	}
	r, err := model.ForecastSeries(hist.Revenue, int(horizon))
	if err != nil {
		return DemandForecast{}, fmt.Errorf("forecast demand: %w", domain.ErrFailedPrecondition)
	}
	return DemandForecast{
		History:  hist,
		Forecast: DemandSeries{Category: category, FirstMonth: lastComplete + 1, Quantity: q.Values, Revenue: r.Values},
		Quantity: q, Revenue: r,
	}, nil
}
