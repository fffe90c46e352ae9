package domain

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/guanxi-crm/guanxi/platform/memberdays"
	"github.com/guanxi-crm/guanxi/platform/validation"
)

// DefaultTimeZone is a program's time zone unless it names another.
const DefaultTimeZone = "Asia/Shanghai"

// Percent multipliers: 100 is "times one". Points stay integers; a
// multiplier never goes through a float.
const percent = 100

// Engagement kinds that earn points.
const (
	EngagementSurveyAnswered = "survey_answered"
	EngagementReview         = "review"
	EngagementReferral       = "referral"
	EngagementCheckIn        = "check_in"
)

var engagementKinds = map[string]bool{
	EngagementSurveyAnswered: true, EngagementReview: true, EngagementReferral: true, EngagementCheckIn: true,
}

// ExpiryKind says how earned points expire.
type ExpiryKind string

// Expiry kinds.
const (
	ExpiryNever              ExpiryKind = "never"
	ExpiryRollingMonths      ExpiryKind = "rolling_months"
	ExpiryEndOfFollowingYear ExpiryKind = "end_of_following_year"
	maxMultiplierPercent                = 100_000
	maxMonths                           = 1200
	maxDays                             = 3650
)

// BaseRate is the points a whole unit of a currency earns.
type BaseRate struct {
	CurrencyCode  string `json:"currency_code"`
	PointsPerUnit int64  `json:"points_per_unit"`
}

// EarnRule multiplies the points of purchase lines of a category or sku,
// within an optional validity window.
type EarnRule struct {
	ID                string    `json:"id"`
	Category          string    `json:"category,omitempty"`
	SKU               string    `json:"sku,omitempty"`
	MultiplierPercent int64     `json:"multiplier_percent"`
	Start             time.Time `json:"start,omitzero"`
	End               time.Time `json:"end,omitzero"`
}

// ActiveAt reports whether the rule's window holds t.
func (r EarnRule) ActiveAt(t time.Time) bool {
	return (r.Start.IsZero() || !t.Before(r.Start)) && (r.End.IsZero() || t.Before(r.End))
}

// Matches reports whether the rule applies to a line.
func (r EarnRule) Matches(l Line) bool {
	return (r.Category == "" || r.Category == l.Category) && (r.SKU == "" || r.SKU == l.SKU)
}

// EngagementRule awards points per engagement of a kind.
type EngagementRule struct {
	Kind   string `json:"kind"`
	Points int64  `json:"points"`
}

// TierDef is one tier of a program. Tiers are ordered lowest first; the
// first is where members start and needs nothing.
type TierDef struct {
	Code              string `json:"code"`
	Name              string `json:"name"`
	QualifyPoints     int64  `json:"qualify_points"`
	QualifySpendMinor int64  `json:"qualify_spend_minor,omitempty"`
	MultiplierPercent int64  `json:"multiplier_percent"`
}

// MemberDay is a recurring day (会员日): a weekday (1 Monday .. 7 Sunday) or
// a day of the month, in the program's time zone.
type MemberDay struct {
	ID                string `json:"id"`
	Weekday           int    `json:"weekday,omitempty"`
	MonthDay          int    `json:"month_day,omitempty"`
	MultiplierPercent int64  `json:"multiplier_percent"`
}

// Rule is the day's recurrence, as the notification service reads it too.
func (d MemberDay) Rule() memberdays.Rule {
	return memberdays.Rule{Weekday: d.Weekday, MonthDay: d.MonthDay}
}

