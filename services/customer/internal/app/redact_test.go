package app

import "testing"

func TestRedactFilter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`display_name:"欧阳娜娜"`:                                  `display_name: …`,
		`kind = DISTRIBUTOR AND phone="+8613912345678"`:        `kind = … AND phone= …`,
		`(email:'a\'b@x.com' OR attributes.level>=3) tags:vip`: `(email: … OR attributes.level>= …) tags: …`,
		``: ``,
	} {
		if got := redactFilter(in); got != want {
			t.Errorf("redactFilter(%q) = %q, want %q", in, got, want)
		}
	}
}
