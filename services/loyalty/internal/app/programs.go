package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Programs keeps the loyalty programs: their earning rules, tiers,
// expiry and member days.
type Programs struct{ *core }

// ProgramFields are the fields of a program an update may name.
var ProgramFields = []string{
	"name", "time_zone", "auto_enroll", "welcome_points", "base_rates", "earn_rules", "currency_code",
	"min_spend_minor", "order_cap_points", "day_cap_points", "engagement_rules", "tiers", "tier_window_months",
	"tier_grace_days", "pending_days", "expiry_kind", "expiry_months", "expiry_notice_days", "member_days",
}

// EnsureProgram stores p (with its id) unless a program with that id
// exists: the default program a deployment starts with. Replicas starting
// together all ensure it harmlessly.
func (s *Programs) EnsureProgram(ctx context.Context, p domain.Program) error {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return fmt.Errorf("ensure program: %w", err)
	}
	p.CreateTime, p.UpdateTime = s.now(), s.now()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.EnsureProgram(ctx, p) }); err != nil {
		return fmt.Errorf("ensure program: %w", err)
	}
	s.forgetPrograms()
	return nil
}

// AnnouncePrograms publishes every program as it now is (ProgramChanged),
// as the service starts: a consumer that missed a change, or lost its read
// model, catches up, and the default program EnsureProgram created is
// announced too. Consumers keep the latest by update time, so restating a
// program changes nothing for one that is up to date.
func (s *Programs) AnnouncePrograms(ctx context.Context) error {
	ps, err := s.store.Programs(ctx)
	if err != nil {
		return fmt.Errorf("announce programs: %w", err)
	}
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		for _, p := range ps {
			if err := tx.Publish(ctx, domain.ProgramChanged{Program: p}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce programs: %w", err)
	}
	return nil
}

// CreateProgram creates a program; the same requestID returns the program
// it created.
func (s *Programs) CreateProgram(ctx context.Context, p domain.Program, requestID string) (domain.Program, error) {
	if requestID != "" {
		if got, err := s.store.ProgramByRequest(ctx, requestID); err == nil {
			return got, nil
		}
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return domain.Program{}, fmt.Errorf("create program: %w", nest(err, "program"))
	}
	p.ID = s.id()
	p.CreateTime, p.UpdateTime = s.now(), s.now()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.InsertProgram(ctx, p, requestID); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.ProgramChanged{Program: p})
	})
	if err != nil {
		if requestID != "" {
			// Lost a race with the same request: answer as it did.
			if got, gerr := s.store.ProgramByRequest(ctx, requestID); gerr == nil {
				return got, nil
			}
		}
		return domain.Program{}, fmt.Errorf("create program: %w", err)
	}
	s.forgetPrograms()
	return p, nil
}

// Program returns a program ("" is the default program).
func (s *Programs) Program(ctx context.Context, id string) (domain.Program, error) {
	id = s.programID(id)
	if err := domain.ValidateID("id", id); err != nil {
		return domain.Program{}, fmt.Errorf("get program: %w", err)
	}
	p, err := s.store.Program(ctx, id)
	if err != nil {
		return domain.Program{}, fmt.Errorf("get program: %w", err)
	}
	return p, nil
}

// Programs lists every program.
func (s *Programs) Programs(ctx context.Context) ([]domain.Program, error) {
	ps, err := s.store.Programs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	return ps, nil
}

// UpdateProgram copies the fields named in mask (every field when empty)
// from in to the stored program. New rules apply to what is earned from
// then on; the ledger is never rewritten.
// A non-empty etag must be the stored program's (ErrConflict otherwise).
func (s *Programs) UpdateProgram(ctx context.Context, in domain.Program, etag string, mask []string) (domain.Program, error) {
	if err := domain.ValidateID("program.id", in.ID); err != nil {
		return domain.Program{}, fmt.Errorf("update program: %w", err)
	}
	if len(mask) == 0 {
		mask = ProgramFields
	}
	var vs validation.Violations
	for _, f := range mask {
		if !slices.Contains(ProgramFields, f) {
			vs.Add("update_mask", fmt.Sprintf("%q is not a field that can be updated", f))
		}
	}
	if err := vs.Err(); err != nil {
		return domain.Program{}, fmt.Errorf("update program: %w", err)
	}
	var out domain.Program
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		p, err := tx.Program(ctx, in.ID)
		if err != nil {
			return err
		}
		if etag != "" && etag != p.Etag() {
			return fmt.Errorf("program %s changed since it was read (etag %s, now %s): %w", p.ID, etag, p.Etag(), domain.ErrConflict)
		}
		applyProgramFields(&p, in, mask)
		p.Normalize()
		if err := p.Validate(); err != nil {
			return nest(err, "program")
		}
		p.UpdateTime = s.now()
		out = p
		if err := tx.SaveProgram(ctx, p); err != nil {
			return err
		}
		return tx.Publish(ctx, domain.ProgramChanged{Program: p})
	})
	if err != nil {
		return domain.Program{}, fmt.Errorf("update program: %w", err)
	}
	s.forgetPrograms()
	return out, nil
}

func applyProgramFields(p *domain.Program, in domain.Program, mask []string) {
	for _, f := range mask {
		switch f {
		case "name":
			p.Name = in.Name
		case "time_zone":
			p.TimeZone = in.TimeZone
		case "auto_enroll":
			p.AutoEnroll = in.AutoEnroll
		case "welcome_points":
			p.WelcomePoints = in.WelcomePoints
		case "base_rates":
			p.BaseRates = in.BaseRates
		case "earn_rules":
			p.EarnRules = in.EarnRules
		case "currency_code":
			p.CurrencyCode = in.CurrencyCode
		case "min_spend_minor":
			p.MinSpendMinor = in.MinSpendMinor
		case "order_cap_points":
			p.OrderCapPoints = in.OrderCapPoints
		case "day_cap_points":
			p.DayCapPoints = in.DayCapPoints
		case "engagement_rules":
			p.EngagementRules = in.EngagementRules
		case "tiers":
			p.Tiers = in.Tiers
		case "tier_window_months":
			p.TierWindowMonths = in.TierWindowMonths
		case "tier_grace_days":
			p.TierGraceDays = in.TierGraceDays
		case "pending_days":
			p.PendingDays = in.PendingDays
		case "expiry_kind":
			p.ExpiryKind = in.ExpiryKind
		case "expiry_months":
			p.ExpiryMonths = in.ExpiryMonths
		case "expiry_notice_days":
			p.ExpiryNoticeDays = in.ExpiryNoticeDays
		case "member_days":
			p.MemberDays = in.MemberDays
		}
	}
}

// nest prefixes the fields of a validation error with the request field
// holding the resource.
func nest(err error, prefix string) error {
	var verr *validation.Error
	if errors.As(err, &verr) {
		return validation.Violations(verr.Violations).Nest(prefix).Err()
	}
	return err
}
