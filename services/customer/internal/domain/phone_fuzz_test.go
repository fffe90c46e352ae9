package domain

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// FuzzNormalizePhone checks that no input panics, that every number
// accepted comes out in E.164 (a + and at most 15 digits) and normalizes
// to itself, and that the fast path for Chinese mobiles gives the answer
// phonenumbers gives.
//
//	go test -run '^$' -fuzz FuzzNormalizePhone -fuzztime 30s ./services/customer/internal/domain
func FuzzNormalizePhone(f *testing.F) {
	for _, seed := range []string{
		"138 0013 8000", "+86 138-0013-8000", "13800138000", "+1 (415) 555-2671", "021-6212 3456",
		"+44 20 7946 0958", "(010) 6552 9988 ext. 12", "+8613800138000", "１３８００１３８０００", "+",
		"++86", "tel:+1-415-555-2671", "000", "+999 12345", "1" + strings.Repeat("0", 39), "\x00+86",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizePhone(in)
		if err != nil || out == "" {
			return
		}
		if len(out) < 3 || len(out) > 16 || out[0] != '+' || strings.Trim(out[1:], "0123456789") != "" {
			t.Fatalf("normalizePhone(%q) = %q, not E.164", in, out)
		}
		if again, err := normalizePhone(out); err != nil || again != out {
			t.Fatalf("normalizePhone(%q) = %q, but normalizing that gives %q, %v", in, out, again, err)
		}
		if fast, ok := chineseMobile(strings.TrimSpace(in)); ok {
			num, err := phonenumbers.Parse(strings.TrimSpace(in), DefaultPhoneRegion)
			if err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.Format(num, phonenumbers.E164) != fast {
				t.Fatalf("chineseMobile(%q) = %q; phonenumbers disagrees (%v)", in, fast, err)
			}
		}
	})
}
