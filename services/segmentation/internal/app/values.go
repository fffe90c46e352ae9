package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// Values ranks customers by value: a customer's value (ABC class, RFM,
// predictions), full recomputes, the model fit behind the predictions and
// the Pareto summary of the classes.
type Values struct{ *core }

// GetCustomerValue computes a customer's value now; for a customer merged
// into another, the survivor's (which names the survivor).
func (s *Values) GetCustomerValue(ctx context.Context, customerID string) (domain.CustomerValue, error) {
	if err := domain.ValidateCustomerID(customerID); err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	customerID, err := s.survivor(ctx, customerID)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	now := s.now().UTC()
	// Plain reads, not a transaction: on SQLite a transaction takes the
	// write lock, and a value read must not queue behind event ingestion.
	// A purchase committing between the reads shifts the share by that
	// one purchase, which the next read corrects.
	ok, err := s.store.CustomerExists(ctx, customerID)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	if !ok {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: customer %s: %w", customerID, domain.ErrNotFound)
	}
	v, err := s.liveValue(ctx, s.store, customerID, now)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	cats, err := s.store.CategorySpends(ctx, customerID, s.policy.Currency)
	if err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	cv := domain.NewCustomerValue(v, s.policy, cats)
	if cv.SpendByCurrency, err = s.store.SpendByCurrency(ctx, customerID); err != nil {
		return domain.CustomerValue{}, fmt.Errorf("get customer value: %w", err)
	}
	return cv, nil
}

// RecomputeResult sums up a full recompute.
type RecomputeResult struct {
	Customers         int64
	ClassChanges      int64
	MembershipChanges int64
	Duration          time.Duration
	// Phases are the durations of read, compute, write and segments.
	Phases map[string]time.Duration
}

// RecomputeValues recomputes every customer's value from the stored
// history (ABC over the whole population, RFM quintiles, predictions from
// the current fit), stores the values, announces class and RFM segment
// changes of customers that had a value, then recomputes every segment's
// members. A customer whose history an event changed after the facts were
// read (here or on another replica) keeps the value the event stored. In
// this process events also wait for the recompute.
func (s *Values) RecomputeValues(ctx context.Context) (RecomputeResult, error) {
	s.recompute.Lock()
	defer s.recompute.Unlock()
	start := time.Now()
	res := RecomputeResult{Phases: map[string]time.Duration{}}
	now := s.now().UTC()
	facts, err := s.store.AllFacts(ctx, s.policy.WindowAt(now), now)
	if err != nil {
		return res, fmt.Errorf("recompute values: %w", err)
	}
	fit, hasFit, err := s.store.CurrentFit(ctx)
	if err != nil {
		return res, fmt.Errorf("recompute values: %w", err)
	}
	res.Phases["read"] = time.Since(start)

	t := time.Now()
	values, bounds := s.ComputeValues(facts, fit, hasFit, now)
	res.Phases["compute"] = time.Since(t)

	t = time.Now()
	// Each customer's value is written only if no event changed the
	// customer since the facts were read (on any replica): the event's
	// own update, computed with it, stands until the next recompute.
	var changes []domain.Event
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		changes = changes[:0]
		old, err := tx.UpdateValues(ctx, values)
		if err != nil {
			return err
		}
		for _, v := range values {
			if o, ok := old[v.CustomerID]; ok {
				changes = append(changes, domain.ClassChanged{CustomerID: v.CustomerID, Old: o.Class, New: v.Class, OldRFM: o.RFM, NewRFM: v.RFM.Segment})
			}
		}
		if err := tx.PutRFMBounds(ctx, bounds); err != nil {
			return err
		}
		return tx.Publish(ctx, changes...)
	})
	if err != nil {
		return res, fmt.Errorf("recompute values: %w", err)
	}
	res.Phases["write"] = time.Since(t)
	res.Customers, res.ClassChanges = int64(len(values)), int64(len(changes))

	t = time.Now()
	segs, err := s.store.Segments(ctx)
	if err != nil {
		return res, fmt.Errorf("recompute values: %w", err)
	}
	for _, seg := range segs {
		n, err := s.recomputeSegment(ctx, seg)
		if err != nil {
			return res, fmt.Errorf("recompute values: %w", err)
		}
		res.MembershipChanges += n
	}
	res.Phases["segments"] = time.Since(t)
	res.Duration = time.Since(start)
	if s.logger != nil {
		s.logger.InfoContext(ctx, "values recomputed", slog.Int64("customers", res.Customers),
			slog.Int64("class_changes", res.ClassChanges), slog.Int64("membership_changes", res.MembershipChanges),
			slog.Duration("read", res.Phases["read"]), slog.Duration("compute", res.Phases["compute"]),
			slog.Duration("write", res.Phases["write"]), slog.Duration("segments", res.Phases["segments"]),
			slog.Duration("total", res.Duration))
	}
	return res, nil
}

