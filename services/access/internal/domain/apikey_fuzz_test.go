package domain

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseKey: whatever a caller sends as a key, parsing never panics, a
// key it accepts splits into a non-empty id and secret that make it up
// again, and only the secret a key was made with passes its check.
func FuzzParseKey(f *testing.F) {
	k, key, err := NewAPIKey(Spec{Name: "seed", Subject: "s", Roles: []string{"agent"}}, []string{"agent"}, "root", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{key, "gxk_", "gxk__", "gxk_a_", "gxk__b", " gxk_a_b ", "Bearer x", "gxk_a_b_c", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, secret, err := ParseKey(in)
		if err != nil {
			return
		}
		if id == "" || secret == "" || keyPrefix+id+"_"+secret != strings.TrimSpace(in) {
			t.Fatalf("ParseKey(%q) = %q, %q", in, id, secret)
		}
		if id == k.ID && k.Check(secret, time.Now()) == nil && keyPrefix+id+"_"+secret != key {
			t.Fatalf("secret %q of another key passed the check", secret)
		}
	})
}
