package linksign_test

import (
	"errors"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/linksign"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	s, err := linksign.New([]byte("k1"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := linksign.New([]byte("k2"))
	tok, err := s.Sign("unsubscribe", "id-1", "EMAIL")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.Verify("unsubscribe", tok, 2); err != nil || f[0] != "id-1" || f[1] != "EMAIL" {
		t.Fatalf("Verify = %v, %v", f, err)
	}
	for name, check := range map[string]func() error{
		"other purpose": func() error { _, err := s.Verify("survey", tok, 2); return err },
		"other key":     func() error { _, err := other.Verify("unsubscribe", tok, 2); return err },
		"field count":   func() error { _, err := s.Verify("unsubscribe", tok, 1); return err },
		"tampered":      func() error { _, err := s.Verify("unsubscribe", "x"+tok, 2); return err },
		"no dot":        func() error { _, err := s.Verify("unsubscribe", "abc", 2); return err },
	} {
		if err := check(); !errors.Is(err, linksign.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Sign("p", "a|b"); err == nil {
		t.Error("a field with '|' was signed")
	}
	if _, err := linksign.New(nil); err == nil {
		t.Error("an empty key was accepted")
	}
}
