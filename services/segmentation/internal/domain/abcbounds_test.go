package domain_test

import (
	"math/rand/v2"
	"testing"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// The bounds of a ranking classify every member of the ranked population
// as the ranking did, and give each its share above: exactly while the
// curve keeps every spend level, within the revenue of the levels between
// two sampled points otherwise.
func TestABCBoundsReproduceTheRanking(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(22, 1))
	for _, tc := range []struct {
		name      string
		customers int
		maxSpend  int64
	}{
		{"few levels", 300, 50},
		{"many levels", 5000, 1_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spends := make([]int64, tc.customers)
			for i := range spends {
				spends[i] = rng.Int64N(tc.maxSpend+20) - 20 // some without spend, some refunded below zero
			}
			for _, cut := range []domain.Cutoffs{domain.DefaultCutoffs(), {A: 0.5, B: 1}} {
				classes, shares := domain.Rank(spends, cut)
				b := domain.NewABCBounds(spends, classes)
				if !b.Set() {
					t.Fatalf("bounds of a ranking with revenue not set: %+v", b)
				}
				if len(b.Curve) > domain.MaxCurvePoints+2 {
					t.Errorf("curve of %d points", len(b.Curve))
				}
				exact := tc.maxSpend <= domain.MaxCurvePoints
				for i, s := range spends {
					if got := b.Classify(s); got != classes[i] {
						t.Fatalf("cut-offs %v: spend %d classified %v, ranked %v (bounds A=%d B=%d)", cut, s, got, classes[i], b.A, b.B)
					}
					got := b.ShareAbove(s)
					if exact && got != shares[i] {
						t.Fatalf("spend %d: share above %v, ranked %v", s, got, shares[i])
					}
					if got < shares[i]-0.01 || got > shares[i]+0.01 {
						t.Fatalf("spend %d: share above %v, ranked %v", s, got, shares[i])
					}
				}
			}
		})
	}
}

// A spend beyond the ranked population is classified by where it falls.
func TestABCBoundsClassifyNewSpend(t *testing.T) {
	t.Parallel()
	spends := []int64{7000, 3000}
	classes, _ := domain.Rank(spends, domain.DefaultCutoffs())
	b := domain.NewABCBounds(spends, classes)
	for _, c := range []struct {
		spend int64
		want  domain.Class
		share float64
	}{
		{9000, domain.ClassA, 0},
		{7000, domain.ClassA, 0},
		{5000, domain.ClassB, 0.7},
		{3000, domain.ClassB, 0.7},
		{2999, domain.ClassC, 1},
		{0, domain.ClassC, 1},
		{-10, domain.ClassC, 1},
	} {
		if got, share := b.Classify(c.spend), b.ShareAbove(c.spend); got != c.want || share != c.share {
			t.Errorf("spend %d: %v share %v, want %v %v", c.spend, got, share, c.want, c.share)
		}
	}
	if none := domain.NewABCBounds([]int64{0, -5}, []domain.Class{domain.ClassC, domain.ClassC}); none.Set() {
		t.Errorf("bounds without revenue set: %+v", none)
	}
}
