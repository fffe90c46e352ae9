package events_test

import (
	"testing"

	"github.com/guanxi-crm/guanxi/platform/events"
)

func TestVersionAtLeast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		have string
		ok   bool
	}{
		{"2.10.0", true}, {"2.10.14", true}, {"2.15.2", true}, {"3.0.0", true}, {"v2.11.1", true},
		{"2.10.0-beta.3", true}, {"2.9.10", false}, {"2.9.99", false}, {"1.12.0", false},
		{"", false}, {"garbage", false}, {"2", false},
	} {
		if got := events.VersionAtLeast(c.have, events.MinServerVersion); got != c.ok {
			t.Errorf("VersionAtLeast(%q, %s) = %v, want %v", c.have, events.MinServerVersion, got, c.ok)
		}
	}
}

func TestStreamOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, o := range []events.StreamOptions{{}, {Replicas: 1, Storage: "file"}, {Replicas: 3, Storage: "memory"}, {Replicas: 5, Storage: "FILE"}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	for _, o := range []events.StreamOptions{{Replicas: 6}, {Replicas: -1}, {Replicas: 1, Storage: "memory"}, {Storage: "disk"}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: valid, want an error", o)
		}
	}
}
