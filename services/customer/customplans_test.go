package customer

import "testing"

func TestCustomPlans(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?plan_cache_mode=force_custom_plan&sslmode=disable"},
		{"postgresql://h/db", "postgresql://h/db?plan_cache_mode=force_custom_plan"},
		{"postgres://h/db?plan_cache_mode=auto", "postgres://h/db?plan_cache_mode=auto"},
		{"sqlite://.guanxi/customer.db", "sqlite://.guanxi/customer.db"},
	} {
		if got := customPlans(tc.in); got != tc.want {
			t.Errorf("customPlans(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
