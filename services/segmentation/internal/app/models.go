package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// The holdout of an automatic model choice: half the history, at most a
// year, at least minHoldoutWeeks.
const (
	maxHoldoutWeeks = 52
	minHoldoutWeeks = 4
	// holdoutPoints is how many points the cumulative chart has at most:
	// each is one read of every customer's facts.
	holdoutPoints = 13
)

// chooseModel says which repeat-purchase model a refit up to
// calibrationEnd fits on histories, and why: the policy's, or (auto) the
// one whose predictions of the last part of the history, from a fit on the
// part before, were closest (compareModels). Without enough history for a
// holdout it is BG/NBD, the established default.
func (s *Values) chooseModel(ctx context.Context, calibrationEnd time.Time, hs []model.History) (model.Kind, string, error) {
	if s.prediction.Model != "" && s.prediction.Model != domain.ModelAuto {
		kind, err := model.ParseKind(s.prediction.Model)
		return kind, "fixed by the deployment's setting", err
	}
	span := 0.0
	for _, h := range hs {
		span = max(span, h.T)
	}
	weeks := min(maxHoldoutWeeks, int(span/2))
	if weeks < minHoldoutWeeks {
		return model.KindBGNBD, fmt.Sprintf("bgnbd by default: %.0f weeks of history leave no holdout of %d weeks to compare the models on", span, minHoldoutWeeks), nil
	}
	// One point, the end of the holdout: the choice needs no cumulative
	// chart, and each point is a read of every customer's facts.
	end := domain.DayStart(calibrationEnd, s.policy.Zone).UTC().AddDate(0, 0, -7*weeks)
	v, err := s.compareModels(ctx, end, weeks, 1)
	if errors.Is(err, domain.ErrFailedPrecondition) {
		return model.KindBGNBD, fmt.Sprintf("bgnbd by default: the models could not be compared on a %d-week holdout (%v)", weeks, err), nil
	}
	if err != nil {
		return "", "", err
	}
	return v.Models[v.Chosen].Fit.Params.Kind, v.Reason, nil
}

// ValidateModel fits each repeat-purchase model on the purchases up to
// and including the day of calibrationEnd and compares its predictions
// with what the same customers bought in the next holdoutWeeks: by
// calibration frequency, cumulatively, and per customer. calibrationEnd
// zero is holdoutWeeks before today; the holdout must have ended.
func (s *Values) ValidateModel(ctx context.Context, calibrationEnd time.Time, holdoutWeeks int) (domain.ModelValidation, error) {
	now := s.now().UTC()
	if holdoutWeeks < 1 || holdoutWeeks > 520 {
		return domain.ModelValidation{}, fmt.Errorf("validate model: %w", fieldError("holdout_weeks", "must be 1 to 520"))
	}
	if calibrationEnd.IsZero() {
		calibrationEnd = now.AddDate(0, 0, -7*holdoutWeeks)
	}
	end := domain.DayStart(calibrationEnd, s.policy.Zone).UTC()
	if end.AddDate(0, 0, 7*holdoutWeeks).After(now) {
		return domain.ModelValidation{}, fmt.Errorf("validate model: %w", fieldError("calibration_end_time", "must be at least holdout_weeks before now"))
	}
	v, err := s.compareModels(ctx, end, holdoutWeeks, holdoutPoints)
	if err != nil {
		return domain.ModelValidation{}, fmt.Errorf("validate model: %w", err)
	}
	return v, nil
}

