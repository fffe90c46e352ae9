package domain_test

import (
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

func TestConsentSupersedes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration, s domain.ConsentStatus) domain.Consent {
		return domain.Consent{Channel: domain.ChannelEmail, Status: s, UpdateTime: t0.Add(d)}
	}
	tests := []struct {
		name     string
		new, old domain.Consent
		want     bool
	}{
		{"later answer wins", at(time.Second, domain.ConsentOptedIn), at(0, domain.ConsentOptedOut), true},
		{"earlier answer loses", at(-time.Second, domain.ConsentOptedOut), at(0, domain.ConsentOptedIn), false},
		{"same time: opt-out wins", at(0, domain.ConsentOptedOut), at(0, domain.ConsentOptedIn), true},
		{"same time: opt-in does not replace opt-out", at(0, domain.ConsentOptedIn), at(0, domain.ConsentOptedOut), false},
		{"same answer again", at(0, domain.ConsentOptedIn), at(0, domain.ConsentOptedIn), false},
	}
	for _, tt := range tests {
		if got := tt.new.Supersedes(tt.old); got != tt.want {
			t.Errorf("%s: Supersedes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		purpose domain.Purpose
		ch      domain.Channel
		status  domain.ConsentStatus
		want    string
	}{
		{domain.PurposeService, domain.ChannelEmail, domain.ConsentUnanswered, ""},
		{domain.PurposeService, domain.ChannelEmail, domain.ConsentOptedIn, ""},
		{domain.PurposeService, domain.ChannelEmail, domain.ConsentOptedOut, "customer opted out of email"},
		{domain.PurposeService, domain.ChannelSMS, domain.ConsentOptedOut, "customer opted out of sms"},
		{domain.PurposeMarketing, domain.ChannelWeChat, domain.ConsentUnanswered, "customer has not opted in to wechat"},
		{domain.PurposeMarketing, domain.ChannelPush, domain.ConsentOptedOut, "customer opted out of push"},
		{domain.PurposeMarketing, domain.ChannelSMS, domain.ConsentOptedIn, ""},
	}
	for _, tt := range tests {
		if got := domain.Refusal(tt.purpose, tt.ch, tt.status); got != tt.want {
			t.Errorf("Refusal(%s, %s, %q) = %q, want %q", tt.purpose, tt.ch, tt.status, got, tt.want)
		}
	}
	if domain.PurposeOf(domain.TemplateWelcome) != domain.PurposeService {
		t.Error("the welcome message is not a service message")
	}
	if domain.PurposeOf("spring-sale") != domain.PurposeMarketing {
		t.Error("a template without a purpose is not treated as marketing")
	}
}

func TestConsentValidate(t *testing.T) {
	t.Parallel()
	valid := domain.Consent{CustomerID: "01890a5d-ac96-774b-bcce-b302099a8057", Channel: domain.ChannelSMS,
		Status: domain.ConsentOptedOut, UpdateTime: time.Now()}
	if v := valid.Validate(); len(v) != 0 {
		t.Errorf("valid consent: %v", v)
	}
	bad := domain.Consent{CustomerID: "c", Channel: domain.ChannelNone, Status: "MAYBE"}
	var fields []string
	for _, v := range bad.Validate() {
		fields = append(fields, v.Field)
	}
	want := []string{"customer_id", "consent.channel", "consent.status", "consent.update_time"}
	if len(fields) != len(want) {
		t.Fatalf("violations = %v, want %v", fields, want)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Errorf("violations = %v, want %v", fields, want)
		}
	}
}

func TestChooseChannelHonoursConsent(t *testing.T) {
	t.Parallel()
	both := domain.Recipient{Email: "a@example.com", Phone: "+8613800000000"}
	tests := []struct {
		name        string
		r           domain.Recipient
		purpose     domain.Purpose
		consents    domain.Consents
		wantChannel domain.Channel
		wantRefusal string
		wantOK      bool
	}{
		{"no answers", both, domain.PurposeService, nil, domain.ChannelEmail, "", true},
		{"email refused falls back to sms", both, domain.PurposeService,
			domain.Consents{domain.ChannelEmail: domain.ConsentOptedOut}, domain.ChannelSMS, "", true},
		{"both refused", both, domain.PurposeService,
			domain.Consents{domain.ChannelEmail: domain.ConsentOptedOut, domain.ChannelSMS: domain.ConsentOptedOut},
			domain.ChannelNone, "customer opted out of email", false},
		{"only reachable channel refused", domain.Recipient{Phone: "138"}, domain.PurposeService,
			domain.Consents{domain.ChannelSMS: domain.ConsentOptedOut}, domain.ChannelNone, "customer opted out of sms", false},
		{"opt-out elsewhere does not matter", domain.Recipient{Phone: "138"}, domain.PurposeService,
			domain.Consents{domain.ChannelEmail: domain.ConsentOptedOut}, domain.ChannelSMS, "", true},
		{"marketing needs an opt-in", both, domain.PurposeMarketing,
			domain.Consents{domain.ChannelSMS: domain.ConsentOptedIn}, domain.ChannelSMS, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch, _, refusal, ok := domain.ChooseChannel(tt.r, tt.purpose, tt.consents)
			if ch != tt.wantChannel || refusal != tt.wantRefusal || ok != tt.wantOK {
				t.Errorf("ChooseChannel = %q, %q, %v; want %q, %q, %v", ch, refusal, ok, tt.wantChannel, tt.wantRefusal, tt.wantOK)
			}
		})
	}
}

func TestNewMessageRefusedEverywhereIsSuppressed(t *testing.T) {
	t.Parallel()
	kind, _ := domain.LookupKind(domain.KindWelcome)
	m := domain.NewMessage(domain.Draft{ID: "m1", Kind: kind, Recipient: domain.Recipient{CustomerID: "c1", Name: "Ann", Email: "a@example.com"}},
		domain.NewTemplateSet(nil), domain.Consents{domain.ChannelEmail: domain.ConsentOptedOut}, time.Now())
	if m.Status != domain.StatusSuppressed || m.StatusReason != "customer opted out of email" || m.Address != "" {
		t.Errorf("message = %+v, want SUPPRESSED for the opt-out, with no address", m)
	}
	if ev := m.FailedEvent(); !ev.Suppressed || ev.Reason != "customer opted out of email" {
		t.Errorf("event = %+v, want a suppressed MessageFailed with the reason", ev)
	}
}
