package notification_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// smtpServer is a minimal SMTP server on loopback: it accepts mail,
// refuses mailboxes named "nouser" for good (550) and those named
// "tempfail" for now (451) while tempfail is set. With smtpOptions it
// speaks TLS (STARTTLS, or implicit from the first byte), may require TLS
// and AUTH PLAIN before mail, and counts the connections it accepted.
type smtpServer struct {
	addr string
	opts smtpOptions

	mu       sync.Mutex
	tempfail bool
	mails    []receivedMail
	conns    int
}

// smtpOptions shape a smtpServer; the zero value is plain SMTP.
type smtpOptions struct {
	tls *tls.Config
	// implicit speaks TLS from the start; otherwise tls is offered by
	// STARTTLS, and requireTLS refuses mail without it.
	implicit   bool
	requireTLS bool
	// user and pass, when set, are required by AUTH PLAIN before mail.
	user, pass string
}

type receivedMail struct {
	from, to string
	data     string
	// tls and authed say how the mail's connection was secured.
	tls    bool
	authed string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	return startSMTPWith(t, smtpOptions{})
}

func startSMTPWith(t *testing.T, opts smtpOptions) *smtpServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: l.Addr().String(), tempfail: true, opts: opts}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			if opts.implicit {
				c = tls.Server(c, opts.tls)
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 test ESMTP")
	_, secure := c.(*tls.Conn)
	authed := ""
	var m receivedMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			ext := []string{"test"}
			if s.opts.tls != nil && !secure {
				ext = append(ext, "STARTTLS")
			}
			if s.opts.user != "" && secure {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				say("250" + sep + e)
			}
		case cmd == "STARTTLS" && s.opts.tls != nil && !secure:
			say("220 go ahead")
			tc := tls.Server(c, s.opts.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, secure, authed = tc, bufio.NewReader(tc), true, ""
			say = func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			arg := strings.TrimSpace(strings.TrimSpace(line)[len("AUTH PLAIN"):])
			if arg == "" {
				say("334 ")
				if arg, err = r.ReadString('\n'); err != nil {
					return
				}
			}
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(arg))
			parts := strings.Split(string(raw), "\x00")
			if !secure || len(parts) != 3 || parts[1] != s.opts.user || parts[2] != s.opts.pass {
				say("535 5.7.8 authentication failed")
				continue
			}
			authed = parts[1]
			say("235 2.7.0 authenticated")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			if s.opts.requireTLS && !secure {
				say("530 5.7.0 must issue a STARTTLS command first")
				continue
			}
			if s.opts.user != "" && authed == "" {
				say("530 5.7.0 authentication required")
				continue
			}
			m = receivedMail{from: strings.TrimSpace(line[10:]), tls: secure, authed: authed}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to := strings.Trim(strings.TrimSpace(line[8:]), "<>")
			s.mu.Lock()
			tempfail := s.tempfail
			s.mu.Unlock()
			switch {
			case strings.HasPrefix(to, "nouser@"):
				say("550 5.1.1 no such user")
			case strings.HasPrefix(to, "tempfail@") && tempfail:
				say("451 4.3.0 try again later")
			default:
				m.to = to
				say("250 ok")
			}
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			say("250 queued as 42")
		case cmd == "QUIT":
			say("221 bye")
			return
		case cmd == "RSET", cmd == "NOOP":
			say("250 ok")
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpServer) setTempfail(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tempfail = v
}

func (s *smtpServer) mailTo(to string) (receivedMail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.mails {
		if m.to == to {
			return m, true
		}
	}
	return receivedMail{}, false
}

// smsProvider is a fake SMS provider API: it checks the credentials, fails
// every message's first two posts with 503, and refuses the number "+000"
// with 400.
type smsProvider struct {
	*httptest.Server
	mu       sync.Mutex
	tries    map[string]int
	accepted map[string]string // client_ref -> text
}