// compareModels fits both models on the histories up to the day end and
// validates them on the next holdoutWeeks, at up to points points.
func (s *Values) compareModels(ctx context.Context, end time.Time, holdoutWeeks, points int) (domain.ModelValidation, error) {
	hs, ids, err := s.histories(ctx, end)
	if err != nil {
		return domain.ModelValidation{}, err
	}
	// The cumulative chart's points: every step weeks, and the end.
	step := (holdoutWeeks + points - 1) / points
	var weeks []float64
	for w := step; ; w += step {
		w = min(w, holdoutWeeks)
		weeks = append(weeks, float64(w))
		if w == holdoutWeeks {
			break
		}
	}
	cs := make([]model.Holdout, len(hs))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		cs[i] = model.Holdout{History: hs[i], Counts: make([]int, len(weeks))}
		index[id] = i
	}
	for k, w := range weeks {
		at := end.AddDate(0, 0, 7*int(w))
		facts, err := s.store.AllFacts(ctx, s.policy.WindowAt(at), at)
		if err != nil {
			return domain.ModelValidation{}, err
		}
		for _, f := range facts {
			// Purchase days since the calibration: the history's x + 1
			// days were before it.
			if i, ok := index[f.CustomerID]; ok {
				cs[i].Counts[k] = int(f.PurchaseDays) - (cs[i].History.X + 1)
			}
		}
	}
	out := domain.ModelValidation{CalibrationEnd: end, HoldoutWeeks: holdoutWeeks, Customers: len(hs)}
	for _, kind := range []model.Kind{model.KindBGNBD, model.KindMBGNBD} {
		fit, err := model.FitModel(kind, hs)
		if errors.Is(err, model.ErrTooFewCustomers) {
			return domain.ModelValidation{}, fmt.Errorf("%v: %w", err, domain.ErrFailedPrecondition)
		}
		if err != nil {
			return domain.ModelValidation{}, err
		}
		v, err := model.Validate(fit, weeks, cs)
		if err != nil {
			return domain.ModelValidation{}, err
		}
		out.Models = append(out.Models, v)
	}
	var why string
	out.Chosen, why = model.Choose(out.Models)
	out.Reason = fmt.Sprintf("%s (fitted up to %s, checked on the next %d weeks of %d customers)",
		why, end.Format(time.DateOnly), holdoutWeeks, len(hs))
	return out, nil
}

// Outlook returns what the current fit says of a customer's purchases over
// the next weeks (P(X = n) for n = 0..maxCount), or of a customer just
// acquired when customerID is empty.
func (s *Values) Outlook(ctx context.Context, customerID string, weeks, maxCount int) (domain.Outlook, error) {
	if customerID != "" {
		if err := domain.ValidateCustomerID(customerID); err != nil {
			return domain.Outlook{}, fmt.Errorf("outlook: %w", err)
		}
	}
	if weeks < 1 || weeks > 520 {
		return domain.Outlook{}, fmt.Errorf("outlook: %w", fieldError("horizon_weeks", "must be 1 to 520"))
	}
	if maxCount < 0 || maxCount > 100 {
		return domain.Outlook{}, fmt.Errorf("outlook: %w", fieldError("max_count", "must be 0 to 100"))
	}
	fit, ok, err := s.store.CurrentFit(ctx)
	if err != nil {
		return domain.Outlook{}, fmt.Errorf("outlook: %w", err)
	}
	if !ok {
		return domain.Outlook{}, fmt.Errorf("outlook: no fit yet (RefitModel makes one): %w", domain.ErrFailedPrecondition)
	}
	now := s.now().UTC()
	var facts *domain.Facts
	if customerID != "" {
		if customerID, err = s.survivor(ctx, customerID); err != nil {
			return domain.Outlook{}, fmt.Errorf("outlook: %w", err)
		}
		exists, err := s.store.CustomerExists(ctx, customerID)
		if err != nil {
			return domain.Outlook{}, fmt.Errorf("outlook: %w", err)
		}
		if !exists {
			return domain.Outlook{}, fmt.Errorf("outlook: customer %s: %w", customerID, domain.ErrNotFound)
		}
		fs, err := s.store.FactsOf(ctx, []string{customerID}, s.policy.WindowAt(now))
		if err != nil {
			return domain.Outlook{}, fmt.Errorf("outlook: %w", err)
		}
		f := fs[customerID]
		f.CustomerID = customerID
		if f.PurchaseDays == 0 {
			return domain.Outlook{}, fmt.Errorf("outlook: customer %s has no purchase to predict from: %w", customerID, domain.ErrFailedPrecondition)
		}
		facts = &f
	}
	o, ok := s.prediction.Outlook(fit, facts, now, weeks, maxCount)
	if !ok {
		return domain.Outlook{}, fmt.Errorf("outlook: the fit gives no finite prediction here: %w", domain.ErrFailedPrecondition)
	}
	return o, nil
}
