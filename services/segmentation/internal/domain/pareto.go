package domain

import (
	"cmp"
	"slices"
)

// ClassShare is one class's share of customers and of trailing revenue.
type ClassShare struct {
	Class         Class
	Customers     int64
	CustomerShare float64
	Revenue       int64
	RevenueShare  float64
}

// ParetoSummary is the ABC classes' shares, the figures a manager checks
// against the 20/80 rule.
type ParetoSummary struct {
	Classes   []ClassShare // A, B, C
	Customers int64
	Revenue   int64
	// Top20Share is the share of revenue of the top 20% of customers by
	// trailing spend.
	Top20Share float64
	Cutoffs    Cutoffs
}

// Rank classifies every spend (trailing, minor units) under c, as the
// incremental path does one customer at a time: customers ranked above
// are those with strictly greater spend. It returns each customer's class
// and share above, in the input's order.
func Rank(spends []int64, c Cutoffs) ([]Class, []float64) {
	order := make([]int, len(spends))
	var total int64
	for i, s := range spends {
		order[i] = i
		if s > 0 {
			total += s
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(spends[b], spends[a]) })
	classes := make([]Class, len(spends))
	shares := make([]float64, len(spends))
	var above int64
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && spends[order[j]] == spends[order[i]] {
			j++
		}
		st := Standing{Spend: spends[order[i]], Above: above, Total: total}
		class, share := Classify(st, c), st.ShareAbove()
		for _, k := range order[i:j] {
			classes[k], shares[k] = class, share
		}
		if s := spends[order[i]]; s > 0 {
			above += s * int64(j-i)
		}
		i = j
	}
	return classes, shares
}

// NewParetoSummary sums up the classes of a population's trailing spend.
func NewParetoSummary(spends []int64, c Cutoffs) ParetoSummary {
	classes, _ := Rank(spends, c)
	sum := ParetoSummary{Customers: int64(len(spends)), Cutoffs: c}
	byClass := map[Class]*ClassShare{}
	for _, cl := range []Class{ClassA, ClassB, ClassC} {
		byClass[cl] = &ClassShare{Class: cl}
	}
	for i, s := range spends {
		cs := byClass[classes[i]]
		cs.Customers++
		if s > 0 {
			cs.Revenue += s
			sum.Revenue += s
		}
	}
	for _, cl := range []Class{ClassA, ClassB, ClassC} {
		cs := byClass[cl]
		if sum.Customers > 0 {
			cs.CustomerShare = float64(cs.Customers) / float64(sum.Customers)
		}
		if sum.Revenue > 0 {
			cs.RevenueShare = float64(cs.Revenue) / float64(sum.Revenue)
		}
		sum.Classes = append(sum.Classes, *cs)
	}
	if sum.Revenue > 0 {
		sorted := slices.Clone(spends)
		slices.SortFunc(sorted, func(a, b int64) int { return cmp.Compare(b, a) })
		var top int64
		for _, s := range sorted[:len(sorted)/5] {
			if s > 0 {
				top += s
			}
		}
		sum.Top20Share = float64(top) / float64(sum.Revenue)
	}
	return sum
}
