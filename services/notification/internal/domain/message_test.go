package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

func TestChooseChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		r           domain.Recipient
		wantChannel domain.Channel
		wantAddress string
		wantOK      bool
	}{
		{"email and phone prefer email", domain.Recipient{Email: "a@example.com", Phone: "+8613800000000"}, domain.ChannelEmail, "a@example.com", true},
		{"email only", domain.Recipient{Email: "a@example.com"}, domain.ChannelEmail, "a@example.com", true},
		{"phone only", domain.Recipient{Phone: "+8613800000000"}, domain.ChannelSMS, "+8613800000000", true},
		{"blank email falls back to phone", domain.Recipient{Email: "  ", Phone: "13800000000"}, domain.ChannelSMS, "13800000000", true},
		{"address trimmed", domain.Recipient{Email: " a@example.com "}, domain.ChannelEmail, "a@example.com", true},
		{"nothing", domain.Recipient{}, domain.ChannelNone, "", false},
		{"blank only", domain.Recipient{Email: " ", Phone: "\t"}, domain.ChannelNone, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch, addr, refusal, ok := domain.ChooseChannel(tt.r, domain.PurposeService, nil)
			if ch != tt.wantChannel || addr != tt.wantAddress || ok != tt.wantOK || refusal != "" {
				t.Errorf("ChooseChannel = (%q, %q, %v), want (%q, %q, %v)", ch, addr, ok, tt.wantChannel, tt.wantAddress, tt.wantOK)
			}
		})
	}
}

func TestLanguageFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale string
		want   domain.Language
	}{
		{"", domain.LanguageChinese},
		{"zh", domain.LanguageChinese},
		{"zh-CN", domain.LanguageChinese},
		{"zh-Hant-TW", domain.LanguageChinese},
		{"ZH_cn", domain.LanguageChinese},
		{"en", domain.LanguageEnglish},
		{"en-US", domain.LanguageEnglish},
		{"fr-FR", domain.LanguageEnglish},
		{"zu", domain.LanguageEnglish}, // Zulu is not Chinese, though it starts with z.
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			t.Parallel()
			if got := domain.LanguageFor(tt.locale); got != tt.want {
				t.Errorf("LanguageFor(%q) = %q, want %q", tt.locale, got, tt.want)
			}
		})
	}
}

func TestRenderWelcome(t *testing.T) {
	t.Parallel()
	templates, err := domain.NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		r           domain.Recipient
		wantSubject string
		wantBody    string
	}{
		{"chinese locale", domain.Recipient{Name: "王小明", Locale: "zh-CN"}, "欢迎加入", "王小明，您好！感谢您成为我们的客户。"},
		{"empty locale is the default market's", domain.Recipient{Name: "李雷"}, "欢迎加入", "李雷，您好！感谢您成为我们的客户。"},
		{"english locale", domain.Recipient{Name: "Ann Lee", Locale: "en-GB"}, "Welcome", "Hello Ann Lee, thank you for becoming our customer."},
		{"other locale gets english", domain.Recipient{Name: "Jean", Locale: "fr"}, "Welcome", "Hello Jean, thank you for becoming our customer."},
		{"no name in chinese", domain.Recipient{Locale: "zh"}, "欢迎加入", "您好！感谢您成为我们的客户。"},
		{"no name in english", domain.Recipient{Locale: "en"}, "Welcome", "Hello, thank you for becoming our customer."},
		{"name is not interpreted", domain.Recipient{Name: "{{.Name}} <b>", Locale: "en"}, "Welcome", "Hello {{.Name}} <b>, thank you for becoming our customer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			subject, body, err := templates.Render(domain.TemplateWelcome, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if subject != tt.wantSubject || body != tt.wantBody {
				t.Errorf("Render = (%q, %q), want (%q, %q)", subject, body, tt.wantSubject, tt.wantBody)
			}
		})
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	t.Parallel()
	templates, err := domain.NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := templates.Render("no-such-template", domain.Recipient{}); !errors.Is(err, domain.ErrUnknownTemplate) {
		t.Errorf("Render unknown template: err = %v, want ErrUnknownTemplate", err)
	}
}

func TestNewMessage(t *testing.T) {
	t.Parallel()
	templates, err := domain.NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name        string
		r           domain.Recipient
		wantChannel domain.Channel
		wantAddress string
		wantStatus  domain.Status
		wantReason  string
		wantSubject string
	}{
		{"email", domain.Recipient{CustomerID: "c1", Name: "王小明", Email: "x@example.cn", Phone: "138"}, domain.ChannelEmail, "x@example.cn", domain.StatusQueued, "", "欢迎加入"},
		{"sms", domain.Recipient{CustomerID: "c1", Name: "Ann", Phone: "+44 20", Locale: "en"}, domain.ChannelSMS, "+44 20", domain.StatusQueued, "", "Welcome"},
		{"no contact fails", domain.Recipient{CustomerID: "c1", Name: "Ann", Locale: "en"}, domain.ChannelNone, "", domain.StatusFailed, domain.ReasonNoContact, "Welcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := domain.NewMessage("m1", tt.r, domain.TemplateWelcome, templates, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != "m1" || m.CustomerID != "c1" || m.Template != domain.TemplateWelcome {
				t.Errorf("identity = (%q, %q, %q)", m.ID, m.CustomerID, m.Template)
			}
			if m.Channel != tt.wantChannel || m.Address != tt.wantAddress {
				t.Errorf("channel, address = %q, %q, want %q, %q", m.Channel, m.Address, tt.wantChannel, tt.wantAddress)
			}
			if m.Status != tt.wantStatus || m.FailureReason != tt.wantReason {
				t.Errorf("status, reason = %q, %q, want %q, %q", m.Status, m.FailureReason, tt.wantStatus, tt.wantReason)
			}
			if m.Subject != tt.wantSubject || m.Body == "" {
				t.Errorf("subject, body = %q, %q, want subject %q and a body", m.Subject, m.Body, tt.wantSubject)
			}
			if !m.CreateTime.Equal(now) || m.CreateTime.Location() != time.UTC {
				t.Errorf("create time = %v, want %v in UTC", m.CreateTime, now)
			}
			if !m.SendTime.IsZero() {
				t.Errorf("send time = %v, want zero", m.SendTime)
			}
		})
	}
}
