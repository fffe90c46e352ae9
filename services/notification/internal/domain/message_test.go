package domain_test

import (
	"strings"
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

func render(t *testing.T, kind string, ch domain.Channel, r domain.Recipient, vars domain.Vars) domain.Message {
	t.Helper()
	k, ok := domain.LookupKind(kind)
	if !ok {
		t.Fatalf("no kind %s", kind)
	}
	return domain.NewMessage(domain.Draft{ID: "m1", Kind: k, Recipient: r, Vars: vars,
		UnsubscribeURL: func(id string, ch domain.Channel, _ string) string {
			return "https://x.test/u/" + id + "/" + string(ch)
		}},
		domain.NewTemplateSet(nil), nil, time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
}

func TestRenderWelcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		r           domain.Recipient
		wantSubject string
		wantBody    string
	}{
		{"chinese locale", domain.Recipient{Name: "王小明", Locale: "zh-CN", Email: "a@x"}, "欢迎加入", "王小明，您好！感谢您成为我们的客户。"},
		{"empty locale is the default market's", domain.Recipient{Name: "李雷", Email: "a@x"}, "欢迎加入", "李雷，您好！感谢您成为我们的客户。"},
		{"english locale", domain.Recipient{Name: "Ann Lee", Locale: "en-GB", Email: "a@x"}, "Welcome", "Hello Ann Lee, thank you for becoming our customer."},
		{"other locale gets english", domain.Recipient{Name: "Jean", Locale: "fr", Email: "a@x"}, "Welcome", "Hello Jean, thank you for becoming our customer."},
		{"no name in chinese", domain.Recipient{Locale: "zh", Email: "a@x"}, "欢迎加入", "尊敬的客户，您好！感谢您成为我们的客户。"},
		{"no name in english", domain.Recipient{Locale: "en", Email: "a@x"}, "Welcome", "Hello valued customer, thank you for becoming our customer."},
		{"name is not interpreted", domain.Recipient{Name: "{{name}} <b>", Locale: "en", Email: "a@x"}, "Welcome", "Hello {{name}} <b>, thank you for becoming our customer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := render(t, domain.KindWelcome, domain.ChannelEmail, tt.r, nil)
			if m.Subject != tt.wantSubject || m.Body != tt.wantBody {
				t.Errorf("rendered (%q, %q), want (%q, %q)", m.Subject, m.Body, tt.wantSubject, tt.wantBody)
			}
		})
	}
}

func TestRenderSafely(t *testing.T) {
	t.Parallel()
	m := render(t, domain.KindTierChanged, domain.ChannelEmail, domain.Recipient{CustomerID: "c1", Name: "Ann", Email: "a@x", Locale: "en"},
		domain.Vars{"tier_name": "Gold\r\nBcc: evil@example.com"})
	if strings.ContainsAny(m.Subject, "\r\n") || m.Subject != "Your tier is now GoldBcc: evil@example.com" {
		t.Errorf("subject %q carries a line break from a value", m.Subject)
	}
	long := strings.Repeat("长", 2000)
	m = render(t, domain.KindWelcome, domain.ChannelSMS, domain.Recipient{CustomerID: "c1", Name: long, Phone: "138"}, nil)
	if n := len([]rune(m.Body)); n > 600 {
		t.Errorf("a 2000-character name renders a body of %d characters, want it cut", n)
	}
	m = render(t, domain.KindWinBack, domain.ChannelEmail, domain.Recipient{CustomerID: "c1", Name: "Ann", Email: "a@x", Locale: "en"}, nil)
	if !strings.Contains(m.Body, "https://x.test/u/c1/EMAIL") {
		t.Errorf("marketing email %q has no unsubscribe link", m.Body)
	}
}

