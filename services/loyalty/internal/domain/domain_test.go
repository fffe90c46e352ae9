package domain_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

const (
	customer = "01890a5d-ac96-774b-bcce-b302099a8057"
	purchase = "01890a5d-ac96-774b-bcce-b302099a8058"
)

// program is a valid program with the given changes applied.
func program(change func(p *domain.Program)) domain.Program {
	p := domain.Program{
		ID: "p", Name: "Test", TimeZone: "Asia/Shanghai",
		BaseRates:    []domain.BaseRate{{CurrencyCode: "CNY", PointsPerUnit: 1}, {CurrencyCode: "JPY", PointsPerUnit: 1}, {CurrencyCode: "KWD", PointsPerUnit: 10}},
		CurrencyCode: "CNY",
		Tiers: []domain.TierDef{
			{Code: "normal", Name: "Normal"},
			{Code: "silver", Name: "Silver", QualifyPoints: 1000, MultiplierPercent: 120},
			{Code: "gold", Name: "Gold", QualifyPoints: 5000, QualifySpendMinor: 1_000_000, MultiplierPercent: 150},
		},
	}
	if change != nil {
		change(&p)
	}
	p.Normalize()
	return p
}

// A Wednesday noon in Shanghai (04:00 UTC), and the Tuesday before it,
// 23:30 in Shanghai but already Wednesday in UTC-less terms of nothing.
var (
	wednesday = time.Date(2025, 3, 5, 4, 0, 0, 0, time.UTC)
	// 2025-03-04 16:30 UTC is 2025-03-05 00:30 in Shanghai: a Wednesday
	// there, a Tuesday in UTC.
	wednesdayInShanghaiOnly = time.Date(2025, 3, 4, 16, 30, 0, 0, time.UTC)
	tuesday                 = time.Date(2025, 3, 4, 4, 0, 0, 0, time.UTC)
)

func cny(minor int64) domain.Money { return domain.Money{CurrencyCode: "CNY", AmountMinor: minor} }

