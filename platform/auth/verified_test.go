package auth

import (
	"testing"
	"time"
)

// TestVerifyRemembersOnlyWhatItAccepted: a token accepted once is answered
// from memory with the same identity, no longer than it is valid; a token
// differing in its signature, or one that has ended, is still refused.
func TestVerifyRemembersOnlyWhatItAccepted(t *testing.T) {
	cfg := Config{Secret: "0123456789abcdef0123456789abcdef"}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token, err := Issue(cfg, Identity{Subject: "agent-1", Roles: []Role{Agent}, Teams: []string{"north"}}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	first, err := v.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	kept, ok := v.verified[token]
	if !ok {
		t.Fatal("an accepted token is not remembered")
	}
	if limit := time.Now().Add(20*time.Second + DefaultClockSkew + time.Second); kept.until.After(limit) {
		t.Fatalf("remembered until %v, past the token's end %v", kept.until, limit)
	}
	again, err := v.Verify(token)
	if err != nil || again.Subject != first.Subject || len(again.Teams) != 1 || again.Teams[0] != "north" {
		t.Fatalf("second Verify = %+v, %v; want %+v", again, err, first)
	}

	// Another signature is another token: checked, and refused.
	forged := token[:len(token)-2] + "AA"
	if forged == token {
		forged = token[:len(token)-2] + "BB"
	}
	if _, err := v.Verify(forged); err == nil {
		t.Fatal("a token with another signature was accepted")
	}

	// Past the time it is remembered until, the token is checked again:
	// an ended one is refused.
	ended, err := Issue(cfg, Identity{Subject: "agent-2", Roles: []Role{Agent}}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v.verified[ended] = verifiedToken{id: Identity{Subject: "agent-2"}, until: time.Now().Add(-time.Second)}
	if _, err := v.Verify(ended); err == nil {
		t.Fatal("an ended token was accepted from memory")
	}
}
