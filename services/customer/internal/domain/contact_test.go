package domain

import (
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestChineseMobileFastPath checks the fast path against phonenumbers on
// numbers under every 5-digit prefix 1xxxx (the mobile pattern looks at no
// more than that), written bare and with +86.
func TestChineseMobileFastPath(t *testing.T) {
	for prefix := 10000; prefix < 20000; prefix++ {
		for _, rest := range []string{"000000", "382915", "999999"} {
			national := strconv.Itoa(prefix) + rest
			for _, in := range []string{national, "+86" + national} {
				want := ""
				if num, err := phonenumbers.Parse(in, DefaultPhoneRegion); err == nil && phonenumbers.IsValidNumber(num) {
					want = phonenumbers.Format(num, phonenumbers.E164)
				}
				got, ok := chineseMobile(in)
				if ok && got != want {
					t.Fatalf("chineseMobile(%q) = %q, phonenumbers says %q", in, got, want)
				}
				if !ok && want != "" && phonenumbers.GetNumberType(mustParse(t, in)) == phonenumbers.MOBILE {
					t.Fatalf("chineseMobile(%q) missed the mobile %q", in, want)
				}
			}
		}
	}
}

func mustParse(t *testing.T, s string) *phonenumbers.PhoneNumber {
	t.Helper()
	num, err := phonenumbers.Parse(s, DefaultPhoneRegion)
	if err != nil {
		t.Fatal(err)
	}
	return num
}