func TestEarn(t *testing.T) {
	t.Parallel()
	line := func(sku, cat string, qty, unit int64) domain.Line {
		return domain.Line{SKU: sku, Category: cat, Quantity: qty, UnitPrice: cny(unit)}
	}
	rules := func(p *domain.Program) {
		p.EarnRules = []domain.EarnRule{
			{ID: "books-2x", Category: "books", MultiplierPercent: 200},
			{ID: "sku-3x", SKU: "S-3", MultiplierPercent: 300},
			{ID: "march-promo", Category: "toys", MultiplierPercent: 500,
				Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
		}
		p.MemberDays = []domain.MemberDay{{ID: "wed", Weekday: 3, MultiplierPercent: 200}, {ID: "8th", MonthDay: 8, MultiplierPercent: 150}}
	}
	tests := []struct {
		name    string
		prog    domain.Program
		pu      domain.Purchase
		tier    int
		today   int64
		want    int64
		lines   []int64
		rules   []string
		wantErr error
	}{
		{name: "fraction of a unit rounds down", prog: program(nil), pu: domain.Purchase{Total: cny(12850), OccurTime: tuesday}, want: 128, lines: []int64{128}},
		{name: "currency without rate earns nothing", prog: program(nil), pu: domain.Purchase{Total: domain.Money{"USD", 10000}, OccurTime: tuesday}, want: 0, lines: []int64{0}},
		{name: "JPY has no minor unit", prog: program(nil), pu: domain.Purchase{Total: domain.Money{"JPY", 1285}, OccurTime: tuesday}, want: 1285, lines: []int64{1285}},
		{name: "KWD has three decimals", prog: program(nil), pu: domain.Purchase{Total: domain.Money{"KWD", 12850}, OccurTime: tuesday}, want: 128, lines: []int64{128}},
		{name: "below minimum spend", prog: program(func(p *domain.Program) { p.MinSpendMinor = 5000 }), pu: domain.Purchase{Total: cny(4999), OccurTime: tuesday}, want: 0, lines: []int64{0}},
		{name: "at minimum spend", prog: program(func(p *domain.Program) { p.MinSpendMinor = 5000 }), pu: domain.Purchase{Total: cny(5000), OccurTime: tuesday}, want: 50, lines: []int64{50}},
		{
			name: "category and sku multipliers, best rule per line", prog: program(rules),
			pu: domain.Purchase{Total: cny(60000), OccurTime: tuesday, Lines: []domain.Line{
				line("B-1", "books", 2, 5000), line("S-3", "books", 1, 10000), line("X", "food", 3, 10000)}},
			want: 200 + 300 + 300, lines: []int64{200, 300, 300}, rules: []string{"books-2x", "sku-3x"},
		},
		{
			name: "validity window: promo active on the 4th", prog: program(rules),
			pu:   domain.Purchase{Total: cny(1000), OccurTime: tuesday, Lines: []domain.Line{line("T", "toys", 1, 1000)}},
			want: 50, lines: []int64{50}, rules: []string{"march-promo"},
		},
		{
			name: "validity window: promo over on the 5th, member day doubles", prog: program(rules),
			pu:   domain.Purchase{Total: cny(1000), OccurTime: wednesday, Lines: []domain.Line{line("T", "toys", 1, 1000)}},
			want: 20, lines: []int64{20}, rules: []string{"member_day:wed"},
		},
		{
			name: "member day in the program's time zone", prog: program(rules),
			pu:   domain.Purchase{Total: cny(10000), OccurTime: wednesdayInShanghaiOnly},
			want: 200, lines: []int64{200}, rules: []string{"member_day:wed"},
		},
		{
			name: "member day in UTC program is not Wednesday yet", prog: program(func(p *domain.Program) { rules(p); p.TimeZone = "UTC" }),
			pu:   domain.Purchase{Total: cny(10000), OccurTime: wednesdayInShanghaiOnly},
			want: 100, lines: []int64{100},
		},
		{name: "tier multiplier", prog: program(nil), tier: 2, pu: domain.Purchase{Total: cny(10000), OccurTime: tuesday}, want: 150, lines: []int64{150}},
		{
			name: "tier, member day and category multiply", prog: program(rules), tier: 1,
			pu:   domain.Purchase{Total: cny(10000), OccurTime: wednesday, Lines: []domain.Line{line("B", "books", 1, 10000)}},
			want: 100 * 2 * 12 / 10 * 2, lines: []int64{480}, rules: []string{"member_day:wed", "books-2x"},
		},
		{
			name: "order cap shares the points out over the lines", prog: program(func(p *domain.Program) { p.OrderCapPoints = 100 }),
			pu: domain.Purchase{Total: cny(30000), OccurTime: tuesday, Lines: []domain.Line{
				line("A", "", 1, 10000), line("B", "", 1, 10000), line("C", "", 1, 10000)}},
			want: 100, lines: []int64{34, 33, 33},
		},
		{
			name: "day cap leaves what the day has left", prog: program(func(p *domain.Program) { p.DayCapPoints = 500 }), today: 450,
			pu: domain.Purchase{Total: cny(10000), OccurTime: tuesday}, want: 50, lines: []int64{50},
		},
		{
			name: "day cap reached", prog: program(func(p *domain.Program) { p.DayCapPoints = 500 }), today: 500,
			pu: domain.Purchase{Total: cny(10000), OccurTime: tuesday}, want: 0, lines: []int64{0},
		},
		{
			name: "overflow", prog: program(func(p *domain.Program) { p.BaseRates = []domain.BaseRate{{CurrencyCode: "JPY", PointsPerUnit: 1000}} }),
			pu: domain.Purchase{Total: domain.Money{"JPY", math.MaxInt64}, OccurTime: tuesday}, wantErr: domain.ErrPointsOverflow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.pu.InteractionID, tt.pu.CustomerID = purchase, customer
			got, err := tt.prog.Earn(tt.pu, tt.tier, tt.today)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Points != tt.want {
				t.Errorf("points = %d, want %d", got.Points, tt.want)
			}
			var sum int64
			for i, l := range got.Lines {
				sum += l.Points
				if i < len(tt.lines) && l.Points != tt.lines[i] {
					t.Errorf("line %d points = %d, want %d", i, l.Points, tt.lines[i])
				}
			}
			if sum != got.Points || len(got.Lines) != len(tt.lines) {
				t.Errorf("lines %+v do not add up to %d", got.Lines, got.Points)
			}
			if len(got.RuleIDs) != len(tt.rules) {
				t.Fatalf("rules = %v, want %v", got.RuleIDs, tt.rules)
			}
			for i := range tt.rules {
				if got.RuleIDs[i] != tt.rules[i] {
					t.Errorf("rules = %v, want %v", got.RuleIDs, tt.rules)
				}
			}
		})
	}
}

