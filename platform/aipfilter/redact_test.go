package aipfilter_test

import (
	"testing"

	"github.com/guanxi-crm/guanxi/platform/aipfilter"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`display_name:"欧阳娜娜"`:                                  `display_name: …`,
		`kind = DISTRIBUTOR AND phone="+8613912345678"`:        `kind = … AND phone= …`,
		`(email:'a\'b@x.com' OR attributes.level>=3) tags:vip`: `(email: … OR attributes.level>= …) tags: …`,
		``: ``,
		// What a regex over the text gets wrong: a quoted value holding a
		// parenthesis or a comparator, and a negative number.
		`display_name = "王 (小明) = x" AND x > -3`: `display_name = … AND x > …`,
		`note:"a\"b" OR kind="X"`:                `note: … OR kind= …`,
		// Unfinished input is dropped whole.
		`display_name = "unterminated`: `…`,
	} {
		if got := aipfilter.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