// Program is a loyalty program and its rules.
type Program struct {
	ID               string           `json:"-"`
	Name             string           `json:"name"`
	TimeZone         string           `json:"time_zone"`
	AutoEnroll       bool             `json:"auto_enroll"`
	WelcomePoints    int64            `json:"welcome_points"`
	BaseRates        []BaseRate       `json:"base_rates"`
	EarnRules        []EarnRule       `json:"earn_rules"`
	CurrencyCode     string           `json:"currency_code"`
	MinSpendMinor    int64            `json:"min_spend_minor"`
	OrderCapPoints   int64            `json:"order_cap_points"`
	DayCapPoints     int64            `json:"day_cap_points"`
	EngagementRules  []EngagementRule `json:"engagement_rules"`
	Tiers            []TierDef        `json:"tiers"`
	TierWindowMonths int              `json:"tier_window_months"`
	TierGraceDays    int              `json:"tier_grace_days"`
	PendingDays      int              `json:"pending_days"`
	ExpiryKind       ExpiryKind       `json:"expiry_kind"`
	ExpiryMonths     int              `json:"expiry_months"`
	ExpiryNoticeDays int              `json:"expiry_notice_days"`
	MemberDays       []MemberDay      `json:"member_days"`
	CreateTime       time.Time        `json:"-"`
	UpdateTime       time.Time        `json:"-"`
}

// Normalize fills the defaults of fields left empty.
func (p *Program) Normalize() {
	if p.TimeZone == "" {
		p.TimeZone = DefaultTimeZone
	}
	if p.ExpiryKind == "" {
		p.ExpiryKind = ExpiryNever
	}
	if p.TierWindowMonths == 0 {
		p.TierWindowMonths = 12
	}
	for i := range p.Tiers {
		if p.Tiers[i].MultiplierPercent == 0 {
			p.Tiers[i].MultiplierPercent = percent
		}
	}
	for i := range p.MemberDays {
		if p.MemberDays[i].MultiplierPercent == 0 {
			p.MemberDays[i].MultiplierPercent = percent
		}
	}
}

// Validate checks the program's rules, naming fields as the Program
// message does.
func (p Program) Validate() error {
	var vs validation.Violations
	if strings.TrimSpace(p.Name) == "" {
		vs.Add("name", "is required")
	}
	if _, err := location(p.TimeZone); err != nil {
		vs.Add("time_zone", "must be an IANA time zone")
	}
	if p.WelcomePoints < 0 {
		vs.Add("welcome_points", "must not be negative")
	}
	seenCur := map[string]bool{}
	for i, r := range p.BaseRates {
		f := fmt.Sprintf("base_rates[%d]", i)
		checkCurrency(&vs, f+".currency_code", r.CurrencyCode)
		if seenCur[r.CurrencyCode] {
			vs.Add(f+".currency_code", "is listed twice")
		}
		seenCur[r.CurrencyCode] = true
		if r.PointsPerUnit < 0 || r.PointsPerUnit > 1_000_000 {
			vs.Add(f+".points_per_unit", "must be between 0 and 1000000")
		}
	}
	seenRule := map[string]bool{}
	for i, r := range p.EarnRules {
		f := fmt.Sprintf("earn_rules[%d]", i)
		if r.ID == "" {
			vs.Add(f+".id", "is required")
		} else if seenRule[r.ID] {
			vs.Add(f+".id", "is used twice")
		}
		seenRule[r.ID] = true
		if r.Category == "" && r.SKU == "" {
			vs.Add(f, "needs a category or a sku")
		}
		checkMultiplier(&vs, f+".multiplier_percent", r.MultiplierPercent)
		if !r.Start.IsZero() && !r.End.IsZero() && !r.End.After(r.Start) {
			vs.Add(f+".end_time", "must be after start_time")
		}
	}
	if p.CurrencyCode != "" {
		checkCurrency(&vs, "currency_code", p.CurrencyCode)
	}
	if p.MinSpendMinor < 0 {
		vs.Add("min_spend_minor", "must not be negative")
	}
	if p.MinSpendMinor > 0 && p.CurrencyCode == "" {
		vs.Add("currency_code", "is required with min_spend_minor")
	}
	if p.OrderCapPoints < 0 {
		vs.Add("order_cap_points", "must not be negative")
	}
	if p.DayCapPoints < 0 {
		vs.Add("day_cap_points", "must not be negative")
	}
	seenKind := map[string]bool{}
	for i, r := range p.EngagementRules {
		f := fmt.Sprintf("engagement_rules[%d]", i)
		if !engagementKinds[r.Kind] {
			vs.Add(f+".kind", "must be survey_answered, review, referral or check_in")
		} else if seenKind[r.Kind] {
			vs.Add(f+".kind", "is listed twice")
		}
		seenKind[r.Kind] = true
		if r.Points < 0 {
			vs.Add(f+".points", "must not be negative")
		}
	}
	p.validateTiers(&vs)
	if p.TierWindowMonths < 1 || p.TierWindowMonths > maxMonths {
		vs.Add("tier_window_months", "must be between 1 and 1200")
	}
	if p.TierGraceDays < 0 || p.TierGraceDays > maxDays {
		vs.Add("tier_grace_days", "must be between 0 and 3650")
	}
	if p.PendingDays < 0 || p.PendingDays > maxDays {
		vs.Add("pending_days", "must be between 0 and 3650")
	}
	switch p.ExpiryKind {
	case ExpiryNever, ExpiryEndOfFollowingYear:
	case ExpiryRollingMonths:
		if p.ExpiryMonths < 1 || p.ExpiryMonths > maxMonths {
			vs.Add("expiry_months", "must be between 1 and 1200 for rolling expiry")
		}
	default:
		vs.Add("expiry_kind", "must be NEVER, ROLLING_MONTHS or END_OF_FOLLOWING_YEAR")
	}
	if p.ExpiryNoticeDays < 0 || p.ExpiryNoticeDays > maxDays {
		vs.Add("expiry_notice_days", "must be between 0 and 3650")
	}
	seenDay := map[string]bool{}
	for i, d := range p.MemberDays {
		f := fmt.Sprintf("member_days[%d]", i)
		if d.ID == "" {
			vs.Add(f+".id", "is required")
		} else if seenDay[d.ID] {
			vs.Add(f+".id", "is used twice")
		}
		seenDay[d.ID] = true
		switch {
		case (d.Weekday == 0) == (d.MonthDay == 0):
			vs.Add(f, "needs exactly one of weekday and month_day")
		case d.Weekday < 0 || d.Weekday > 7:
			vs.Add(f+".weekday", "must be between 1 (Monday) and 7 (Sunday)")
		case d.MonthDay < 0 || d.MonthDay > 31:
			vs.Add(f+".month_day", "must be between 1 and 31")
		}
		checkMultiplier(&vs, f+".multiplier_percent", d.MultiplierPercent)
	}
	return vs.Err()
}