// RecomputeIfUnranked recomputes every value when events still rank each
// customer live against all others, because no recompute has stored ABC
// bounds yet, and there is revenue to rank: on a fresh install, the first
// purchases are soon followed by a recompute whose bounds make events
// cheap, without waiting for the hourly one. It reports whether it ran.
func (s *Values) RecomputeIfUnranked(ctx context.Context) (bool, error) {
	bounds, err := s.store.RFMBounds(ctx)
	if err != nil {
		return false, fmt.Errorf("recompute if unranked: %w", err)
	}
	if bounds.ABC.Set() {
		return false, nil
	}
	ok, err := s.store.HasRevenue(ctx, s.policy.WindowAt(s.now().UTC()))
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.RecomputeValues(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// ComputeValues computes every customer's value from their facts: the ABC
// ranking of the whole population, RFM scores against the population's
// quintiles (returned, for incremental scoring until the next recompute),
// and predictions when a fit exists. It is the recompute's pure core.
func (s *Values) ComputeValues(facts []domain.Facts, fit domain.ModelFit, hasFit bool, now time.Time) ([]domain.Value, domain.RFMBounds) {
	spends := make([]int64, len(facts))
	for i, f := range facts {
		spends[i] = f.Trailing
	}
	classes, shares := domain.Rank(spends, s.policy.Cutoffs)
	bounds := domain.NewRFMBounds(facts, now)
	bounds.ABC = domain.NewABCBounds(spends, classes)
	values := make([]domain.Value, len(facts))
	// Predictions dominate the cost (a hypergeometric series per month of
	// the CLV horizon), so the population is split across the cores.
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	chunk := (len(facts) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(facts))
		if lo >= hi {
			break
		}
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f := facts[i]
				v := domain.Value{Facts: f, Class: classes[i], ShareAbove: shares[i], RFM: bounds.Score(f), ComputeTime: now}
				if hasFit {
					v.Prediction, v.Predicted = s.prediction.Predict(fit, f, now)
				}
				values[i] = v
			}
		})
	}
	wg.Wait()
	return values, bounds
}

// recomputeSegment brings a segment's members in line with its filter
// and returns how many customers entered or left.
func (s *core) recomputeSegment(ctx context.Context, seg domain.Segment) (int64, error) {
	var n int64
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		n = 0
		matching, err := tx.MatchingCustomers(ctx, seg)
		if err != nil {
			return err
		}
		members, err := tx.SegmentMembers(ctx, seg.ID)
		if err != nil {
			return err
		}
		isMember := make(map[string]bool, len(members))
		for _, id := range members {
			isMember[id] = true
		}
		var enter, leave []string
		var evs []domain.Event
		for _, id := range matching {
			if isMember[id] {
				delete(isMember, id)
				continue
			}
			enter = append(enter, id)
			evs = append(evs, domain.MembershipChanged{SegmentID: seg.ID, SegmentName: seg.Name, CustomerID: id, Member: true})
		}
		for id := range isMember {
			leave = append(leave, id)
			evs = append(evs, domain.MembershipChanged{SegmentID: seg.ID, SegmentName: seg.Name, CustomerID: id})
		}
		if err := tx.SetMembers(ctx, seg.ID, enter, true); err != nil {
			return err
		}
		if err := tx.SetMembers(ctx, seg.ID, leave, false); err != nil {
			return err
		}
		n = int64(len(evs))
		return tx.Publish(ctx, evs...)
	})
	return n, err
}

// GetModelFit returns the current model fit.
func (s *Values) GetModelFit(ctx context.Context) (domain.ModelFit, error) {
	fit, ok, err := s.store.CurrentFit(ctx)
	if err != nil {
		return domain.ModelFit{}, fmt.Errorf("get model fit: %w", err)
	}
	if !ok {
		return domain.ModelFit{}, fmt.Errorf("get model fit: no fit yet (RefitModel makes one): %w", domain.ErrNotFound)
	}
	return fit, nil
}

// CheckCalibrationEnd refuses a calibration end in the future, before a
// refit is started (zero is today, and fine).
func (s *Values) CheckCalibrationEnd(calibrationEnd time.Time) error {
	if calibrationEnd.After(s.now().UTC()) {
		return fmt.Errorf("refit model: %w", fieldError("calibration_end_time", "must not be in the future"))
	}
	return nil
}

