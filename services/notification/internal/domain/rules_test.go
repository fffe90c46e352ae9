package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

func TestQuietHours(t *testing.T) {
	t.Parallel()
	q, err := domain.ParseQuietHours("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	sh := domain.LoadLocation("Asia/Shanghai")
	ny := domain.LoadLocation("America/New_York")
	tests := []struct {
		name  string
		now   time.Time
		loc   *time.Location
		want  time.Time
		quiet bool
	}{
		{"late evening waits for the morning", time.Date(2025, 2, 13, 22, 30, 0, 0, sh), sh, time.Date(2025, 2, 14, 8, 0, 0, 0, sh), true},
		{"small hours wait until eight", time.Date(2025, 2, 14, 3, 0, 0, 0, sh), sh, time.Date(2025, 2, 14, 8, 0, 0, 0, sh), true},
		{"daytime goes", time.Date(2025, 2, 14, 9, 0, 0, 0, sh), sh, time.Time{}, false},
		{"eight sharp goes", time.Date(2025, 2, 14, 8, 0, 0, 0, sh), sh, time.Time{}, false},
		{"the customer's zone counts", time.Date(2025, 2, 14, 12, 0, 0, 0, sh), ny, time.Date(2025, 2, 14, 8, 0, 0, 0, ny), true},
	}
	for _, tt := range tests {
		got, quiet := q.Until(tt.now, tt.loc)
		if quiet != tt.quiet || !got.Equal(tt.want) {
			t.Errorf("%s: Until = %v, %v; want %v, %v", tt.name, got, quiet, tt.want, tt.quiet)
		}
	}
	if _, quiet := (domain.QuietHours{}).Until(time.Now(), sh); quiet {
		t.Error("no quiet hours still defer")
	}
	for _, bad := range []string{"21-8", "25:00-08:00", "21:00"} {
		if _, err := domain.ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) accepted", bad)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := domain.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestBirthdayDue(t *testing.T) {
	t.Parallel()
	sh := domain.LoadLocation("Asia/Shanghai")
	r := domain.Recipient{CustomerID: "c", TimeZone: "Asia/Shanghai", BirthMonth: 2, BirthDay: 14}
	// 00:30 on the 14th in Shanghai is still the 13th in UTC.
	at, year, due := domain.BirthdayDue(r, time.Date(2025, 2, 13, 16, 30, 0, 0, time.UTC), 9)
	if !due || year != 2025 || !at.Equal(time.Date(2025, 2, 14, 9, 0, 0, 0, sh)) {
		t.Errorf("BirthdayDue on the day = %v, %d, %v", at, year, due)
	}
	if _, _, due := domain.BirthdayDue(r, time.Date(2025, 2, 13, 15, 59, 0, 0, time.UTC), 9); due {
		t.Error("due on the 13th local time")
	}
	leap := domain.Recipient{CustomerID: "c", BirthMonth: 2, BirthDay: 29}
	if _, _, due := domain.BirthdayDue(leap, time.Date(2025, 2, 28, 4, 0, 0, 0, time.UTC), 9); !due {
		t.Error("a 29 February birthday is not greeted on 28 February of 2025")
	}
	if _, _, due := domain.BirthdayDue(leap, time.Date(2024, 2, 28, 4, 0, 0, 0, time.UTC), 9); due {
		t.Error("a 29 February birthday is greeted on 28 February of a leap year")
	}
	if got := domain.BirthdayKey("c", 2025); got != "birthday:c:2025" {
		t.Errorf("BirthdayKey = %q", got)
	}
}

func TestCampaignLifecycle(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	c := domain.Campaign{State: domain.CampaignRunning, RatePerSecond: 100, StartTime: now}
	if b := c.Budget(now); b != 100 {
		t.Errorf("budget at start = %d, want one second's worth", b)
	}
	c.Processed = 100
	if b := c.Budget(now.Add(500 * time.Millisecond)); b != 50 {
		t.Errorf("budget half a second on = %d, want 50", b)
	}
	if b := (domain.Campaign{}).Budget(now); b != -1 {
		t.Errorf("unthrottled budget = %d, want -1", b)
	}
	if err := c.Resume(now); err == nil {
		t.Error("resumed a running campaign")
	}
	if err := c.Pause(); err != nil || c.State != domain.CampaignPaused {
		t.Fatalf("pause: %v, %s", err, c.State)
	}
	if err := c.Resume(now); err != nil || c.State != domain.CampaignRunning {
		t.Fatalf("resume: %v, %s", err, c.State)
	}
	if err := c.Cancel(now); err != nil || c.State != domain.CampaignCancelled {
		t.Fatalf("cancel: %v, %s", err, c.State)
	}
	if err := c.Pause(); err == nil {
		t.Error("paused a cancelled campaign")
	}
}

func TestUnsubscribeToken(t *testing.T) {
	t.Parallel()
	signer := func(key string) *domain.UnsubscribeSigner {
		s, err := domain.NewUnsubscribeSigner([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := signer("secret")
	id := "01890a5d-ac96-774b-bcce-b302099a8057"
	tok := s.Token(id, domain.ChannelSMS)
	gotID, ch, err := s.Verify(tok)
	if err != nil || gotID != id || ch != domain.ChannelSMS {
		t.Fatalf("Verify = %q, %q, %v", gotID, ch, err)
	}
	other := signer("other")
	if _, _, err := other.Verify(tok); err == nil {
		t.Error("a token verified under another key")
	}
	forged := signer("secret").Token("01890a5d-ac96-774b-bcce-b302099a8058", domain.ChannelSMS)
	if _, _, err := s.Verify(tok[:len(tok)-2] + forged[len(forged)-2:]); err == nil {
		t.Error("a tampered token verified")
	}
	for _, bad := range []string{"", "x", "a.b"} {
		if _, _, err := s.Verify(bad); err == nil {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
}
