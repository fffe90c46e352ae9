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
	mergedID   = "01890a5d-ac96-774b-bcce-b302099a8001"
	survivorID = "01890a5d-ac96-774b-bcce-b302099a8002"
	thirdID    = "01890a5d-ac96-774b-bcce-b302099a8003"
)

func TestMergeInto(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	acc := func(id string, balance, lifetime int64, tier domain.Tier, mergedInto string) domain.Account {
		return domain.Account{CustomerID: id, PointsBalance: balance, LifetimePoints: lifetime, Tier: tier,
			CreateTime: t0, UpdateTime: t0, MergedInto: mergedInto}
	}
	tests := []struct {
		name         string
		merged       domain.Account
		survivor     domain.Account
		wantMoved    domain.Transfer
		wantSurvivor domain.Account
		wantMerged   domain.Account
		wantErr      error
	}{
		{
			name:         "points and lifetime move over",
			merged:       acc(mergedID, 120, 300, domain.TierNormal, ""),
			survivor:     acc(survivorID, 50, 50, domain.TierNormal, ""),
			wantMoved:    domain.Transfer{Points: 120, LifetimePoints: 300},
			wantSurvivor: domain.Account{CustomerID: survivorID, PointsBalance: 170, LifetimePoints: 350, Tier: domain.TierNormal, CreateTime: t0, UpdateTime: t1},
			wantMerged:   domain.Account{CustomerID: mergedID, Tier: domain.TierNormal, CreateTime: t0, UpdateTime: t1, MergedInto: survivorID},
		},
		{
			name:         "union of lifetimes reaches vip",
			merged:       acc(mergedID, 600, 600, domain.TierNormal, ""),
			survivor:     acc(survivorID, 500, 500, domain.TierNormal, ""),
			wantMoved:    domain.Transfer{Points: 600, LifetimePoints: 600},
			wantSurvivor: domain.Account{CustomerID: survivorID, PointsBalance: 1100, LifetimePoints: 1100, Tier: domain.TierVIP, CreateTime: t0, UpdateTime: t1},
			wantMerged:   domain.Account{CustomerID: mergedID, Tier: domain.TierNormal, CreateTime: t0, UpdateTime: t1, MergedInto: survivorID},
		},
		{
			name:         "a vip merged customer leaves its tier behind",
			merged:       acc(mergedID, 10, 2000, domain.TierVIP, ""),
			survivor:     acc(survivorID, 0, 0, domain.TierNormal, ""),
			wantMoved:    domain.Transfer{Points: 10, LifetimePoints: 2000},
			wantSurvivor: domain.Account{CustomerID: survivorID, PointsBalance: 10, LifetimePoints: 2000, Tier: domain.TierVIP, CreateTime: t0, UpdateTime: t1},
			wantMerged:   domain.Account{CustomerID: mergedID, Tier: domain.TierNormal, CreateTime: t0, UpdateTime: t1, MergedInto: survivorID},
		},
		{
			name:         "replay moves nothing",
			merged:       acc(mergedID, 0, 0, domain.TierNormal, survivorID),
			survivor:     acc(survivorID, 170, 350, domain.TierNormal, ""),
			wantSurvivor: acc(survivorID, 170, 350, domain.TierNormal, ""),
			wantMerged:   acc(mergedID, 0, 0, domain.TierNormal, survivorID),
		},
		{
			name:         "merged into another survivor before",
			merged:       acc(mergedID, 0, 0, domain.TierNormal, thirdID),
			survivor:     acc(survivorID, 1, 1, domain.TierNormal, ""),
			wantSurvivor: acc(survivorID, 1, 1, domain.TierNormal, ""),
			wantMerged:   acc(mergedID, 0, 0, domain.TierNormal, thirdID),
			wantErr:      domain.ErrMergeConflict,
		},
		{
			name:         "survivor itself merged",
			merged:       acc(mergedID, 5, 5, domain.TierNormal, ""),
			survivor:     acc(survivorID, 0, 0, domain.TierNormal, mergedID),
			wantSurvivor: acc(survivorID, 0, 0, domain.TierNormal, mergedID),
			wantMerged:   acc(mergedID, 5, 5, domain.TierNormal, ""),
			wantErr:      domain.ErrMergeConflict,
		},
		{
			name:         "into itself",
			merged:       acc(mergedID, 5, 5, domain.TierNormal, ""),
			survivor:     acc(mergedID, 5, 5, domain.TierNormal, ""),
			wantSurvivor: acc(mergedID, 5, 5, domain.TierNormal, ""),
			wantMerged:   acc(mergedID, 5, 5, domain.TierNormal, ""),
			wantErr:      domain.ErrMergeConflict,
		},
		{
			name:         "overflow",
			merged:       acc(mergedID, 2, 2, domain.TierNormal, ""),
			survivor:     acc(survivorID, math.MaxInt64-1, math.MaxInt64-1, domain.TierVIP, ""),
			wantSurvivor: acc(survivorID, math.MaxInt64-1, math.MaxInt64-1, domain.TierVIP, ""),
			wantMerged:   acc(mergedID, 2, 2, domain.TierNormal, ""),
			wantErr:      domain.ErrPointsOverflow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			merged, survivor := tt.merged, tt.survivor
			moved, oldTier, err := merged.MergeInto(&survivor, t1, 1000)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if moved != tt.wantMoved {
				t.Errorf("moved = %+v, want %+v", moved, tt.wantMoved)
			}
			if oldTier != tt.survivor.Tier {
				t.Errorf("old tier = %v, want the survivor's %v", oldTier, tt.survivor.Tier)
			}
			if survivor != tt.wantSurvivor {
				t.Errorf("survivor = %+v, want %+v", survivor, tt.wantSurvivor)
			}
			if merged != tt.wantMerged {
				t.Errorf("merged = %+v, want %+v", merged, tt.wantMerged)
			}
		})
	}
}

