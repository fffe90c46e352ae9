package notification_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// TestTemplates: templates per kind, channel and locale are saved only
// when they use the variables their kind provides and requires; saved ones
// replace the built-in ones in new messages; a preview renders one (or a
// draft) for a customer without sending anything.
func TestTemplates(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.DispatchInterval = 50 * time.Millisecond
			})
			h.ensureStreams(t)

			bad := []struct {
				name  string
				t     *notificationv1.Template
				field string
			}{
				{"unknown variable", &notificationv1.Template{Kind: "tier_changed", Channel: notificationv1.Channel_CHANNEL_SMS, Locale: "zh-CN", Body: "{{name}}升级为{{tier_name}}，积分{{points}}"}, "template.body"},
				{"required variable missing", &notificationv1.Template{Kind: "survey_invitation", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "en", Subject: "Survey", Body: "Please rate us"}, "template.body"},
				{"unknown locale", &notificationv1.Template{Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_SMS, Locale: "fr", Body: "Bon anniversaire {{name}}"}, "template.locale"},
				{"no channel", &notificationv1.Template{Kind: "birthday", Locale: "en", Body: "Happy birthday {{name}}"}, "template.channel"},
				{"template code", &notificationv1.Template{Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_SMS, Locale: "en", Body: `{{printf "%s" .Name}}`}, "template.body"},
			}
			for _, b := range bad {
				_, err := h.client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{Template: b.t})
				v := rpcerr.Violations(err)
				if status.Code(err) != codes.InvalidArgument || len(v) != 1 || v[0].Field != b.field {
					t.Errorf("%s: %v, want InvalidArgument on %s", b.name, err, b.field)
				}
			}
			if _, err := h.client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("no template: %v", err)
			}

			saved, err := h.client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{Template: &notificationv1.Template{
				Kind: "tier_changed", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "zh-CN",
				Subject: "恭喜升级{{tier_name}}", Body: "亲爱的{{name}}：恭喜您成为{{tier_name}}会员！"}})
			if err != nil {
				t.Fatal(err)
			}
			if tpl := saved.GetTemplate(); tpl.GetBuiltin() || tpl.GetUpdateTime() == nil || tpl.GetPurpose() != "service" {
				t.Errorf("saved = %v", tpl)
			}
			list, err := h.client.ListTemplates(ctx, &notificationv1.ListTemplatesRequest{Kind: "tier_changed"})
			if err != nil {
				t.Fatal(err)
			}
			var builtins, own int
			for _, tpl := range list.GetTemplates() {
				if tpl.GetBuiltin() {
					builtins++
				} else {
					own++
				}
			}
			if own != 1 || builtins != 3 {
				t.Errorf("tier templates: %d saved, %d built in; want 1 and 3 (email and SMS in two locales)", own, builtins)
			}

			cust := newID(t)
			h.customer(t, &customerv1.Customer{Id: cust, DisplayName: "周杰", Email: "zj@example.cn"}, true)
			preview, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "tier_changed",
				Channel: notificationv1.Channel_CHANNEL_EMAIL, CustomerId: cust, Variables: map[string]string{"tier_name": "钻石"}})
			if err != nil || preview.GetSubject() != "恭喜升级钻石" || preview.GetBody() != "亲爱的周杰：恭喜您成为钻石会员！" || preview.GetLocale() != "zh-CN" {
				t.Errorf("preview = %v, %v", preview, err)
			}
			draft, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_SMS,
				Locale: "en", CustomerId: cust, DraftBody: "Many happy returns, {{name}}!"})
			if err != nil || draft.GetBody() != "Many happy returns, 周杰!" {
				t.Errorf("draft preview = %v, %v", draft, err)
			}
			if _, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_SMS,
				CustomerId: cust, DraftBody: "{{points}}"}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("draft with a variable birthdays lack: %v, want InvalidArgument", err)
			}
			if _, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "birthday", Channel: notificationv1.Channel_CHANNEL_SMS,
				CustomerId: newID(t)}); status.Code(err) != codes.NotFound {
				t.Errorf("preview for an unknown customer: %v, want NotFound", err)
			}
			if _, err := h.client.PreviewTemplate(ctx, &notificationv1.PreviewTemplateRequest{Kind: "Bad Kind", Channel: notificationv1.Channel_CHANNEL_SMS,
				CustomerId: cust}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("preview of a bad kind: %v, want InvalidArgument", err)
			}

			// A new tier now reads as saved; nothing was sent by the previews.
			if n := len(h.messages(t, cust)); n != 0 {
				t.Fatalf("previews created %d messages", n)
			}
			h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: cust, ProgramId: "p", NewTierCode: "gold", NewTierName: "金卡"})
			m := h.messagesOf(t, cust, 1)[0]
			if m.GetSubject() != "恭喜升级金卡" || !strings.HasPrefix(m.GetBody(), "亲爱的周杰") {
				t.Errorf("message = %v, want the saved template", m)
			}
		})
	}
}