// RefitModel fits a repeat-purchase model and the Gamma-Gamma model on
// every customer's history up to and including the day of calibrationEnd
// (today when zero), stores the fit as current and recomputes every value
// with it. The repeat-purchase model is the one the policy fixes, or
// (auto) the one that predicted a holdout best (chooseModel). The spend
// model is left unfitted when too few customers repeat; the
// repeat-purchase model is required.
func (s *Values) RefitModel(ctx context.Context, calibrationEnd time.Time) (domain.ModelFit, error) {
	now := s.now().UTC()
	if calibrationEnd.IsZero() {
		calibrationEnd = now
	}
	if err := s.CheckCalibrationEnd(calibrationEnd); err != nil {
		return domain.ModelFit{}, err
	}
	hs, _, err := s.histories(ctx, calibrationEnd)
	if err != nil {
		return domain.ModelFit{}, fmt.Errorf("refit model: %w", err)
	}
	kind, why, err := s.chooseModel(ctx, calibrationEnd, hs)
	if err != nil {
		return domain.ModelFit{}, fmt.Errorf("refit model: %w", err)
	}
	fit, err := FitModels(kind, hs)
	if err != nil {
		return domain.ModelFit{}, fmt.Errorf("refit model: %w", err)
	}
	fit.Choice = why
	fit.FitTime, fit.CalibrationEnd = now, domain.DayStart(calibrationEnd, s.policy.Zone).UTC()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.PutFit(ctx, fit) }); err != nil {
		return domain.ModelFit{}, fmt.Errorf("refit model: %w", err)
	}
	if _, err := s.RecomputeValues(ctx); err != nil {
		return domain.ModelFit{}, fmt.Errorf("refit model: %w", err)
	}
	return fit, nil
}

// histories are the model histories of every customer with a purchase up
// to and including the day of end, in weeks and major units, and their
// customer ids.
func (s *Values) histories(ctx context.Context, end time.Time) ([]model.History, []string, error) {
	facts, err := s.store.AllFacts(ctx, s.policy.WindowAt(end), end)
	if err != nil {
		return nil, nil, err
	}
	buyers := 0
	for _, f := range facts {
		if f.PurchaseDays > 0 {
			buyers++
		}
	}
	// Four parameters need no million customers: above MaxFitCustomers a
	// sample is fitted, chosen by a hash of the id so that refits of the
	// same data fit the same customers.
	stride := uint64(1)
	if buyers > MaxFitCustomers {
		stride = uint64((buyers + MaxFitCustomers - 1) / MaxFitCustomers)
	}
	hs := make([]model.History, 0, min(buyers, MaxFitCustomers+MaxFitCustomers/10))
	ids := make([]string, 0, cap(hs))
	for _, f := range facts {
		if f.PurchaseDays == 0 {
			continue
		}
		if stride > 1 {
			h := fnv.New64a()
			_, _ = h.Write([]byte(f.CustomerID))
			if h.Sum64()%stride != 0 {
				continue
			}
		}
		hs = append(hs, f.History(end, s.prediction.MinorPerMajor))
		ids = append(ids, f.CustomerID)
	}
	return hs, ids, nil
}

// MaxFitCustomers is how many customers a fit uses at most; larger
// populations are sampled. Twenty thousand customers pin four parameters
// far tighter than the 2,357 of the published CDNOW fit, and keep a refit
// within seconds.
const MaxFitCustomers = 20_000

// FitModels fits the repeat-purchase model kind and the spend model on
// histories.
func FitModels(kind model.Kind, hs []model.History) (domain.ModelFit, error) {
	start := time.Now()
	counts, err := model.FitModel(kind, hs)
	if errors.Is(err, model.ErrTooFewCustomers) {
		return domain.ModelFit{}, fmt.Errorf("%v: %w", err, domain.ErrFailedPrecondition)
	}
	if err != nil {
		return domain.ModelFit{}, err
	}
	if !counts.Params.Valid() || math.IsNaN(counts.LogLikelihood) {
		return domain.ModelFit{}, fmt.Errorf("the %s fit did not converge to finite parameters: %w", kind, domain.ErrFailedPrecondition)
	}
	fit := domain.ModelFit{Model: kind, BGNBD: counts.Params.Params, LogLikelihood: counts.LogLikelihood,
		Customers: int64(counts.Customers), BGNBDDuration: counts.Duration}
	gg, err := model.FitGammaGamma(hs)
	switch {
	case err == nil && !gg.Params.Valid():
		// Left unfitted: predictions use each customer's own mean.
	case err == nil:
		fit.Spend, fit.SpendLogLikelihood, fit.RepeatCustomers = gg.Params, gg.LogLikelihood, int64(gg.Customers)
	case !errors.Is(err, model.ErrTooFewCustomers):
		return domain.ModelFit{}, err
	}
	fit.Duration = time.Since(start)
	return fit, nil
}

// ParetoSummary sums up the classes of the stored values' trailing spend
// under cutoffs (the configured ones when zero).
func (s *Values) ParetoSummary(ctx context.Context, cutoffs domain.Cutoffs) (domain.ParetoSummary, time.Time, error) {
	if cutoffs.A == 0 && cutoffs.B == 0 {
		cutoffs = s.policy.Cutoffs
	}
	if err := cutoffs.Validate(); err != nil {
		return domain.ParetoSummary{}, time.Time{}, fmt.Errorf("pareto summary: %w", fieldError("class_a_cutoff", err.Error()))
	}
	spends, err := s.store.TrailingSpends(ctx)
	if err != nil {
		return domain.ParetoSummary{}, time.Time{}, fmt.Errorf("pareto summary: %w", err)
	}
	return domain.NewParetoSummary(spends, cutoffs), s.now().UTC(), nil
}