func (p Program) validateTiers(vs *validation.Violations) {
	if len(p.Tiers) == 0 {
		vs.Add("tiers", "needs at least one tier")
		return
	}
	seen := map[string]bool{}
	for i, t := range p.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		switch {
		case t.Code == "":
			vs.Add(f+".code", "is required")
		case strings.ToLower(t.Code) != t.Code || strings.ContainsAny(t.Code, " \t:"):
			vs.Add(f+".code", "must be lower case without spaces or colons")
		case seen[t.Code]:
			vs.Add(f+".code", "is used twice")
		}
		seen[t.Code] = true
		if strings.TrimSpace(t.Name) == "" {
			vs.Add(f+".name", "is required")
		}
		checkMultiplier(vs, f+".multiplier_percent", t.MultiplierPercent)
		if i == 0 {
			if t.QualifyPoints != 0 || t.QualifySpendMinor != 0 {
				vs.Add(f+".qualify_points", "must be 0 for the first tier, where members start")
			}
			continue
		}
		prev := p.Tiers[i-1]
		if t.QualifyPoints <= prev.QualifyPoints {
			vs.Add(f+".qualify_points", "must be above the tier below")
		}
		if t.QualifySpendMinor < 0 || (t.QualifySpendMinor > 0 && prev.QualifySpendMinor > 0 && t.QualifySpendMinor <= prev.QualifySpendMinor) {
			vs.Add(f+".qualify_spend_minor", "must be above the tier below")
		}
		if t.QualifySpendMinor > 0 && p.CurrencyCode == "" {
			vs.Add("currency_code", "is required for spend-qualified tiers")
		}
	}
}

