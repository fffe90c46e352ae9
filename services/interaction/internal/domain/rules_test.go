package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+86 138 0013 8000", "+8613800138000", true},
		{"138-0013-8000", "+8613800138000", true},
		{"0086 138 0013 8000", "+8613800138000", true},
		{"8613800138000", "+8613800138000", true},
		{"021-6212 3456", "+862162123456", true},
		{"+1 (415) 555-2671", "+14155552671", true},
		{"12345", "", false},
		{"138 0013 800O", "", false},
		{"86+13800138000", "", false},
	}
	for _, tt := range tests {
		got, ok := domain.NormalizePhone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCaseTransitions(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to domain.CaseStatus
		ok       bool
	}{
		{domain.StatusNew, domain.StatusAssigned, true},
		{domain.StatusNew, domain.StatusResolved, true},
		{domain.StatusWaiting, domain.StatusInProgress, true},
		{domain.StatusResolved, domain.StatusClosed, true},
		{domain.StatusResolved, domain.StatusReopened, true},
		{domain.StatusClosed, domain.StatusReopened, true},
		{domain.StatusResolved, domain.StatusResolved, false},
		{domain.StatusClosed, domain.StatusInProgress, false},
		{domain.StatusNew, domain.StatusReopened, false},
	}
	for _, tt := range tests {
		c := domain.Case{Status: tt.from}
		err := c.MoveTo(tt.to, now, nil)
		var te *domain.TransitionError
		if tt.ok != (err == nil) || !tt.ok && !errors.As(err, &te) {
			t.Errorf("%s -> %s: %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
		if tt.ok && c.Status != tt.to {
			t.Errorf("%s -> %s: status %s", tt.from, tt.to, c.Status)
		}
	}
}

func TestBreaches(t *testing.T) {
	t.Parallel()
	due := time.Date(2025, 3, 10, 2, 55, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    domain.Case
		now  time.Time
		want []string
	}{
		{"before due", domain.Case{FirstResponseDue: due}, due.Add(-time.Second), nil},
		{"at due", domain.Case{FirstResponseDue: due}, due, []string{domain.TargetFirstResponse}},
		{"answered in time", domain.Case{FirstResponseDue: due, FirstResponseAt: due.Add(-time.Minute)}, due.Add(time.Hour), nil},
		{"answered late", domain.Case{FirstResponseDue: due, FirstResponseAt: due.Add(time.Minute)}, due.Add(time.Hour), []string{domain.TargetFirstResponse}},
		{"marked already", domain.Case{FirstResponseDue: due, FirstResponseBreached: true}, due.Add(time.Hour), nil},
		{"paused (no due)", domain.Case{}, due.Add(time.Hour), nil},
		{"both", domain.Case{FirstResponseDue: due, ResolutionDue: due}, due, []string{domain.TargetFirstResponse, domain.TargetResolution}},
		{"resolved in time", domain.Case{ResolutionDue: due, ResolvedAt: due.Add(-time.Second)}, due.Add(time.Hour), nil},
	}
	for _, tt := range tests {
		got := tt.c.Breaches(tt.now)
		if len(got) != len(tt.want) {
			t.Errorf("%s: Breaches = %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: Breaches = %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}

func TestAggregateSurveys(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 31, 17, 0, 0, 0, time.UTC) // April 1st in Shanghai
	score := func(n int) *int { return &n }
	surveys := []domain.Survey{
		{Kind: domain.SurveyNPS, AgentID: "a", Score: score(10), AnswerTime: at},
		{Kind: domain.SurveyNPS, AgentID: "a", Score: score(8), AnswerTime: at},
		{Kind: domain.SurveyNPS, AgentID: "a", Score: score(2), AnswerTime: at.Add(-24 * time.Hour)},
		{Kind: domain.SurveyNPS, AgentID: "a", Score: score(9), AnswerTime: at},
		{Kind: domain.SurveyNPS, AgentID: "b"}, // not answered
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	byAgent := domain.AggregateSurveys(surveys, domain.GroupByAgent, loc)
	if len(byAgent) != 1 || byAgent[0].Responses != 4 || byAgent[0].Promoters != 2 || byAgent[0].Passives != 1 ||
		byAgent[0].Detractors != 1 || byAgent[0].NPS() != 25 || byAgent[0].Average() != 7.25 {
		t.Errorf("by agent = %+v", byAgent)
	}
	byMonth := domain.AggregateSurveys(surveys, domain.GroupByMonth, loc)
	if len(byMonth) != 2 || byMonth[0].Key != "2025-03" || byMonth[0].Responses != 1 || byMonth[1].Key != "2025-04" {
		t.Errorf("by month = %+v", byMonth)
	}
}

func TestFollowupsForPurchase(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	rules := []domain.FollowupRule{
		{ID: "big", Trigger: domain.TriggerPurchase, MinAmount: domain.Money{CurrencyCode: "CNY", AmountMinor: 100000}, Offset: 72 * time.Hour},
		{ID: "warranty", Trigger: domain.TriggerWarrantyEnd, Offset: 24 * time.Hour, AgentID: "service-desk"},
		{ID: "case", Trigger: domain.TriggerCaseResolved},
	}
	in := domain.Interaction{ID: "p", CustomerID: "c", AgentID: "sales", OccurTime: now,
		Purchase: &domain.Purchase{Total: domain.Money{CurrencyCode: "CNY", AmountMinor: 100000}, WarrantyEnd: now.AddDate(1, 0, 0)}}
	got := domain.FollowupsForPurchase(rules, in, now)
	if len(got) != 2 || got[0].RuleID != "big" || !got[0].DueTime.Equal(now.Add(72*time.Hour)) || got[0].AgentID != "sales" ||
		got[1].RuleID != "warranty" || !got[1].DueTime.Equal(now.AddDate(1, 0, 0).Add(-24*time.Hour)) || got[1].AgentID != "service-desk" {
		t.Errorf("follow-ups = %+v", got)
	}
	in.Purchase.Total.AmountMinor = 99999
	in.Purchase.WarrantyEnd = time.Time{}
	if got := domain.FollowupsForPurchase(rules, in, now); len(got) != 0 {
		t.Errorf("small purchase without warranty: %+v", got)
	}
	in.Purchase.Total = domain.Money{CurrencyCode: "USD", AmountMinor: 1_000_000}
	if got := domain.FollowupsForPurchase(rules, in, now); len(got) != 0 {
		t.Errorf("purchase in another currency: %+v", got)
	}
	if got := domain.FollowupsForPurchase(rules, domain.Interaction{Kind: domain.KindCall}, now); got != nil {
		t.Errorf("a call: %+v", got)
	}
}