func startSMSProvider(t *testing.T) *smsProvider {
	t.Helper()
	p := &smsProvider{tries: map[string]int{}, accepted: map[string]string{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "acct-1" || pass != "key-1" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var body struct{ To, Text, From, ClientRef string }
		var raw map[string]string
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		body.To, body.Text, body.From, body.ClientRef = raw["to"], raw["text"], raw["from"], raw["client_ref"]
		p.mu.Lock()
		defer p.mu.Unlock()
		p.tries[body.ClientRef]++
		switch {
		case body.To == "+000":
			http.Error(w, `{"error":"invalid number"}`, http.StatusBadRequest)
		case p.tries[body.ClientRef] <= 2:
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
		default:
			p.accepted[body.ClientRef] = body.Text
			_, _ = io.WriteString(w, `{"id":"sms-`+body.ClientRef[len(body.ClientRef)-4:]+`","status":"accepted"}`)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// webhookReceiver checks each post's HMAC-SHA256 signature with the shared
// secret and keeps the payloads of those that verify.
type webhookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []map[string]string
	forged   int
}

func startWebhook(t *testing.T, secret string) *webhookReceiver {
	t.Helper()
	w := &webhookReceiver{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.Header.Get("X-Guanxi-Timestamp") + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		w.mu.Lock()
		defer w.mu.Unlock()
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Guanxi-Signature"))) {
			w.forged++
			http.Error(rw, "bad signature", http.StatusUnauthorized)
			return
		}
		var p map[string]string
		_ = json.Unmarshal(body, &p)
		w.payloads = append(w.payloads, p)
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.Close)
	return w
}

func (h *harness) get(t *testing.T, id string) *notificationv1.Message {
	t.Helper()
	resp, err := h.client.GetMessage(context.Background(), &notificationv1.GetMessageRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetMessage()
}

func outcomes(m *notificationv1.Message) []string {
	var out []string
	for _, a := range m.GetAttempts() {
		out = append(out, a.GetOutcome())
	}
	return out
}

// TestChannels delivers through a real SMTP server on loopback, a fake SMS
// provider that fails sometimes and a webhook receiver that checks the
// signature: transient failures are retried with backoff until they
// succeed or run out, permanent ones are dead-lettered at once, every
// attempt is recorded with the provider's answer, and a dead letter can be
// retried.
func TestChannels(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			smtpd := startSMTP(t)
			sms := startSMSProvider(t)
			hook := startWebhook(t, "hook-secret")
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.SMTPAddr, cfg.SMTPFrom = smtpd.addr, "关系 CRM <care@guanxi.test>"
				cfg.SMSURL, cfg.SMSAccountID, cfg.SMSAPIKey, cfg.SMSSender = sms.URL, "acct-1", "key-1", "GUANXI"
				cfg.WebhookURL, cfg.WebhookSecret = hook.URL, "hook-secret"
				cfg.MaxAttempts, cfg.RetryBaseDelay, cfg.RetryMaxDelay = 4, 20*time.Millisecond, 80*time.Millisecond
				cfg.DispatchInterval = 20 * time.Millisecond
			})
			h.ensureStreams(t)

			mailed, texted, invalid, tempfail, nouser := newID(t), newID(t), newID(t), newID(t), newID(t)
			for _, c := range []*customerv1.Customer{
				{Id: mailed, DisplayName: "王小明", Email: "xm@example.cn"},
				{Id: texted, DisplayName: "Ann", Phone: "+447700900001", Locale: "en"},
				{Id: invalid, DisplayName: "Bad", Phone: "+000", Locale: "en"},
				{Id: tempfail, DisplayName: "Tim", Email: "tempfail@example.com", Locale: "en"},
				{Id: nouser, DisplayName: "Nobody", Email: "nouser@example.com", Locale: "en"},
			} {
				ev := newID(t)
				h.publishCreated(t, ev, ev, c)
			}
			final := func(id string) *notificationv1.Message {
				t.Helper()
				var m *notificationv1.Message
				testinfra.Eventually(t, waitFor, "a final status", func() bool {
					msgs := h.messages(t, id)
					if len(msgs) == 0 {
						return false
					}
					m = msgs[0]
					return m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED
				})
				return h.get(t, m.GetId())
			}

			// Email through SMTP.
			m := final(mailed)
			got, ok := smtpd.mailTo("xm@example.cn")
			if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SENT || !ok {
				t.Fatalf("email: %v, received %v", m, ok)
			}
			parsed, err := mail.ReadMessage(strings.NewReader(got.data))
			if err != nil {
				t.Fatal(err)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
			raw, _ := io.ReadAll(parsed.Body)
			body, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
			if subject != "欢迎加入" || string(body) != "王小明，您好！感谢您成为我们的客户。" || got.from != "<care@guanxi.test>" ||
				parsed.Header.Get("Message-Id") != "<"+m.GetId()+"@guanxi>" {
				t.Errorf("mail = from %s subject %q body %q headers %v", got.from, subject, body, parsed.Header)
			}
			if a := m.GetAttempts(); len(a) != 1 || a[0].GetOutcome() != "accepted" || !strings.HasPrefix(a[0].GetProviderResponse(), "250") {
				t.Errorf("email attempts = %v", a)
			}

			// SMS: two 503s, then accepted.
			m = final(texted)
			if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SENT || m.GetAttemptCount() != 3 ||
				strings.Join(outcomes(m), ",") != "transient_error,transient_error,accepted" {
				t.Errorf("sms: status %v, attempts %v", m.GetStatus(), m.GetAttempts())
			}
			if a := m.GetAttempts(); len(a) == 3 && (!strings.Contains(a[0].GetProviderResponse(), "503") || !strings.Contains(a[2].GetProviderResponse(), `"status":"accepted"`)) {
				t.Errorf("sms provider responses = %v", a)
			}
			if len(m.GetAttempts()) == 3 {
				gap1 := m.GetAttempts()[1].GetAttemptTime().AsTime().Sub(m.GetAttempts()[0].GetAttemptTime().AsTime())
				gap2 := m.GetAttempts()[2].GetAttemptTime().AsTime().Sub(m.GetAttempts()[1].GetAttemptTime().AsTime())
				if gap1 < 20*time.Millisecond || gap2 < 40*time.Millisecond {
					t.Errorf("retries %v and %v apart, want at least 20ms then 40ms (doubling)", gap1, gap2)
				}
			}
			sms.mu.Lock()
			text := sms.accepted[m.GetId()]
			sms.mu.Unlock()
			if text != "Hello Ann, thank you for becoming our customer." {
				t.Errorf("provider got text %q", text)
			}

			// Invalid number: permanent, dead-lettered at once.
			m = final(invalid)
			if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_FAILED || !m.GetDeadLetter() ||
				strings.Join(outcomes(m), ",") != "permanent_error" || !strings.Contains(m.GetFailureReason(), "invalid number") {
				t.Errorf("invalid number: %v", m)
			}
			var failed notificationv1.MessageFailed
			h.findEvent(t, notificationv1.SubjectMessageFailed, m.GetId(), &failed)
			if failed.GetSuppressed() || failed.GetChannel() != notificationv1.Channel_CHANNEL_SMS {
				t.Errorf("MessageFailed = %v", &failed)
			}

			// 550: permanent; 451 every time: retried until attempts run out.
			if m := final(nouser); m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_FAILED || !m.GetDeadLetter() ||
				!strings.Contains(m.GetFailureReason(), "550") || m.GetAttemptCount() != 1 {
				t.Errorf("unknown mailbox: %v", m)
			}
			m = final(tempfail)
			if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_FAILED || !m.GetDeadLetter() || m.GetAttemptCount() != 4 ||
				!strings.HasPrefix(m.GetFailureReason(), "gave up after 4 attempts: smtp RCPT TO: 451") {
				t.Errorf("temporary failures: %v", m)
			}
			dead, err := h.client.ListDeadLetters(ctx, &notificationv1.ListDeadLettersRequest{})
			if err != nil || len(dead.GetMessages()) != 3 {
				t.Fatalf("dead letters = %v, %v; want 3", dead, err)
			}

			// The server recovers; the dead letter is retried and goes out.
			smtpd.setTempfail(false)
			if _, err := h.client.RetryMessage(ctx, &notificationv1.RetryMessageRequest{Id: m.GetId()}); err != nil {
				t.Fatal(err)
			}
			testinfra.Eventually(t, waitFor, "the retried message sent", func() bool {
				return h.get(t, m.GetId()).GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
			})
			if m := h.get(t, m.GetId()); m.GetAttemptCount() != 5 || m.GetDeadLetter() {
				t.Errorf("retried message = %v, want a fifth attempt, off the dead-letter list", m)
			}
			if _, err := h.client.RetryMessage(ctx, &notificationv1.RetryMessageRequest{Id: m.GetId()}); err == nil {
				t.Error("retrying a sent message succeeded")
			}

			// Delivery receipts: the SMS arrived; the email bounced later.
			smsMsg := h0(h.messages(t, texted))
			rep, err := h.client.ReportDelivery(ctx, &notificationv1.ReportDeliveryRequest{Id: smsMsg.GetId(), Delivered: true, ProviderResponse: "DELIVRD"})
			if err != nil || rep.GetMessage().GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_DELIVERED {
				t.Errorf("delivered receipt = %v, %v", rep, err)
			}
			mailMsg := h0(h.messages(t, mailed))
			rep, err = h.client.ReportDelivery(ctx, &notificationv1.ReportDeliveryRequest{Id: mailMsg.GetId(), ProviderResponse: "bounced: mailbox full"})
			if err != nil || rep.GetMessage().GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_FAILED || !rep.GetMessage().GetDeadLetter() ||
				rep.GetMessage().GetFailureReason() != "provider reported undeliverable: bounced: mailbox full" {
				t.Errorf("bounce receipt = %v, %v", rep, err)
			}
			if _, err := h.client.ReportDelivery(ctx, &notificationv1.ReportDeliveryRequest{Id: mailMsg.GetId(), Delivered: true}); status.Code(err) != codes.NotFound {
				t.Errorf("receipt for a failed message: %v, want NotFound", err)
			}
			if _, err := h.client.ReportDelivery(ctx, &notificationv1.ReportDeliveryRequest{Id: "x"}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("receipt for a bad id: %v, want InvalidArgument", err)
			}

			// An agent's follow-up goes by signed webhook.
			h.publishAs(t, interactionv1.SubjectFollowupDue, &interactionv1.FollowupDue{
				FollowupId: newID(t), CustomerId: mailed, AgentId: "agent-7", Reason: "warranty_end", Note: "回访客户"})
			var notice *notificationv1.Message
			testinfra.Eventually(t, waitFor, "the agent notice sent", func() bool {
				resp, err := h.client.ListAgentMessages(ctx, &notificationv1.ListAgentMessagesRequest{AgentId: "agent-7"})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.GetMessages()) != 1 {
					return false
				}
				notice = resp.GetMessages()[0]
				return notice.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
			})
			hook.mu.Lock()
			defer hook.mu.Unlock()
			if len(hook.payloads) != 1 || hook.forged != 0 || hook.payloads[0]["kind"] != "followup_due" || hook.payloads[0]["agent_id"] != "agent-7" ||
				!strings.Contains(hook.payloads[0]["body"], mailed) || hook.payloads[0]["message_id"] != notice.GetId() {
				t.Errorf("webhook got %v (forged %d)", hook.payloads, hook.forged)
			}
			if notice.GetChannel() != notificationv1.Channel_CHANNEL_WEBHOOK || notice.GetCustomerId() != "" {
				t.Errorf("agent notice = %v", notice)
			}
			if n := len(h.messages(t, mailed)); n != 1 {
				t.Errorf("the customer lists %d messages; the agent's notice about them is not theirs", n)
			}
		})
	}
}