func TestReverse(t *testing.T) {
	t.Parallel()
	earned := func() domain.PurchaseEarning {
		return domain.PurchaseEarning{TotalMinor: 30000, Points: 100, Lines: []domain.LineEarning{
			{SKU: "A", Quantity: 3, Points: 34}, {SKU: "B", Quantity: 1, Points: 33}, {SKU: "C", Quantity: 2, Points: 33}}}
	}
	ret := func(lines ...domain.Line) domain.Return { return domain.Return{Lines: lines} }
	l := func(sku string, q int64) domain.Line { return domain.Line{SKU: sku, Quantity: q} }
	tests := []struct {
		name  string
		steps []domain.Return
		want  []int64
	}{
		{"one line in full", []domain.Return{ret(l("B", 1))}, []int64{33}},
		{"partial quantities round down, the last unit takes the rest", []domain.Return{ret(l("A", 1)), ret(l("A", 1)), ret(l("A", 1))}, []int64{11, 11, 12}},
		{"more than bought stops at what was bought", []domain.Return{ret(l("C", 5)), ret(l("C", 1))}, []int64{33, 0}},
		{"unknown sku reverses nothing", []domain.Return{ret(l("Z", 1))}, []int64{0}},
		{"everything returned reverses everything", []domain.Return{ret(l("A", 3), l("B", 1), l("C", 2))}, []int64{100}},
		{"refund without lines, in two halves", []domain.Return{{Refund: cny(15000)}, {Refund: cny(15000)}}, []int64{49, 51}},
		{"refund above the total stops at the total", []domain.Return{{Refund: cny(90000)}, {Refund: cny(1)}}, []int64{100, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := earned()
			var total int64
			for i, r := range tt.steps {
				got := e.Reverse(r)
				total += got
				if got != tt.want[i] {
					t.Errorf("step %d reversed %d, want %d", i, got, tt.want[i])
				}
			}
			if e.Reversed() != total {
				t.Errorf("Reversed() = %d, want %d", e.Reversed(), total)
			}
		})
	}
}