func TestTemplateValidate(t *testing.T) {
	t.Parallel()
	ok := domain.Template{Kind: domain.KindCaseResolved, Channel: domain.ChannelSMS, Locale: "zh-CN", Body: "{{name}}：{{case_number}} 已解决"}
	if v := ok.Validate(); len(v) != 0 {
		t.Errorf("valid template: %v", v)
	}
	tests := []struct {
		name      string
		t         domain.Template
		wantField string
		wantText  string
	}{
		{"variable the kind lacks", domain.Template{Kind: domain.KindBirthday, Channel: domain.ChannelEmail, Locale: "en", Subject: "Hi", Body: "{{name}} {{points}}"}, "template.body", "{{points}}"},
		{"required variable missing", domain.Template{Kind: domain.KindSurveyInvitation, Channel: domain.ChannelSMS, Locale: "en", Body: "Rate us"}, "template.body", "{{survey_url}}"},
		{"marketing email without unsubscribe", domain.Template{Kind: "spring_sale", Channel: domain.ChannelEmail, Locale: "zh-CN", Subject: "促销", Body: "{{name}}，春季特惠"}, "template.body", "{{unsubscribe_url}}"},
		{"unclosed", domain.Template{Kind: domain.KindBirthday, Channel: domain.ChannelSMS, Locale: "en", Body: "Happy {{name"}, "template.body", "without"},
		{"code is not a variable", domain.Template{Kind: domain.KindBirthday, Channel: domain.ChannelSMS, Locale: "en", Body: "{{.Name}}"}, "template.body", "not a variable"},
		{"bad locale", domain.Template{Kind: domain.KindBirthday, Channel: domain.ChannelSMS, Locale: "fr", Body: "x"}, "template.locale", ""},
		{"bad kind", domain.Template{Kind: "Spring Sale!", Channel: domain.ChannelSMS, Locale: "en", Body: "x"}, "template.kind", ""},
		{"agent kind by sms", domain.Template{Kind: domain.KindFollowupDue, Channel: domain.ChannelSMS, Locale: "en", Body: "{{customer_id}}"}, "template.channel", ""},
		{"subject variable checked too", domain.Template{Kind: domain.KindBirthday, Channel: domain.ChannelEmail, Locale: "en", Subject: "{{tier_name}}", Body: "x"}, "template.subject", "{{tier_name}}"},
	}
	for _, tt := range tests {
		v := tt.t.Validate()
		found := false
		for _, x := range v {
			if x.Field == tt.wantField && strings.Contains(x.Description, tt.wantText) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: violations %v, want one on %s mentioning %q", tt.name, v, tt.wantField, tt.wantText)
		}
	}
	for _, b := range domain.NewTemplateSet(nil).All() {
		if v := b.Validate(); len(v) != 0 {
			t.Errorf("built-in template %s/%s/%s is invalid: %v", b.Kind, b.Channel, b.Locale, v)
		}
	}
}

func TestNewMessage(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	kind, _ := domain.LookupKind(domain.KindWelcome)
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
		{"sms", domain.Recipient{CustomerID: "c1", Name: "Ann", Phone: "+44 20", Locale: "en"}, domain.ChannelSMS, "+44 20", domain.StatusQueued, "", ""},
		{"no contact fails", domain.Recipient{CustomerID: "c1", Name: "Ann", Locale: "en"}, domain.ChannelNone, "", domain.StatusFailed, domain.ReasonNoContact, "Welcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := domain.NewMessage(domain.Draft{ID: "m1", Kind: kind, Recipient: tt.r, IdempotencyKey: "k"}, domain.NewTemplateSet(nil), nil, now)
			if m.ID != "m1" || m.CustomerID != "c1" || m.Template != domain.TemplateWelcome || m.IdempotencyKey != "k" {
				t.Errorf("identity = (%q, %q, %q, %q)", m.ID, m.CustomerID, m.Template, m.IdempotencyKey)
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
			if !m.CreateTime.Equal(now) || m.CreateTime.Location() != time.UTC || !m.NotBefore.Equal(now) {
				t.Errorf("create time = %v, not before %v, want %v in UTC", m.CreateTime, m.NotBefore, now)
			}
		})
	}
}
