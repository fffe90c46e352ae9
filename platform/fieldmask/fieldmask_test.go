package fieldmask_test

import (
	"slices"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/fieldmask"
)

func TestProtoName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"displayName":       "display_name",
		"display_name":      "display_name",
		"tierWindowMonths":  "tier_window_months",
		"contact.phoneE164": "contact.phone_e164",
		"":                  "",
	} {
		if got := fieldmask.ProtoName(in); got != want {
			t.Errorf("ProtoName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := fieldmask.ProtoNames([]string{"autoEnroll", "name"}); !slices.Equal(got, []string{"auto_enroll", "name"}) {
		t.Errorf("ProtoNames = %v", got)
	}
}