func TestExpiryPlan(t *testing.T) {
	t.Parallel()
	d := func(day int) time.Time { return time.Date(2025, 1, day, 0, 0, 0, 0, time.UTC) }
	buckets := []domain.ExpiryBucket{{d(10), 100}, {d(20), 50}, {d(30), 70}}
	tests := []struct {
		name           string
		st             domain.ExpiryState
		after, through time.Time
		want           []domain.Expiration
	}{
		{"nothing due", domain.ExpiryState{Buckets: buckets}, time.Time{}, d(9), nil},
		{"first bucket expires whole", domain.ExpiryState{Buckets: buckets}, time.Time{}, d(10), []domain.Expiration{{d(10), 100}}},
		{"debits consume the oldest first", domain.ExpiryState{Buckets: buckets, Debits: 120}, time.Time{}, d(20), []domain.Expiration{{d(20), 30}}},
		{"processed buckets are not expired again", domain.ExpiryState{Buckets: buckets, Expired: 100}, d(10), d(30), []domain.Expiration{{d(20), 50}, {d(30), 70}}},
		{"planning from earlier is harmless", domain.ExpiryState{Buckets: buckets, Expired: 100}, time.Time{}, d(10), nil},
		{"debits after an expiry take later points", domain.ExpiryState{Buckets: buckets, Expired: 100, Debits: 60}, d(10), d(30), []domain.Expiration{{d(30), 60}}},
		{"everything spent", domain.ExpiryState{Buckets: buckets, Debits: 220}, time.Time{}, d(30), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.st.Plan(tt.after, tt.through)
			if len(got) != len(tt.want) {
				t.Fatalf("plan = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if !got[i].ExpireTime.Equal(tt.want[i].ExpireTime) || got[i].Points != tt.want[i].Points {
					t.Errorf("plan = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func TestExpireAndAvailableTime(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	earned := time.Date(2025, 3, 4, 20, 0, 0, 0, time.UTC) // 2025-03-05 04:00 in Shanghai
	tests := []struct {
		name string
		prog domain.Program
		want time.Time
	}{
		{"never", program(nil), time.Time{}},
		{"rolling 12 months, to the start of the next program day", program(func(p *domain.Program) {
			p.ExpiryKind, p.ExpiryMonths = domain.ExpiryRollingMonths, 12
		}), time.Date(2026, 3, 6, 0, 0, 0, 0, sh)},
		{"end of the following year", program(func(p *domain.Program) { p.ExpiryKind = domain.ExpiryEndOfFollowingYear }),
			time.Date(2027, 1, 1, 0, 0, 0, 0, sh)},
	}
	for _, tt := range tests {
		if got := tt.prog.ExpireTime(earned); !got.Equal(tt.want) {
			t.Errorf("%s: ExpireTime = %v, want %v", tt.name, got, tt.want)
		}
	}
	p := program(func(p *domain.Program) { p.PendingDays = 14 })
	if got := p.AvailableTime(earned); !got.Equal(earned.AddDate(0, 0, 14)) {
		t.Errorf("AvailableTime = %v, want 14 days later", got)
	}
}

func TestTiers(t *testing.T) {
	t.Parallel()
	p := program(func(p *domain.Program) { p.TierGraceDays = 30 })
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := p.QualifiedTier(999, 0); got != 0 {
		t.Errorf("999 points qualify for %d, want 0", got)
	}
	if got := p.QualifiedTier(1000, 0); got != 1 {
		t.Errorf("1000 points qualify for %d, want 1", got)
	}
	if got := p.QualifiedTier(0, 1_000_000); got != 2 {
		t.Errorf("10000.00 CNY spend qualifies for %d, want 2 (gold by spend)", got)
	}

	m := domain.NewMember(p, customer, 7, t0)
	if m.TierCode != "normal" || m.Number != "0000000007" {
		t.Fatalf("new member = %+v", m)
	}
	if c := m.Upgrade(p, 2, t0); c != (domain.TierChange{From: 0, To: 2}) || m.TierCode != "gold" {
		t.Fatalf("upgrade = %+v, member %+v", c, m)
	}
	if c := m.Upgrade(p, 1, t0); c.Changed() || m.TierCode != "gold" {
		t.Fatalf("Upgrade never moves down: %+v, member %+v", c, m)
	}
	// Review 1: short of gold; grace starts, tier kept.
	r1 := t0.AddDate(0, 1, 0)
	if c := m.Review(p, 1, r1); c.Changed() || m.TierCode != "gold" || !m.GraceUntil.Equal(r1.AddDate(0, 0, 30)) {
		t.Fatalf("first short review: %+v, member %+v", c, m)
	}
	// Review 2 within grace: still kept.
	if c := m.Review(p, 0, r1.AddDate(0, 0, 10)); c.Changed() || m.TierCode != "gold" {
		t.Fatalf("review in grace: %+v, member %+v", c, m)
	}
	// Review 3 after grace: down to what the window qualifies for.
	r3 := r1.AddDate(0, 0, 30)
	if c := m.Review(p, 1, r3); c != (domain.TierChange{From: 2, To: 1}) || m.TierCode != "silver" || !m.GraceUntil.IsZero() {
		t.Fatalf("review after grace: %+v, member %+v", c, m)
	}
	// Qualifying again at a review ends a grace.
	m.Review(p, 0, r3)
	if m.GraceUntil.IsZero() {
		t.Fatal("short again: no grace")
	}
	if c := m.Review(p, 1, r3.AddDate(0, 0, 1)); c.Changed() || !m.GraceUntil.IsZero() {
		t.Fatalf("requalified: %+v, member %+v", c, m)
	}
	// No grace days: down at the first short review.
	noGrace := program(nil)
	m2 := domain.NewMember(noGrace, customer, 1, t0)
	m2.Upgrade(noGrace, 1, t0)
	if c := m2.Review(noGrace, 0, r1); c != (domain.TierChange{From: 1, To: 0}) {
		t.Fatalf("review without grace = %+v", c)
	}
}

func TestProgramValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(p *domain.Program)
		fields []string
	}{
		{"valid", nil, nil},
		{"no name, bad zone", func(p *domain.Program) { p.Name, p.TimeZone = " ", "Mars/Olympus" }, []string{"name", "time_zone"}},
		{"bad rate", func(p *domain.Program) {
			p.BaseRates = append(p.BaseRates, domain.BaseRate{CurrencyCode: "cny", PointsPerUnit: -1})
		},
			[]string{"base_rates[3].currency_code", "base_rates[3].points_per_unit"}},
		{"rule without match", func(p *domain.Program) { p.EarnRules = []domain.EarnRule{{ID: "r", MultiplierPercent: 200}} }, []string{"earn_rules[0]"}},
		{"first tier needs nothing", func(p *domain.Program) { p.Tiers[0].QualifyPoints = 5 }, []string{"tiers[0].qualify_points"}},
		{"tiers ascend", func(p *domain.Program) { p.Tiers[2].QualifyPoints = 10 }, []string{"tiers[2].qualify_points"}},
		{"no tiers", func(p *domain.Program) { p.Tiers = nil }, []string{"tiers"}},
		{"rolling expiry needs months", func(p *domain.Program) { p.ExpiryKind = domain.ExpiryRollingMonths }, []string{"expiry_months"}},
		{"member day needs one kind of day", func(p *domain.Program) {
			p.MemberDays = []domain.MemberDay{{ID: "x", Weekday: 3, MonthDay: 8, MultiplierPercent: 100}}
		}, []string{"member_days[0]"}},
		{"weekday range", func(p *domain.Program) {
			p.MemberDays = []domain.MemberDay{{ID: "x", Weekday: 8, MultiplierPercent: 100}}
		}, []string{"member_days[0].weekday"}},
		{"engagement kind", func(p *domain.Program) { p.EngagementRules = []domain.EngagementRule{{Kind: "like", Points: 1}} }, []string{"engagement_rules[0].kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := program(tt.change).Validate()
			var fields []string
			var verr *validation.Error
			if errors.As(err, &verr) {
				for _, v := range verr.Violations {
					fields = append(fields, v.Field)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(fields) != len(tt.fields) {
				t.Fatalf("fields = %v, want %v", fields, tt.fields)
			}
			for i := range fields {
				if fields[i] != tt.fields[i] {
					t.Errorf("fields = %v, want %v", fields, tt.fields)
				}
			}
		})
	}
}

func TestRewardEligibility(t *testing.T) {
	t.Parallel()
	p := program(func(p *domain.Program) {
		p.MemberDays = []domain.MemberDay{{ID: "wed", Weekday: 3, MultiplierPercent: 100}}
	})
	normal := domain.NewMember(p, customer, 1, tuesday)
	gold := normal
	gold.TierCode = "gold"
	tests := []struct {
		name string
		r    domain.Reward
		m    domain.Member
		at   time.Time
		ok   bool
	}{
		{"anyone", domain.Reward{}, normal, tuesday, true},
		{"tier too low", domain.Reward{MinTierCode: "silver"}, normal, tuesday, false},
		{"tier above", domain.Reward{MinTierCode: "silver"}, gold, tuesday, true},
		{"member day only, on Tuesday", domain.Reward{MemberDayOnly: true}, normal, tuesday, false},
		{"member day only, on Wednesday in Shanghai", domain.Reward{MemberDayOnly: true}, normal, wednesdayInShanghaiOnly, true},
		{"not yet valid", domain.Reward{Start: wednesday}, normal, tuesday, false},
		{"no longer valid", domain.Reward{End: tuesday}, normal, tuesday, false},
	}
	for _, tt := range tests {
		err := tt.r.CheckEligible(p, tt.m, tt.at)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, domain.ErrNotEligible) {
			t.Errorf("%s: err = %v, want ErrNotEligible", tt.name, err)
		}
	}
}
