package notification_test

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// TestSMTPProvider sends through a server that, like a real provider,
// requires STARTTLS and AUTH (with a certificate from a private CA): two
// emails go out over one connection, each with its List-Unsubscribe
// headers, and a template with an HTML body makes a multipart/alternative
// email whose HTML part has the customer's name escaped. A second server
// speaking TLS from the first byte (port 465 style) works too.
func TestSMTPProvider(t *testing.T) {
	pki := testinfra.PKI(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	const name = `Ann <b>&</b> "Co"`

	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			smtpd := startSMTPWith(t, smtpOptions{tls: serverTLS, requireTLS: true, user: "mailer", pass: "s3cret"})
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.SMTPAddr, cfg.SMTPFrom = smtpd.addr, "guanxi <care@guanxi.test>"
				cfg.SMTPUsername, cfg.SMTPPassword, cfg.SMTPCAFile = "mailer", "s3cret", pki.CAFile
				cfg.SMTPIdleTimeout = time.Minute
				cfg.UnsubscribeSecret, cfg.PublicURL = "link-secret", "https://crm.example.test"
				cfg.DispatchInterval = 20 * time.Millisecond
			})
			if _, err := h.client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{Template: &notificationv1.Template{
				Kind: "welcome", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "en", Subject: "Welcome",
				Body:     "Hello {{name}}. Unsubscribe: {{unsubscribe_url}}",
				HtmlBody: `<p>Hello <i>{{name}}</i></p><a href="{{unsubscribe_url}}">Unsubscribe</a>`,
			}}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{Template: &notificationv1.Template{
				Kind: "welcome", Channel: notificationv1.Channel_CHANNEL_SMS, Locale: "en", Body: "hi", HtmlBody: "<p>hi</p>",
			}}); !hasViolation(err, "template.html_body") {
				t.Errorf("an SMS template with an HTML body: %v, want a template.html_body violation", err)
			}

			first, second := newID(t), newID(t)
			for i, id := range []string{first, second} {
				ev := newID(t)
				h.publishCreated(t, ev, ev, &customerv1.Customer{Id: id, DisplayName: name, Email: []string{"ann@example.com", "bob@example.com"}[i], Locale: "en"})
			}
			for _, id := range []string{first, second} {
				testinfra.Eventually(t, waitFor, "the welcome sent", func() bool {
					msgs := h.messages(t, id)
					return len(msgs) == 1 && msgs[0].GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
				})
			}
			if n := smtpd.connections(); n != 1 {
				t.Errorf("two emails took %d connections, want 1 kept open", n)
			}

			got, ok := smtpd.mailTo("ann@example.com")
			if !ok || !got.tls || got.authed != "mailer" {
				t.Fatalf("mail received %v over TLS %v authenticated as %q", ok, got.tls, got.authed)
			}
			msg, err := mail.ReadMessage(strings.NewReader(got.data))
			if err != nil {
				t.Fatal(err)
			}
			unsub := msg.Header.Get("List-Unsubscribe")
			if !strings.HasPrefix(unsub, "<https://crm.example.test/unsubscribe?token=") || !strings.HasSuffix(unsub, "&lang=en>") ||
				msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("unsubscribe headers %q, %q", unsub, msg.Header.Get("List-Unsubscribe-Post"))
			}
			parts := alternativeParts(t, msg)
			if !strings.Contains(parts["text/plain"], "Hello "+name+". Unsubscribe: https://crm.example.test/unsubscribe?token=") {
				t.Errorf("text part = %q", parts["text/plain"])
			}
			if html := parts["text/html"]; !strings.Contains(html, "<p>Hello <i>Ann &lt;b&gt;&amp;&lt;/b&gt; &#34;Co&#34;</i></p>") ||
				strings.Contains(html, "<b>") || !strings.Contains(html, `<a href="https://crm.example.test/unsubscribe?token=`) {
				t.Errorf("html part = %q", html)
			}
		})
	}

	t.Run("implicit TLS", func(t *testing.T) {
		smtpd := startSMTPWith(t, smtpOptions{tls: serverTLS, implicit: true, user: "mailer", pass: "s3cret"})
		h := startConfigured(t, testinfra.EmbeddedNATS(t), "sqlite://"+filepath.Join(t.TempDir(), "n.db"), t.Output(), func(cfg *notification.Config) {
			cfg.SMTPAddr, cfg.SMTPFrom, cfg.SMTPSecurity = smtpd.addr, "guanxi <care@guanxi.test>", "implicit"
			cfg.SMTPUsername, cfg.SMTPPassword, cfg.SMTPCAFile = "mailer", "s3cret", pki.CAFile
			cfg.DispatchInterval = 20 * time.Millisecond
		})
		id, ev := newID(t), newID(t)
		h.publishCreated(t, ev, ev, &customerv1.Customer{Id: id, DisplayName: "Ann", Email: "ann@example.com", Locale: "en"})
		testinfra.Eventually(t, waitFor, "the welcome sent", func() bool {
			msgs := h.messages(t, id)
			return len(msgs) == 1 && msgs[0].GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
		})
		if got, ok := smtpd.mailTo("ann@example.com"); !ok || !got.tls || got.authed != "mailer" {
			t.Errorf("mail received %v over TLS %v authenticated as %q", ok, got.tls, got.authed)
		}
	})
}

// alternativeParts returns the decoded parts of a multipart/alternative
// email by content type.
func alternativeParts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable; base64 below
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = decodeBase64(t, string(body))
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(body)
	}
}

func decodeBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(s))
	if err != nil {
		t.Fatalf("base64 part: %v", err)
	}
	return b
}

// hasViolation reports whether err is InvalidArgument naming field.
func hasViolation(err error, field string) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
