package domain_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

func TestPointsForPurchase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		total         domain.Money
		pointsPerUnit int64
		want          int64
		wantErr       error
	}{
		{"CNY fraction rounds down", domain.Money{"CNY", 12850}, 1, 128, nil},
		{"CNY exact", domain.Money{"CNY", 10000}, 1, 100, nil},
		{"CNY below one unit", domain.Money{"CNY", 99}, 1, 0, nil},
		{"USD two points per unit", domain.Money{"USD", 1999}, 2, 38, nil},
		{"JPY has no minor unit", domain.Money{"JPY", 12850}, 1, 12850, nil},
		{"KRW has no minor unit", domain.Money{"KRW", 5000}, 1, 5000, nil},
		{"VND has no minor unit", domain.Money{"VND", 7}, 3, 21, nil},
		{"KWD has three decimals", domain.Money{"KWD", 12850}, 1, 12, nil},
		{"BHD has three decimals", domain.Money{"BHD", 999}, 1, 0, nil},
		{"JOD has three decimals", domain.Money{"JOD", 1000}, 1, 1, nil},
		{"OMR has three decimals", domain.Money{"OMR", 2500}, 1, 2, nil},
		{"TND has three decimals", domain.Money{"TND", 3001}, 1, 3, nil},
		{"unknown currency defaults to two decimals", domain.Money{"EUR", 12850}, 1, 128, nil},
		{"zero total", domain.Money{"CNY", 0}, 1, 0, nil},
		{"negative total", domain.Money{"CNY", -12850}, 1, 0, nil},
		{"zero points per unit", domain.Money{"CNY", 12850}, 0, 0, nil},
		{"largest total", domain.Money{"JPY", math.MaxInt64}, 1, math.MaxInt64, nil},
		{"overflow", domain.Money{"JPY", math.MaxInt64}, 2, 0, domain.ErrPointsOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.PointsForPurchase(tt.total, tt.pointsPerUnit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("PointsForPurchase(%+v, %d) = %d, want %d", tt.total, tt.pointsPerUnit, got, tt.want)
			}
		})
	}
}

func TestMinorUnitExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want int
	}{
		{"CNY", 2}, {"USD", 2}, {"JPY", 0}, {"KRW", 0}, {"VND", 0},
		{"BHD", 3}, {"KWD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
	}
	for _, tt := range tests {
		if got := domain.MinorUnitExponent(tt.code); got != tt.want {
			t.Errorf("MinorUnitExponent(%s) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestTierFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lifetime, threshold int64
		want                domain.Tier
	}{
		{0, 10000, domain.TierNormal},
		{9999, 10000, domain.TierNormal},
		{10000, 10000, domain.TierVIP},
		{10001, 10000, domain.TierVIP},
		{5, 5, domain.TierVIP},
	}
	for _, tt := range tests {
		if got := domain.TierFor(tt.lifetime, tt.threshold); got != tt.want {
			t.Errorf("TierFor(%d, %d) = %v, want %v", tt.lifetime, tt.threshold, got, tt.want)
		}
	}
}

func TestAccountCredit(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name        string
		balance     int64
		lifetime    int64
		tier        domain.Tier
		points      int64
		wantBalance int64
		wantTier    domain.Tier
		wantErr     bool
	}{
		{"stays normal", 0, 0, domain.TierNormal, 128, 128, domain.TierNormal, false},
		{"reaches vip exactly", 9900, 9900, domain.TierNormal, 100, 10000, domain.TierVIP, false},
		{"lifetime not balance decides", 10, 9990, domain.TierNormal, 10, 20, domain.TierVIP, false},
		{"vip stays vip", 50, 20000, domain.TierVIP, 1, 51, domain.TierVIP, false},
		{"zero points rejected", 0, 0, domain.TierNormal, 0, 0, domain.TierNormal, true},
		{"negative points rejected", 0, 0, domain.TierNormal, -1, 0, domain.TierNormal, true},
		{"overflow rejected", math.MaxInt64, math.MaxInt64, domain.TierVIP, 1, math.MaxInt64, domain.TierVIP, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := domain.Account{CustomerID: "c", PointsBalance: tt.balance, LifetimePoints: tt.lifetime, Tier: tt.tier, CreateTime: t0, UpdateTime: t0}
			old, err := a.Credit(tt.points, t1, 10000)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if old != tt.tier {
				t.Errorf("old tier = %v, want %v", old, tt.tier)
			}
			if a.PointsBalance != tt.wantBalance || a.Tier != tt.wantTier {
				t.Errorf("after credit: balance %d tier %v, want %d %v", a.PointsBalance, a.Tier, tt.wantBalance, tt.wantTier)
			}
			if tt.wantErr {
				if a.LifetimePoints != tt.lifetime || !a.UpdateTime.Equal(t0) {
					t.Errorf("failed credit changed the account: %+v", a)
				}
				return
			}
			if a.LifetimePoints != tt.lifetime+tt.points || !a.UpdateTime.Equal(t1) {
				t.Errorf("lifetime %d update %v, want %d %v", a.LifetimePoints, a.UpdateTime, tt.lifetime+tt.points, t1)
			}
		})
	}
}

func TestPurchaseValidate(t *testing.T) {
	t.Parallel()
	const id = "01890a5d-ac96-774b-bcce-b302099a8057"
	tests := []struct {
		name       string
		p          domain.Purchase
		wantFields []string
	}{
		{"valid", domain.Purchase{InteractionID: id, CustomerID: id, Total: domain.Money{"CNY", 1}}, nil},
		{"all wrong", domain.Purchase{CustomerID: "nope", Total: domain.Money{"cny", 1}},
			[]string{"interaction_id", "customer_id", "total.currency_code"}},
		{"missing customer", domain.Purchase{InteractionID: id, Total: domain.Money{"JPY", 1}}, []string{"customer_id"}},
		{"braced uuid is not canonical", domain.Purchase{InteractionID: id, CustomerID: "{" + id + "}", Total: domain.Money{"CNY", 1}},
			[]string{"customer_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.Validate()
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var verr *validation.Error
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *validation.Error", err)
			}
			if len(verr.Violations) != len(tt.wantFields) {
				t.Fatalf("violations = %+v, want fields %v", verr.Violations, tt.wantFields)
			}
			for i, f := range tt.wantFields {
				if verr.Violations[i].Field != f {
					t.Errorf("violation %d field = %q, want %q", i, verr.Violations[i].Field, f)
				}
			}
		})
	}
}

func TestAccountNotFoundIsErrNotFound(t *testing.T) {
	t.Parallel()
	err := error(&domain.AccountNotFoundError{CustomerID: "x"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatal("AccountNotFoundError does not match ErrNotFound")
	}
	if err.Error() != "loyalty account for customer x not found" {
		t.Errorf("message = %q", err.Error())
	}
}