func TestTransferEntriesBalance(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := domain.Merge{MergedID: mergedID, SurvivorID: survivorID}
	es := domain.TransferEntries(m, domain.Transfer{Points: 120, LifetimePoints: 300}, "out", "in", "ev", at)
	out, in := es[0], es[1]
	if out.ID != "out" || out.CustomerID != mergedID || out.Reason != domain.ReasonMergeOut || out.CounterpartID != survivorID {
		t.Errorf("out entry = %+v", out)
	}
	if in.ID != "in" || in.CustomerID != survivorID || in.Reason != domain.ReasonMergeIn || in.CounterpartID != mergedID {
		t.Errorf("in entry = %+v", in)
	}
	if out.Points+in.Points != 0 || out.LifetimePoints+in.LifetimePoints != 0 || in.Points != 120 || in.LifetimePoints != 300 {
		t.Errorf("entries do not move 120/300 points: out %+v, in %+v", out, in)
	}
	if out.EventID != "ev" || in.EventID != "ev" || !out.Time.Equal(at) || !in.Time.Equal(at) {
		t.Errorf("entries not booked under the merge event at its time: %+v %+v", out, in)
	}
}

func TestMergeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		m          domain.Merge
		wantFields []string
	}{
		{"valid", domain.Merge{MergedID: mergedID, SurvivorID: survivorID}, nil},
		{"missing both", domain.Merge{}, []string{"merged_customer_id", "survivor_customer_id"}},
		{"same", domain.Merge{MergedID: mergedID, SurvivorID: mergedID}, []string{"survivor_customer_id"}},
		{"not uuids", domain.Merge{MergedID: "a", SurvivorID: "b"}, []string{"merged_customer_id", "survivor_customer_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.m.Validate()
			var fields []string
			var verr *validation.Error
			if errors.As(err, &verr) {
				for _, v := range verr.Violations {
					fields = append(fields, v.Field)
				}
			} else if err != nil {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields = %v, want %v", fields, tt.wantFields)
			}
			for i := range fields {
				if fields[i] != tt.wantFields[i] {
					t.Errorf("fields = %v, want %v", fields, tt.wantFields)
				}
			}
		})
	}
}