func checkMultiplier(vs *validation.Violations, field string, pct int64) {
	if pct < 0 || pct > maxMultiplierPercent {
		vs.Add(field, "must be between 0 and 100000 (percent)")
	}
}

// Location is the program's time zone.
func (p Program) Location() *time.Location {
	loc, err := location(p.TimeZone)
	if err != nil {
		// Validate rejects unknown zones, so only a zone database missing
		// on this machine gets here; UTC keeps days well defined.
		return time.UTC
	}
	return loc
}

// locations caches loaded zones: time.LoadLocation reads the zone
// database on every call, and the earning path asks for every purchase.
var locations sync.Map

func location(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// Etag is the program's version for optimistic concurrency: its update
// time, which every change moves.
func (p Program) Etag() string { return p.UpdateTime.UTC().Format(time.RFC3339Nano) }

// Day is the program-local calendar day of t, "2006-01-02"; day caps count
// per such day.
func (p Program) Day(t time.Time) string {
	return t.In(p.Location()).Format(time.DateOnly)
}

// BaseRate returns the points per whole unit of currency, 0 for
// currencies the program does not earn in.
func (p Program) BaseRate(currency string) int64 {
	for _, r := range p.BaseRates {
		if r.CurrencyCode == currency {
			return r.PointsPerUnit
		}
	}
	return 0
}

// EngagementPoints returns the points an engagement of kind earns.
func (p Program) EngagementPoints(kind string) int64 {
	for _, r := range p.EngagementRules {
		if r.Kind == kind {
			return r.Points
		}
	}
	return 0
}

// MemberDayAt returns the member day t falls on in the program's zone (the
// one with the highest multiplier when several do).
func (p Program) MemberDayAt(t time.Time) (MemberDay, bool) {
	local := t.In(p.Location())
	var (
		best  MemberDay
		found bool
	)
	for _, d := range p.MemberDays {
		if d.Rule().FallsOn(local) {
			if !found || d.MultiplierPercent > best.MultiplierPercent {
				best, found = d, true
			}
		}
	}
	return best, found
}

// TierIndex is the rank of the tier with code, 0 (the entry tier) for
// codes the program no longer has.
func (p Program) TierIndex(code string) int {
	for i, t := range p.Tiers {
		if t.Code == code {
			return i
		}
	}
	return 0
}

// Tier returns the tier of rank i.
func (p Program) Tier(i int) TierDef {
	if i < 0 || i >= len(p.Tiers) {
		return TierDef{MultiplierPercent: percent}
	}
	return p.Tiers[i]
}

// QualifiedTier is the highest tier whose points or spend threshold the
// rolling window's figures reach.
func (p Program) QualifiedTier(windowPoints, windowSpend int64) int {
	best := 0
	for i, t := range p.Tiers {
		if i == 0 {
			continue
		}
		if windowPoints >= t.QualifyPoints || (t.QualifySpendMinor > 0 && windowSpend >= t.QualifySpendMinor) {
			best = i
		}
	}
	return best
}

// TierWindowStart is where the rolling qualification window that ends at
// now starts.
func (p Program) TierWindowStart(now time.Time) time.Time {
	return now.AddDate(0, -p.TierWindowMonths, 0)
}

// AvailableTime is when points earned at t become spendable.
func (p Program) AvailableTime(t time.Time) time.Time {
	if p.PendingDays == 0 {
		return t
	}
	return t.AddDate(0, 0, p.PendingDays)
}

// ExpireTime is when points earned at t expire: the start of the program
// day after t plus the rolling months, or the start of the second year
// after t's; zero when points never expire. Whole days keep one expiry
// bucket (and one notice) per member and day.
func (p Program) ExpireTime(t time.Time) time.Time {
	local := t.In(p.Location())
	switch p.ExpiryKind {
	case ExpiryRollingMonths:
		d := local.AddDate(0, p.ExpiryMonths, 1)
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, p.Location()).UTC()
	case ExpiryEndOfFollowingYear:
		return time.Date(local.Year()+2, time.January, 1, 0, 0, 0, 0, p.Location()).UTC()
	default:
		return time.Time{}
	}
}
